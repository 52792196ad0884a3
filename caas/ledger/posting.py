"""Posting: the one way money moves in the ledger.

``post`` checks an entry in code (two or more lines, one side per line, balanced per currency,
no non-negative account taken below zero), then writes the entry, its lines and the balance
changes in the caller's transaction. It flushes and never commits. The database checks the same
things again (deferred balance trigger, CHECK constraints, append-only triggers), so a bug here
cannot commit bad books.

Concurrency: the balance rows an entry touches are locked ``FOR UPDATE`` in account-id order,
all in one statement and all or none, before anything is checked or written, so two postings never
deadlock on each other and the funds check sees the latest committed balance. (A transaction that
posts SEVERAL entries holds each entry's locks until it commits; two such transactions touching
the same accounts in opposite orders can deadlock like any other SQL. Post one entry per
transaction where you can.) Idempotency: the entry's key is unique; a second post with the same
key (sequential or concurrent) returns the first entry and writes nothing.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence, Union

from sqlalchemy import select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from caas.core.errors import NotFound
from caas.ledger.errors import IdempotencyConflict, InsufficientFunds, LedgerError, UnbalancedEntry
from caas.ledger.models import (KINDS, PLATFORM_OWNER_ID, Account, AccountBalance, AccountKind, JournalEntry,
                                JournalLine, OwnerType, Side)
from caas.money import UnknownCurrencyError, normalise_currency

MAX_MINOR = 2**63 - 1  # BIGINT


@dataclass(frozen=True)
class AccountKey:
    """Names an account without loading it: posting creates it on first use."""

    kind: AccountKind
    owner_id: str
    currency: str

    @property
    def owner_type(self) -> OwnerType:
        return KINDS[self.kind].owner_type

    @property
    def normal_side(self) -> Side:
        return KINDS[self.kind].normal_side

    def label(self) -> str:
        return f"{self.kind.value} {self.owner_type.value}:{self.owner_id} {self.currency}"


def account_key(kind: AccountKind | str, owner_id: object, currency: str) -> AccountKey:
    """Normalise an account's name: known kind, owner id as text, upper-case ISO currency."""
    kind = AccountKind(kind)
    owner = PLATFORM_OWNER_ID if KINDS[kind].owner_type is OwnerType.platform else str(owner_id or "").strip()
    if not owner or len(owner) > 64:
        raise LedgerError(f"{kind.value} needs an owner id (1-64 characters)", "invalid_owner", "owner_id")
    try:
        code = normalise_currency(currency)
    except UnknownCurrencyError:
        raise LedgerError(f"unknown currency {currency!r}", "invalid_currency", "currency") from None
    return AccountKey(kind, owner, code)


def key_of(account: Account) -> AccountKey:
    return AccountKey(AccountKind(account.kind), account.owner_id, account.currency)


AccountLike = Union[Account, AccountKey]


@dataclass(frozen=True)
class Line:
    """One line of an entry: exactly one of ``debit_minor``/``credit_minor`` is positive."""

    account: AccountLike
    debit_minor: int = 0
    credit_minor: int = 0


def debit(account: AccountLike, amount_minor: int) -> Line:
    return Line(account, debit_minor=amount_minor)


def credit(account: AccountLike, amount_minor: int) -> Line:
    return Line(account, credit_minor=amount_minor)


