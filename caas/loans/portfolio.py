"""A provider's portfolio: outstanding principal, income, portfolio at risk, defaults, yield, and
expected versus received cash per month. Read in the provider's scope (row-level security shows
its own loans, instalments and repayments only)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from caas.loans.models import Loan, LoanInstallment, LoanStatus, Repayment


@dataclass(frozen=True)
class Summary:
    currency: str
    loans: int
    active: int
    outstanding_principal_minor: int
    interest_received_minor: int
    interest_scheduled_to_date_minor: int
    par30_minor: int
    par90_minor: int
    written_off: int

    def _ratio(self, part: int, whole: int) -> Decimal | None:
        return (Decimal(part) / whole).quantize(Decimal("0.0001"), ROUND_HALF_EVEN) if whole else None

    @property
    def par30(self) -> Decimal | None:
        return self._ratio(self.par30_minor, self.outstanding_principal_minor)

    @property
    def par90(self) -> Decimal | None:
        return self._ratio(self.par90_minor, self.outstanding_principal_minor)

    @property
    def default_rate(self) -> Decimal | None:
        return self._ratio(self.written_off, self.loans)

    @property
    def realised_vs_promised(self) -> Decimal | None:
        """Interest received over the interest the schedules promised up to today."""
        return self._ratio(self.interest_received_minor, self.interest_scheduled_to_date_minor)


def summary(session: Session, provider_id: uuid.UUID, today: date) -> list[Summary]:
    outstanding = (LoanInstallment.principal_minor - LoanInstallment.paid_principal_minor)
    per_loan = (select(Loan.id, Loan.currency, Loan.status, Loan.days_past_due,
                       func.coalesce(func.sum(outstanding), 0).label("principal"),
                       func.coalesce(func.sum(LoanInstallment.paid_interest_minor), 0).label("interest_paid"),
                       func.coalesce(func.sum(case((LoanInstallment.due_date <= today, LoanInstallment.interest_minor),
                                                   else_=0)), 0).label("interest_due"))
                .join(LoanInstallment, LoanInstallment.loan_id == Loan.id)
                .where(Loan.provider_id == provider_id).group_by(Loan.id).subquery())
    active = per_loan.c.status == LoanStatus.active
    rows = session.execute(select(
        per_loan.c.currency, func.count(), func.count().filter(active),
        func.coalesce(func.sum(per_loan.c.principal).filter(active), 0),
        func.coalesce(func.sum(per_loan.c.interest_paid), 0), func.coalesce(func.sum(per_loan.c.interest_due), 0),
        func.coalesce(func.sum(per_loan.c.principal).filter(active & (per_loan.c.days_past_due > 30)), 0),
        func.coalesce(func.sum(per_loan.c.principal).filter(active & (per_loan.c.days_past_due > 90)), 0),
        func.count().filter(per_loan.c.status == LoanStatus.written_off),
    ).group_by(per_loan.c.currency).order_by(per_loan.c.currency)).all()
    return [Summary(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6]), int(r[7]), r[8]) for r in rows]


def loans_list(session: Session, provider_id: uuid.UUID, *, status: str | None = None, bucket: str | None = None,
               limit: int = 100) -> list[Loan]:
    query = select(Loan).where(Loan.provider_id == provider_id).order_by(Loan.created_at.desc()).limit(limit)
    if status in {s.value for s in LoanStatus}:
        query = query.where(Loan.status == LoanStatus(status))
    if bucket:
        query = query.where(Loan.bucket == bucket)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    currency: str
    expected_minor: int
    received_minor: int


def cash_flow(session: Session, provider_id: uuid.UUID) -> list[Month]:
    """Per month: instalments falling due (expected) and repayments received."""
    month_due = func.to_char(LoanInstallment.due_date, "YYYY-MM")
    expected = dict(((m, c), int(v)) for m, c, v in session.execute(
        select(month_due, Loan.currency, func.sum(LoanInstallment.total_minor + LoanInstallment.fees_minor))
        .join(Loan, Loan.id == LoanInstallment.loan_id).where(Loan.provider_id == provider_id)
        .group_by(month_due, Loan.currency)))
    month_paid = func.to_char(Repayment.received_on, "YYYY-MM")
    received = dict(((m, c), int(v)) for m, c, v in session.execute(
        select(month_paid, Repayment.currency, func.sum(Repayment.amount_minor))
        .join(Loan, Loan.id == Repayment.loan_id)
        .where(Loan.provider_id == provider_id, Repayment.status == "succeeded")
        .group_by(month_paid, Repayment.currency)))
    keys = sorted(set(expected) | set(received))
    return [Month(m, c, expected.get((m, c), 0), received.get((m, c), 0)) for m, c in keys]
