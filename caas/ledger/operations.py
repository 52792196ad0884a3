"""Business operations on the ledger: provider funding, reservations, disbursement, balances.

Each operation posts one entry through ``posting.post`` and so inherits its guarantees (balanced,
idempotent by a key derived from the business event, funds never below zero, flushes and never
commits). The entries, in platform-books terms (assets debit-normal, liabilities credit-normal):

    fund_provider        Dr gateway_clearing(via)          Cr provider_available
    reserve              Dr provider_available             Cr provider_reserved
    release_reservation  Dr provider_reserved              Cr provider_available
    begin_disbursement   Dr provider_reserved              Cr borrower_payout_clearing(loan)
                         Dr loan_receivable(loan)          Cr provider_loans
    settle_payout        Dr borrower_payout_clearing(loan) Cr gateway_clearing(gateway)

A payout that finally fails is undone with ``reverse(begin_disbursement entry)``; a payout the
gateway reverses after success with ``reverse(settle_payout entry)``.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core.errors import DomainError, NotFound
from caas.ledger.errors import LedgerError
from caas.ledger.models import (PLATFORM_OWNER_ID, Account, AccountBalance, AccountKind, JournalEntry,
                                JournalLine, OwnerType)
from caas.ledger.posting import (AccountKey, AccountLike, account_key, credit, debit, key_of, post, post_detailed,
                                 resolve_accounts)
from caas.money import normalise_currency

_GATEWAY_RE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
_REFERENCE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def _amount(amount_minor: int) -> int:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise LedgerError("amount must be a positive int of minor units", "invalid_amount", "amount_minor")
    return amount_minor


def _gateway(name: str) -> str:
    name = (name or "").strip().lower()
    if not _GATEWAY_RE.match(name):
        raise LedgerError(f"not a gateway or bank name: {name!r}", "invalid_gateway", "via")
    return name


def _reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not _REFERENCE_RE.match(reference):
        raise LedgerError("reference: 1-100 letters, digits, '_', '.', ':' or '-'", "invalid_reference", "reference")
    return reference


def fund_provider(session: Session, actor: Actor, provider_id: uuid.UUID, amount_minor: int, currency: str,
                  reference: str, *, via: str = "bank", occurred_at: datetime | None = None) -> JournalEntry:
    """Record a provider's funding deposit that has reached the platform's bank or a gateway.

    Dr gateway_clearing(``via``) / Cr provider_available. Idempotent per (provider, reference): the
    same deposit recorded twice is one entry and one audit row (``ledger.provider_funded``).
    Refuses an unknown provider and, when the provider lists its currencies, any other currency.
    """
    from caas.tenancy.models import Provider

    amount_minor = _amount(amount_minor)
    currency = normalise_currency(currency)
    reference = _reference(reference)
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("provider")
    if provider.currencies and currency not in provider.currencies:
        raise DomainError("currency_not_offered",
                          f"{provider.legal_name} lends in {', '.join(provider.currencies)}, not {currency}.",
                          "currency")
    via = _gateway(via)
    posted = post_detailed(
        session, memo=f"Funding deposit from provider {provider.legal_name} ({reference})",
        idempotency_key=f"provider-funding:{provider.id}:{reference}", occurred_at=occurred_at,
        lines=[debit(account_key(AccountKind.gateway_clearing, via, currency), amount_minor),
               credit(account_key(AccountKind.provider_available, provider.id, currency), amount_minor)])
    if posted.created:
        record(session, actor, "ledger.provider_funded", target_type="provider", target_id=provider.id,
               after={"amount_minor": amount_minor, "currency": currency, "reference": reference, "via": via,
                      "entry_id": str(posted.entry.id)})
    return posted.entry


def reserve(session: Session, provider_id: uuid.UUID, amount_minor: int, currency: str, loan_id: uuid.UUID, *,
            idempotency_key: str | None = None) -> JournalEntry:
    """Earmark provider funds for a loan: Dr provider_available / Cr provider_reserved.

    Raises ``InsufficientFunds`` (nothing written) when available funds are short; concurrent
    reservations are serialised on the provider's balance row, so together they never exceed the
    funds. Idempotent per loan (key ``reserve:<loan>``): an accepted offer retried reserves once.
    """
    amount_minor = _amount(amount_minor)
    return post(session, memo=f"Reserve funds for loan {loan_id}",
                idempotency_key=idempotency_key or f"reserve:{loan_id}",
                lines=[debit(account_key(AccountKind.provider_available, provider_id, currency), amount_minor),
                       credit(account_key(AccountKind.provider_reserved, provider_id, currency), amount_minor)])


def release_reservation(session: Session, provider_id: uuid.UUID, amount_minor: int, currency: str,
                        loan_id: uuid.UUID, *, idempotency_key: str | None = None) -> JournalEntry:
    """Give reserved funds back to available: Dr provider_reserved / Cr provider_available.

    Idempotent per loan (key ``release:<loan>``). Refuses to release more than the provider has
    reserved in total (``InsufficientFunds``); it does not track reservations per loan, so the
    caller releases the amount it reserved for that loan.
    """
    amount_minor = _amount(amount_minor)
    return post(session, memo=f"Release reserved funds of loan {loan_id}",
                idempotency_key=idempotency_key or f"release:{loan_id}",
                lines=[debit(account_key(AccountKind.provider_reserved, provider_id, currency), amount_minor),
                       credit(account_key(AccountKind.provider_available, provider_id, currency), amount_minor)])


def begin_disbursement(session: Session, *, provider_id: uuid.UUID, loan_id: uuid.UUID, amount_minor: int,
                       currency: str) -> JournalEntry:
    """The reserved money becomes a loan: owed to the borrower until the gateway pays it out.

    Dr provider_reserved / Cr borrower_payout_clearing(loan) and Dr loan_receivable(loan) /
    Cr provider_loans. Post it before the first payout attempt. Idempotent per loan
    (``disburse:<loan>``). If the payout finally fails, ``reverse`` this entry.
    """
    amount_minor = _amount(amount_minor)
    return post(session, memo=f"Disburse loan {loan_id}", idempotency_key=f"disburse:{loan_id}", lines=[
        debit(account_key(AccountKind.provider_reserved, provider_id, currency), amount_minor),
        credit(account_key(AccountKind.borrower_payout_clearing, loan_id, currency), amount_minor),
        debit(account_key(AccountKind.loan_receivable, loan_id, currency), amount_minor),
        credit(account_key(AccountKind.provider_loans, provider_id, currency), amount_minor),
    ])


def settle_payout(session: Session, *, loan_id: uuid.UUID, gateway: str, amount_minor: int, currency: str,
                  reference: str, occurred_at: datetime | None = None) -> JournalEntry:
    """The gateway confirmed the payout: Dr borrower_payout_clearing(loan) / Cr gateway_clearing.

    Idempotent per gateway reference (``payout:<gateway>:<reference>``), so a webhook and a
    verify call reporting the same success post once. Refuses to settle more than is owed to the
    borrower (``InsufficientFunds`` on the clearing account): a second successful attempt for the
    same loan cannot be booked as if it were the first.
    """
    amount_minor = _amount(amount_minor)
    gateway = _gateway(gateway)
    reference = _reference(reference)
    return post(session, memo=f"Payout of loan {loan_id} via {gateway} ({reference})",
                idempotency_key=f"payout:{gateway}:{reference}", occurred_at=occurred_at, lines=[
                    debit(account_key(AccountKind.borrower_payout_clearing, loan_id, currency), amount_minor),
                    credit(account_key(AccountKind.gateway_clearing, gateway, currency), amount_minor)])


def withhold_fee(session: Session, *, loan_id: uuid.UUID, provider_id: uuid.UUID, amount_minor: int, currency: str,
                 to_platform: bool = False) -> JournalEntry:
    """The origination fee withheld from a payout leaves the borrower's clearing account: back to
    the provider's available funds (its fee income), or to platform revenue when the product says
    so. Dr borrower_payout_clearing(loan) / Cr provider_available | platform_fee_revenue.
    Idempotent per loan (``fee:<loan>``)."""
    amount_minor = _amount(amount_minor)
    target = (account_key(AccountKind.platform_fee_revenue, PLATFORM_OWNER_ID, currency) if to_platform
              else account_key(AccountKind.provider_available, provider_id, currency))
    return post(session, memo=f"Origination fee of loan {loan_id}", idempotency_key=f"fee:{loan_id}", lines=[
        debit(account_key(AccountKind.borrower_payout_clearing, loan_id, currency), amount_minor),
        credit(target, amount_minor)])


def receive_repayment(session: Session, *, loan_id: uuid.UUID, provider_id: uuid.UUID, gateway: str | None,
                      currency: str, principal_minor: int, income_minor: int, commission_minor: int,
                      credit_minor: int, reference: str) -> JournalEntry:
    """Money a borrower paid, collected at a gateway, split by the allocation:

        Dr gateway_clearing(gateway)          the payment
        Cr loan_receivable(loan)              principal repaid
        Dr provider_loans(provider)           the provider's claim shrinks by that principal …
        Cr provider_available(provider)       … and the principal plus the interest and fees, net of
                                              the platform's commission, become its free funds
        Cr platform_fee_revenue               the commission
        Cr/Dr borrower_payout_clearing(loan)  an overpayment held for the borrower (or held credit used)

    Idempotent per reference (``repayment:<reference>``)."""
    gateway = _gateway(gateway or "sandbox")
    reference = _reference(reference)
    payment = principal_minor + income_minor + credit_minor
    _amount(payment)
    lines = [debit(account_key(AccountKind.gateway_clearing, gateway, currency), payment)]
    if principal_minor:
        lines += [credit(account_key(AccountKind.loan_receivable, loan_id, currency), principal_minor),
                  debit(account_key(AccountKind.provider_loans, provider_id, currency), principal_minor)]
    to_provider = principal_minor + income_minor - commission_minor
    if to_provider:
        lines.append(credit(account_key(AccountKind.provider_available, provider_id, currency), to_provider))
    if commission_minor:
        lines.append(credit(account_key(AccountKind.platform_fee_revenue, PLATFORM_OWNER_ID, currency),
                            commission_minor))
    if credit_minor > 0:
        lines.append(credit(account_key(AccountKind.borrower_payout_clearing, loan_id, currency), credit_minor))
    elif credit_minor < 0:
        lines.append(debit(account_key(AccountKind.borrower_payout_clearing, loan_id, currency), -credit_minor))
    return post(session, memo=f"Repayment of loan {loan_id} ({reference})", idempotency_key=f"repayment:{reference}",
                lines=lines)


def write_off(session: Session, *, loan_id: uuid.UUID, provider_id: uuid.UUID, principal_minor: int,
              currency: str) -> JournalEntry:
    """The provider bears the loss of the principal still owed: Dr provider_loans / Cr
    loan_receivable. Idempotent per loan (``write-off:<loan>``)."""
    principal_minor = _amount(principal_minor)
    return post(session, memo=f"Write-off of loan {loan_id}", idempotency_key=f"write-off:{loan_id}", lines=[
        debit(account_key(AccountKind.provider_loans, provider_id, currency), principal_minor),
        credit(account_key(AccountKind.loan_receivable, loan_id, currency), principal_minor)])


def entry_for_payout(session: Session, gateway: str | None, reference: str) -> JournalEntry | None:
    """The settle_payout entry of a payout reference, if it was posted."""
    if not gateway:
        return None
    return session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == f"payout:{gateway}:{reference}"))


def reverse_entry(session: Session, entry_id: uuid.UUID, *, memo: str | None = None) -> JournalEntry:
    """Post the mirror image of an entry (idempotent: once per entry)."""
    from caas.ledger.posting import reverse

    return reverse(session, entry_id, memo=memo)


# --- reading -----------------------------------------------------------------------------------

def balance(session: Session, account: AccountLike) -> int:
    """The account's balance in its normal direction (credit-normal: credits - debits); 0 if unused."""
    if isinstance(account, Account):
        account_id = account.id
    else:
        account_id = session.scalar(select(Account.id).where(
            Account.kind == account.kind.value, Account.owner_type == account.owner_type.value,
            Account.owner_id == account.owner_id, Account.currency == account.currency))
        if account_id is None:
            return 0
    value = session.scalar(select(AccountBalance.balance_minor).where(AccountBalance.account_id == account_id))
    return int(value or 0)


