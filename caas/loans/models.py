"""Loans and their schedules. Tenant rows (client_id, FORCE RLS); a provider's transaction reads
its own loans (policy ``provider_select``)."""
from __future__ import annotations

import enum
import uuid
from datetime import date
from decimal import Decimal

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, Enum, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caas.core.extensions import db
from caas.core.models import IdMixin, TenantMixin, TimestampMixin, utcnow_column


class LoanStatus(str, enum.Enum):
    pending_disbursement = "pending_disbursement"
    active = "active"
    repaid = "repaid"
    restructured = "restructured"
    written_off = "written_off"


class Loan(IdMixin, TenantMixin, TimestampMixin, db.Model):
    """The contract as accepted. The origination fee is a prepaid finance charge: it is withheld from
    the payout, so the borrower receives ``principal - fee`` and repays the schedule on the principal."""

    __tablename__ = "loans"
    __table_args__ = (Index("ix_loans_servicing", "status", postgresql_where=text("status = 'active'")),)
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("applications.id"), unique=True)
    bid_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("bids.id"), unique=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("providers.id"), index=True)
    borrower_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    status: Mapped[LoanStatus] = mapped_column(Enum(LoanStatus, name="loan_status"),
                                               default=LoanStatus.pending_disbursement)
    currency: Mapped[str] = mapped_column(String(3))
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    apr: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    term_months: Mapped[int] = mapped_column(Integer)
    day_count: Mapped[str] = mapped_column(String(20))
    instalment_minor: Mapped[int] = mapped_column(BigInteger)
    total_interest_minor: Mapped[int] = mapped_column(BigInteger)
    total_repayable_minor: Mapped[int] = mapped_column(BigInteger)
    start_date: Mapped[date] = mapped_column(Date)
    maturity_date: Mapped[date] = mapped_column(Date)
    # servicing: maintained by the daily job (caas.loans.servicing) and by payments
    days_past_due: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bucket: Mapped[str] = mapped_column(String(10), default="current", server_default="current")
    credit_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # overpayment held
    serviced_on: Mapped[date | None] = mapped_column(Date)
    collections_since: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider = relationship("Provider", lazy="joined")
    installments = relationship("LoanInstallment", order_by="LoanInstallment.number", lazy="selectin")


class LoanInstallment(TenantMixin, db.Model):
    __tablename__ = "loan_installments"
    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loans.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date)
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    interest_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    balance_minor: Mapped[int] = mapped_column(BigInteger)  # principal outstanding after this instalment
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # everything paid against this instalment
    paid_principal_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    paid_interest_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    fees_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # late fees charged
    paid_fees_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # penalty interest charged (part of fees_minor, so it is owed and allocated like the late fee)
    # and the months of lateness charged so far (the daily job's once-per-period mark)
    penalty_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    penalty_periods: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reminded_on: Mapped[date | None] = mapped_column(Date)
    missed_on: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)

    @property
    def outstanding_minor(self) -> int:
        return self.total_minor + self.fees_minor - self.paid_minor


class Repayment(IdMixin, TenantMixin, TimestampMixin, db.Model):
    """Money the borrower paid (or that was charged) towards a loan, and where it went."""

    __tablename__ = "repayments"
    __table_args__ = (UniqueConstraint("loan_id", "installment_number", "attempt",
                                       name="uq_repayments_auto_debit_attempt"),)
    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loans.id"), index=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    source: Mapped[str] = mapped_column(String(12))  # portal | auto_debit | api
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | succeeded | failed
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    gateway: Mapped[str | None] = mapped_column(String(32))
    gateway_id: Mapped[str | None] = mapped_column(String(100))
    allocation: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[date | None] = mapped_column(Date)
    installment_number: Mapped[int | None] = mapped_column(Integer)  # auto-debit: the instalment it collects
    attempt: Mapped[int | None] = mapped_column(Integer)  # auto-debit: 1 on the due date, then the retries


class PaymentAuthorization(IdMixin, TenantMixin, db.Model):
    """A borrower's standing authority to charge a card or mandate: the gateway's token only,
    never a card number. Revoked ones are kept."""

    __tablename__ = "payment_authorizations"
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(32))
    authorization_code: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = utcnow_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HardshipRequest(IdMixin, TenantMixin, TimestampMixin, db.Model):
    __tablename__ = "hardship_requests"
    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loans.id"), index=True)
    borrower_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(String(10))  # holiday | extension
    periods: Mapped[int] = mapped_column(Integer)
    affordability: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | approved | declined
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class CollectionNote(IdMixin, TenantMixin, db.Model):
    """An agent's log on a loan in collections: a contact, or a promise to pay by a date."""

    __tablename__ = "collection_notes"
    __table_args__ = {"comment": "append-only: collections log"}
    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loans.id"), index=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None: logged by the system
    kind: Mapped[str] = mapped_column(String(10))  # contact | promise
    note: Mapped[str] = mapped_column(Text)
    promised_on: Mapped[date | None] = mapped_column(Date)
    promised_minor: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = utcnow_column()


class BucketChange(IdMixin, TenantMixin, db.Model):
    """A loan moving between delinquency buckets, as the daily job saw it."""

    __tablename__ = "loan_bucket_changes"
    __table_args__ = {"comment": "append-only: delinquency bucket history"}
    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loans.id"), index=True)
    from_bucket: Mapped[str] = mapped_column(String(10))
    to_bucket: Mapped[str] = mapped_column(String(10))
    days_past_due: Mapped[int] = mapped_column(Integer)
    on: Mapped[date] = mapped_column(Date)


class LoanRefund(IdMixin, TenantMixin, TimestampMixin, db.Model):
    """Money left over when a loan closed, sent back to the borrower's bank account (policy
    ``overpayment = refund``). One per repayment that left it; ``reference`` is the idempotency key
    at the gateway (see ``caas.loans.refunds``)."""

    __tablename__ = "loan_refunds"
    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loans.id"), index=True)
    repayment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("repayments.id"), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | submitted | succeeded | failed
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    gateway: Mapped[str | None] = mapped_column(String(32))
    gateway_id: Mapped[str | None] = mapped_column(String(100))
    recipient: Mapped[dict[str, Any]] = mapped_column(JSONB)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
