"""Loans and their schedules. Tenant rows (client_id, FORCE RLS); a provider's transaction reads
its own loans (policy ``provider_select``)."""
from __future__ import annotations

import enum
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, Enum, ForeignKey, Integer, Numeric, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caas.core.extensions import db
from caas.core.models import IdMixin, TenantMixin, TimestampMixin


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
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