def balance_of(session: Session, kind: AccountKind | str, owner_id: object, currency: str) -> int:
    return balance(session, account_key(kind, owner_id, currency))


@dataclass(frozen=True)
class ProviderFunds:
    currency: str
    available_minor: int
    reserved_minor: int


def provider_funds(session: Session, provider_id: uuid.UUID, currency: str) -> ProviderFunds:
    """What the provider portal shows: available and reserved funds in one currency."""
    return ProviderFunds(
        normalise_currency(currency),
        balance_of(session, AccountKind.provider_available, provider_id, currency),
        balance_of(session, AccountKind.provider_reserved, provider_id, currency))


@dataclass(frozen=True)
class OwnedAccount:
    account_id: uuid.UUID
    kind: str
    currency: str
    balance_minor: int


def accounts_of(session: Session, owner_type: OwnerType | str, owner_id: object) -> list[OwnedAccount]:
    """Every account one owner has, with its balance. Tenant-facing pages read the ledger only
    through owner-filtered functions like this one (the ledger has no row-level security)."""
    rows = session.execute(
        select(Account.id, Account.kind, Account.currency, AccountBalance.balance_minor)
        .join(AccountBalance, AccountBalance.account_id == Account.id)
        .where(Account.owner_type == OwnerType(owner_type).value, Account.owner_id == str(owner_id))
        .order_by(Account.currency, Account.kind))
    return [OwnedAccount(r.id, r.kind, r.currency, int(r.balance_minor)) for r in rows]


@dataclass(frozen=True)
class StatementLine:
    line_id: int
    entry_id: uuid.UUID
    occurred_at: datetime
    memo: str
    debit_minor: int
    credit_minor: int


def statement(session: Session, account: Account, *, before_line_id: int | None = None,
              limit: int = 50) -> list[StatementLine]:
    """An account's lines, newest first, keyset-paginated by line id. The caller checks that the
    viewer owns ``account`` (``account.owner_type``/``owner_id``)."""
    query = (select(JournalLine.id, JournalLine.entry_id, JournalEntry.occurred_at, JournalEntry.memo,
                    JournalLine.debit_minor, JournalLine.credit_minor)
             .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
             .where(JournalLine.account_id == account.id).order_by(JournalLine.id.desc()).limit(limit))
    if before_line_id is not None:
        query = query.where(JournalLine.id < before_line_id)
    return [StatementLine(*row) for row in session.execute(query)]


__all__ = [
    "AccountKey", "OwnedAccount", "ProviderFunds", "StatementLine", "accounts_of", "balance", "balance_of",
    "begin_disbursement", "fund_provider", "key_of", "provider_funds", "release_reservation", "reserve",
    "resolve_accounts", "settle_payout", "statement",
]