def _is_amount(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_MINOR


def _normalise_lines(lines: Iterable[Line | tuple]) -> list[tuple[AccountKey, int, int]]:
    """Check each line and the entry as a whole; return (key, debit, credit) triples."""
    out: list[tuple[AccountKey, int, int]] = []
    for raw in lines:
        line = raw if isinstance(raw, Line) else Line(*raw)
        if not (_is_amount(line.debit_minor) and _is_amount(line.credit_minor)):
            raise LedgerError("line amounts are non-negative int minor units (never float or bool)",
                              "invalid_amount", "amount_minor")
        if (line.debit_minor == 0) == (line.credit_minor == 0):
            raise LedgerError("each line debits or credits a positive amount, not both and not neither",
                              "invalid_line")
        key = key_of(line.account) if isinstance(line.account, Account) else line.account
        if not isinstance(key, AccountKey):
            raise LedgerError(f"not an account: {line.account!r}", "invalid_line")
        out.append((key, line.debit_minor, line.credit_minor))
    if len(out) < 2:
        raise UnbalancedEntry("an entry needs at least two lines")
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, dr, cr in out:
        totals[key.currency][0] += dr
        totals[key.currency][1] += cr
    unbalanced = {cur: t for cur, t in totals.items() if t[0] != t[1]}
    if unbalanced:
        detail = "; ".join(f"{cur} debits {d} credits {c}" for cur, (d, c) in sorted(unbalanced.items()))
        raise UnbalancedEntry(f"entry does not balance: {detail}")
    return out


def _key_tuples(keys: Iterable[AccountKey]) -> list[tuple[str, str, str, str]]:
    return [(k.kind.value, k.owner_type.value, k.owner_id, k.currency) for k in keys]


_KEY_COLUMNS = (Account.kind, Account.owner_type, Account.owner_id, Account.currency)


def resolve_accounts(session: Session, keys: Iterable[AccountKey]) -> dict[AccountKey, uuid.UUID]:
    """Ids of the named accounts, creating the missing ones (with their zero balance row).

    Safe under concurrency: creation is INSERT ... ON CONFLICT DO NOTHING on the unique key, then
    a re-read, so two transactions opening the same account end with one account.
    """
    wanted = set(keys)
    if not wanted:
        return {}

    def lookup(ks: set[AccountKey]) -> dict[AccountKey, uuid.UUID]:
        rows = session.execute(
            select(Account.id, *_KEY_COLUMNS).where(tuple_(*_KEY_COLUMNS).in_(_key_tuples(ks))))
        return {AccountKey(AccountKind(r.kind), r.owner_id, r.currency): r.id for r in rows}

    found = lookup(wanted)
    missing = wanted - found.keys()
    if missing:
        session.execute(
            pg_insert(Account.__table__).on_conflict_do_nothing(
                index_elements=["kind", "owner_type", "owner_id", "currency"]),
            [{"id": uuid.uuid4(), "kind": k.kind.value, "owner_type": k.owner_type.value, "owner_id": k.owner_id,
              "currency": k.currency, "normal_side": k.normal_side.value} for k in sorted(missing, key=_sort_key)])
        found.update(lookup(missing))
    return found


def _sort_key(key: AccountKey) -> tuple[str, str, str]:
    return (key.kind.value, key.owner_id, key.currency)


def get_account(session: Session, kind: AccountKind | str, owner_id: object, currency: str) -> Account:
    """The account (created with a zero balance if it does not exist yet)."""
    key = account_key(kind, owner_id, currency)
    account_id = resolve_accounts(session, [key])[key]
    return session.get(Account, account_id)


def entry_by_key(session: Session, idempotency_key: str) -> JournalEntry | None:
    return session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key))


def _signature(lines: Iterable[tuple[AccountKey, int, int]]) -> list[tuple]:
    return sorted((k.kind.value, k.owner_id, k.currency, dr, cr) for k, dr, cr in lines)


def _same_or_conflict(entry: JournalEntry, wanted: list[tuple[AccountKey, int, int]], key: str) -> JournalEntry:
    have = [(key_of(line.account), line.debit_minor, line.credit_minor) for line in entry.lines]
    if _signature(have) != _signature(wanted):
        raise IdempotencyConflict(key)
    return entry


_NAMED = """unnest(CAST(:kinds AS text[]), CAST(:owner_types AS text[]), CAST(:owner_ids AS text[]),
                   CAST(:currencies AS text[])) AS k(kind, owner_type, owner_id, currency)"""
