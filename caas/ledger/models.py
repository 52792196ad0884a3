"""Ledger tables: accounts, journal entries and lines (append-only), maintained balances.

The migration (0100_ledger) is the authority on constraints and triggers; these classes mirror it
so queries are typed. No table here has ``client_id`` or row-level security: see the package
docstring for why the ledger is the platform's own books.
"""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (BigInteger, CheckConstraint, DateTime, ForeignKey, ForeignKeyConstraint, Identity, Index,
                        String, Text, UniqueConstraint, Uuid)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caas.core.extensions import db
from caas.core.models import utcnow_column


class Side(str, enum.Enum):
    debit = "debit"
    credit = "credit"


class OwnerType(str, enum.Enum):
    provider = "provider"
    loan = "loan"
    client = "client"
    gateway = "gateway"
    platform = "platform"


class AccountKind(str, enum.Enum):
    provider_available = "provider_available"
    provider_reserved = "provider_reserved"
    provider_loans = "provider_loans"
    loan_receivable = "loan_receivable"
    borrower_payout_clearing = "borrower_payout_clearing"
    gateway_clearing = "gateway_clearing"
    platform_fee_revenue = "platform_fee_revenue"
    client_billing_receivable = "client_billing_receivable"
    platform_tax_payable = "platform_tax_payable"


@dataclass(frozen=True)
class KindSpec:
    owner_type: OwnerType
    normal_side: Side
    non_negative: bool  # the balance (in the normal direction) may never drop below zero
    meaning: str


# One place that says what every account kind is. The migration's CHECK constraints spell out the
# same table in SQL; tests compare the two so they cannot drift apart.
KINDS: dict[AccountKind, KindSpec] = {
    AccountKind.provider_available: KindSpec(
        OwnerType.provider, Side.credit, True, "provider money held by the platform, free to lend"),
    AccountKind.provider_reserved: KindSpec(
        OwnerType.provider, Side.credit, True, "provider money earmarked for accepted offers"),
    AccountKind.provider_loans: KindSpec(
        OwnerType.provider, Side.credit, False, "provider's claim on principal lent through the platform"),
    AccountKind.loan_receivable: KindSpec(
        OwnerType.loan, Side.debit, False, "what the borrower owes on one loan (serviced for the provider)"),
    AccountKind.borrower_payout_clearing: KindSpec(
        OwnerType.loan, Side.credit, True, "disbursement owed to the borrower, not yet paid out"),
    AccountKind.gateway_clearing: KindSpec(
        OwnerType.gateway, Side.debit, False, "money at a gateway or bank, per gateway and currency"),
    AccountKind.platform_fee_revenue: KindSpec(
        OwnerType.platform, Side.credit, False, "the platform's fee income"),
    AccountKind.client_billing_receivable: KindSpec(
        OwnerType.client, Side.debit, False, "invoiced fees a client owes the platform"),
    AccountKind.platform_tax_payable: KindSpec(
        OwnerType.platform, Side.credit, False, "tax charged on invoices, owed to the tax authority"),
}

NON_NEGATIVE_KINDS = tuple(kind.value for kind, spec in KINDS.items() if spec.non_negative)
PLATFORM_OWNER_ID = "platform"  # the single owner id of platform-owned accounts


class Account(db.Model):
    """One account: (kind, owner_type, owner_id, currency) is unique.

    ``owner_id`` is text: a provider, loan or client UUID, a gateway name (``paystack``, ``bank``),
    or ``platform``. There is no foreign key to the owner because owners live in several tables.
    """

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("kind", "owner_type", "owner_id", "currency", name="uq_ledger_accounts_key"),
        UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
        UniqueConstraint("id", "kind", name="uq_ledger_accounts_id_kind"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        {"comment": "ledger accounts: platform books, no RLS (owners named by owner_type/owner_id)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(40))
    owner_type: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    normal_side: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[datetime] = utcnow_column()

    def __repr__(self) -> str:
        return f"<Account {self.kind} {self.owner_type}:{self.owner_id} {self.currency}>"


class JournalEntry(db.Model):
    """A balanced, immutable set of lines. Corrections are new entries that reverse this one."""

    __tablename__ = "journal_entries"
    __table_args__ = {"comment": "append-only: ledger journal entries"}

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    memo: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    posted_at: Mapped[datetime] = utcnow_column()
    reverses_entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("journal_entries.id"), unique=True)

    lines: Mapped[list["JournalLine"]] = relationship(
        back_populates="entry", order_by="JournalLine.id", lazy="select", viewonly=True)


class JournalLine(db.Model):
    """One side of an entry: exactly one of debit_minor/credit_minor is positive, the other zero."""

    __tablename__ = "journal_lines"
    __table_args__ = (
        ForeignKeyConstraint(["account_id", "currency"], ["ledger_accounts.id", "ledger_accounts.currency"],
                             name="fk_journal_lines_account_currency"),
        CheckConstraint("debit_minor >= 0 AND credit_minor >= 0 AND (debit_minor = 0) <> (credit_minor = 0)",
                        name="one_side"),
        Index("ix_journal_lines_account_id", "account_id", "id"),  # an account's statement, newest first
        {"comment": "append-only: ledger journal lines"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    currency: Mapped[str] = mapped_column(String(3))
    debit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    entry: Mapped[JournalEntry] = relationship(back_populates="lines", viewonly=True)
    account: Mapped[Account] = relationship(
        primaryjoin="JournalLine.account_id == Account.id", foreign_keys="JournalLine.account_id",
        lazy="joined", viewonly=True)


class AccountBalance(db.Model):
    """The maintained balance of one account, in its normal direction (credit-normal: credits - debits).

    Written only by ``caas.ledger.posting.post`` in the same statement as the lines, under a row
    lock. ``kind`` is copied here (and tied to the account by a composite foreign key) so that a
    CHECK constraint can forbid a negative balance for the kinds that must never go below zero.
    """

    __tablename__ = "ledger_balances"
    __table_args__ = (
        ForeignKeyConstraint(["account_id", "kind"], ["ledger_accounts.id", "ledger_accounts.kind"],
                             name="fk_ledger_balances_account_kind"),
        CheckConstraint(
            "kind NOT IN ('provider_available', 'provider_reserved', 'borrower_payout_clearing') "
            "OR balance_minor >= 0",
            name="non_negative"),
        {"comment": "ledger balances: maintained by caas.ledger.posting in the posting transaction"},
    )

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = utcnow_column()
