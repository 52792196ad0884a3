"""Reports over the whole ledger, for platform admins: the trial balance and a consistency check.

Both read every account, so they belong to platform pages only (the ledger has no RLS; tenants see
their own accounts through ``operations.accounts_of``).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class TrialBalanceLine:
    """One account's net balance, on the side it falls (a debit-normal account in credit shows in
    the credit column, which is how an overdrawn gateway clearing stands out)."""

    account_id: uuid.UUID
    kind: str
    owner_type: str
    owner_id: str
    debit_minor: int
    credit_minor: int


@dataclass(frozen=True)
class TrialBalance:
    currency: str
    lines: list[TrialBalanceLine] = field(default_factory=list)

    @property
    def debit_total_minor(self) -> int:
        return sum(line.debit_minor for line in self.lines)

    @property
    def credit_total_minor(self) -> int:
        return sum(line.credit_minor for line in self.lines)

    @property
    def difference_minor(self) -> int:
        """Debits minus credits: zero whenever every entry balanced."""
        return self.debit_total_minor - self.credit_total_minor


_TRIAL = text("""
    SELECT a.currency, a.id, a.kind, a.owner_type, a.owner_id,
           CASE WHEN a.normal_side = 'debit' THEN b.balance_minor ELSE -b.balance_minor END AS net_debit
    FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id
    WHERE (:include_zero OR b.balance_minor <> 0)
    ORDER BY a.currency, a.kind, a.owner_type, a.owner_id
""")


def trial_balance(session: Session, *, include_zero: bool = False) -> list[TrialBalance]:
    """One trial balance per currency, from the maintained balances. Each sums to zero
    (``difference_minor == 0``) because every entry balances per currency; a non-zero difference
    means the books are broken and ``verify_balances`` will say where."""
    by_currency: dict[str, TrialBalance] = {}
    for row in session.execute(_TRIAL, {"include_zero": include_zero}):
        net = int(row.net_debit)
        tb = by_currency.setdefault(row.currency, TrialBalance(row.currency))
        tb.lines.append(TrialBalanceLine(row.id, row.kind, row.owner_type, row.owner_id,
                                         max(net, 0), max(-net, 0)))
    return list(by_currency.values())


@dataclass(frozen=True)
class BalanceMismatch:
    account_id: uuid.UUID
    maintained_minor: int
    from_lines_minor: int


_VERIFY = text("""
    SELECT a.id, b.balance_minor AS maintained,
           coalesce(CASE WHEN a.normal_side = 'debit' THEN sum(l.debit_minor - l.credit_minor)
                         ELSE sum(l.credit_minor - l.debit_minor) END, 0) AS from_lines
    FROM ledger_accounts a
    JOIN ledger_balances b ON b.account_id = a.id
    LEFT JOIN journal_lines l ON l.account_id = a.id
    GROUP BY a.id, a.normal_side, b.balance_minor
    HAVING b.balance_minor <> coalesce(CASE WHEN a.normal_side = 'debit' THEN sum(l.debit_minor - l.credit_minor)
                                            ELSE sum(l.credit_minor - l.debit_minor) END, 0)
""")


def verify_balances(session: Session) -> list[BalanceMismatch]:
    """Accounts whose maintained balance differs from the sum of their lines (empty when sound)."""
    return [BalanceMismatch(r.id, int(r.maintained), int(r.from_lines)) for r in session.execute(_VERIFY)]