_MATCH = "a.kind = k.kind AND a.owner_type = k.owner_type AND a.owner_id = k.owner_id AND a.currency = k.currency"
# All or nothing: the count guard is an uncorrelated sub-select, evaluated once before any row is
# read, so when an account is missing no balance row gets locked.
_LOCK = text(f"""
SELECT a.id, a.kind, a.owner_id, a.currency, b.balance_minor
FROM {_NAMED}
JOIN ledger_accounts a ON {_MATCH}
JOIN ledger_balances b ON b.account_id = a.id
WHERE (SELECT count(*) FROM {_NAMED} JOIN ledger_accounts a ON {_MATCH}) = :n
ORDER BY a.id
FOR UPDATE OF b
""")


def _lock_balances(session: Session, keys: set[AccountKey]) -> dict[AccountKey, tuple[uuid.UUID, int]]:
    """Lock the balance rows of the named accounts, in account-id order, in one round trip, and
    return {key: (account id, balance)} -- or lock NOTHING and return {} when any account is missing.

    All or nothing on purpose: locking the existing accounts now and a newly created one later
    would take locks out of order and deadlock with a posting that locks both in order (seen in
    tests/ledger/test_concurrency.py).
    """
    ordered = sorted(keys, key=_sort_key)
    rows = session.execute(_LOCK, {
        "kinds": [k.kind.value for k in ordered], "owner_types": [k.owner_type.value for k in ordered],
        "owner_ids": [k.owner_id for k in ordered], "currencies": [k.currency for k in ordered], "n": len(ordered)})
    return {AccountKey(AccountKind(r.kind), r.owner_id, r.currency): (r.id, int(r.balance_minor)) for r in rows}


# Entry, lines and balance changes in one statement (one round trip). When the key already exists
# the entry CTE returns nothing, so no line is inserted and no balance changes.
_WRITE = text("""
WITH entry AS (
    INSERT INTO journal_entries (id, idempotency_key, memo, occurred_at, reverses_entry_id)
    VALUES (:id, :key, :memo, :occurred_at, CAST(:reverses AS uuid))
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING *
), lines AS (
    INSERT INTO journal_lines (entry_id, account_id, currency, debit_minor, credit_minor)
    SELECT entry.id, l.account_id, l.currency, l.debit_minor, l.credit_minor
    FROM entry, unnest(CAST(:line_accounts AS uuid[]), CAST(:line_currencies AS text[]),
                       CAST(:debits AS bigint[]), CAST(:credits AS bigint[]))
         WITH ORDINALITY AS l(account_id, currency, debit_minor, credit_minor, n)
    ORDER BY l.n
), balances AS (
    UPDATE ledger_balances b SET balance_minor = b.balance_minor + d.delta, updated_at = now()
    FROM entry, unnest(CAST(:balance_accounts AS uuid[]), CAST(:deltas AS bigint[])) AS d(account_id, delta)
    WHERE b.account_id = d.account_id
)
SELECT * FROM entry
""")
_WRITE_ENTRY = select(JournalEntry).from_statement(_WRITE)  # built once: the rows come back as JournalEntry


@dataclass(frozen=True)
class Posted:
    entry: JournalEntry
    created: bool  # False when the key had been posted before and the earlier entry came back


def post(session: Session, *, memo: str, idempotency_key: str, lines: Sequence[Line | tuple],
         occurred_at: datetime | None = None, reverses_entry_id: uuid.UUID | None = None) -> JournalEntry:
    """Post one balanced entry; return it (see ``post_detailed`` for the guarantees)."""
    return post_detailed(session, memo=memo, idempotency_key=idempotency_key, lines=lines,
                         occurred_at=occurred_at, reverses_entry_id=reverses_entry_id).entry


def post_detailed(session: Session, *, memo: str, idempotency_key: str, lines: Sequence[Line | tuple],
                  occurred_at: datetime | None = None, reverses_entry_id: uuid.UUID | None = None) -> Posted:
    """Post one balanced entry; say whether it is new. Flushes, never commits.

    Guarantees:
    - balanced: two or more lines, each one-sided and positive, debits = credits per currency
      (else ``UnbalancedEntry``, nothing written);
    - idempotent: a key already posted returns that entry and writes nothing; the same key with
      different lines raises ``IdempotencyConflict``;
    - funds: no non-negative account (provider available and reserved, borrower payout clearing)
      goes below zero (else ``InsufficientFunds``, nothing written), checked under row locks taken
      in account-id order;
    - atomic with the caller's transaction: entry, lines and balances commit or roll back together.

    ``lines`` are ``Line`` values (see ``debit``/``credit``) or ``(account, debit_minor,
    credit_minor)`` tuples; an account is an ``Account`` or an ``AccountKey`` (created on first use).

    Cost: two round trips when the accounts exist (find and lock; write everything), plus the
    deferred balance check at commit.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise LedgerError("an entry needs an idempotency key of 1-200 characters", "invalid_key", "idempotency_key")
    if not (memo or "").strip():
        raise LedgerError("an entry needs a memo", "invalid_memo", "memo")
    occurred_at = occurred_at or datetime.now(timezone.utc)
    if occurred_at.tzinfo is None:
        raise LedgerError("occurred_at must be timezone-aware", "invalid_time", "occurred_at")
    wanted = _normalise_lines(lines)
    keys = {key for key, _, _ in wanted}

    session.flush()
    locked = _lock_balances(session, keys)
    if not locked:  # first use of some account: create it while holding no lock, then lock all
        resolve_accounts(session, keys)
        locked = _lock_balances(session, keys)
        if len(locked) != len(keys):  # cannot happen: every account now exists in our snapshot
            raise LedgerError("could not open the entry's accounts", "accounts_unavailable")

    deltas: dict[AccountKey, int] = defaultdict(int)
    for key, dr, cr in wanted:
        deltas[key] += (dr - cr) if key.normal_side is Side.debit else (cr - dr)
    for key, delta in deltas.items():
        balance_now = locked[key][1]
        if KINDS[key.kind].non_negative and balance_now + delta < 0:
            # A replay of a posting that spent these funds is not a refusal (this also covers a
            # concurrent post of the same key that committed while we waited for the lock).
            existing = entry_by_key(session, idempotency_key)
            if existing is not None:
                return Posted(_same_or_conflict(existing, wanted, idempotency_key), False)
            raise InsufficientFunds(key.label(), balance_now, -delta, key.currency)

    changed = sorted((locked[k][0], d) for k, d in deltas.items() if d)
    entry = session.scalars(_WRITE_ENTRY, {
        "id": uuid.uuid4(), "key": idempotency_key, "memo": memo.strip(), "occurred_at": occurred_at,
        "reverses": reverses_entry_id,
        "line_accounts": [locked[k][0] for k, _, _ in wanted], "line_currencies": [k.currency for k, _, _ in wanted],
        "debits": [dr for _, dr, _ in wanted], "credits": [cr for _, _, cr in wanted],
        "balance_accounts": [aid for aid, _ in changed], "deltas": [d for _, d in changed],
    }).one_or_none()
    if entry is None:
        # The key was posted before (or by a concurrent transaction we waited for on the unique
        # index). Nothing of ours was written: return that entry.
        existing = entry_by_key(session, idempotency_key)
        return Posted(_same_or_conflict(existing, wanted, idempotency_key), False)
    return Posted(entry, True)


def reverse(session: Session, entry_id: uuid.UUID, *, memo: str | None = None,
            occurred_at: datetime | None = None) -> JournalEntry:
    """Post the mirror image of an entry (every debit becomes a credit). Flushes, never commits.

    Idempotent: an entry is reversed at most once (unique ``reverses_entry_id`` and the key
    ``reverse:<entry id>``); reversing it again returns the first reversal. May raise
    ``InsufficientFunds`` (e.g. reversing a provider's funding after the money was reserved).
    """
    original = session.get(JournalEntry, entry_id)
    if original is None:
        raise NotFound("journal entry")
    mirrored = [Line(line.account, debit_minor=line.credit_minor, credit_minor=line.debit_minor)
                for line in original.lines]
    return post(session, memo=memo or f"Reversal of: {original.memo}", idempotency_key=f"reverse:{original.id}",
                lines=mirrored, occurred_at=occurred_at, reverses_entry_id=original.id)
