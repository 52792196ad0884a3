"""Loans as records: created from an accepted offer with the schedule from the loan maths; read by
the borrower, the client and the provider; serialised as the API returns them."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from caas.core import tenant
from caas.core.errors import NotFound
from caas.loans.maths import LoanTerms, Schedule, build_schedule
from caas.loans.models import Loan, LoanInstallment
from caas.money import format_minor

# The product every offer is priced with: monthly equal instalments on the declining balance,
# 30/360 so that an instalment does not depend on the day the loan starts.
DAY_COUNT = "30/360"


def terms(principal_minor: int, currency: str, term_months: int, annual_rate: Decimal, start: date) -> LoanTerms:
    return LoanTerms(principal_minor=principal_minor, annual_rate=annual_rate, installments=term_months, start=start,
                     every=1, unit="months", day_count=DAY_COUNT, amortization="equal-installments",
                     interest_method="declining-balance", currency=currency)


def create(session: Session, *, client_id: uuid.UUID, application_id: uuid.UUID, bid_id: uuid.UUID,
           provider_id: uuid.UUID, borrower_id: uuid.UUID, currency: str, principal_minor: int, fee_minor: int,
           annual_rate: Decimal, apr: Decimal, term_months: int, start: date) -> Loan:
    """A pending-disbursement loan and its instalments (the caller holds the tenant and the locks)."""
    schedule: Schedule = build_schedule(terms(principal_minor, currency, term_months, annual_rate, start))
    rows = schedule.installments
    loan = Loan(id=uuid.uuid4(), client_id=client_id, application_id=application_id, bid_id=bid_id,
                provider_id=provider_id, borrower_id=borrower_id, currency=currency, principal_minor=principal_minor,
                fee_minor=fee_minor, annual_rate=annual_rate, apr=apr, term_months=term_months, day_count=DAY_COUNT,
                instalment_minor=rows[0].total_minor, total_interest_minor=schedule.total_interest_minor,
                total_repayable_minor=schedule.total_minor, start_date=start, maturity_date=schedule.maturity_date)
    session.add(loan)
    session.flush()
    session.add_all([LoanInstallment(client_id=client_id, loan_id=loan.id, number=row.number, due_date=row.due_date,
                                     principal_minor=row.principal_minor, interest_minor=row.interest_minor,
                                     total_minor=row.total_minor, balance_minor=row.balance_minor, paid_minor=0)
                     for row in rows])
    session.flush()
    return loan


def get(session: Session, loan_id: uuid.UUID, *, borrower_id: uuid.UUID | None = None) -> Loan:
    """A loan visible in the current scope (tenant, or provider); a borrower sees only their own."""
    loan = tenant.get_visible(session, Loan, loan_id)
    if loan is None or (borrower_id is not None and loan.borrower_id != borrower_id):
        raise NotFound("loan")
    return loan


def for_application(session: Session, application_id: uuid.UUID) -> Loan | None:
    from sqlalchemy import select

    return session.scalar(select(Loan).where(Loan.application_id == application_id))


def serialise(loan: Loan) -> dict:
    money = lambda minor: format_minor(minor, loan.currency)  # noqa: E731
    return {
        "id": str(loan.id),
        "object": "loan",
        "status": loan.status.value,
        "application_id": str(loan.application_id),
        "offer_id": str(loan.bid_id),
        "provider": {"id": str(loan.provider_id), "display_name": loan.provider.legal_name},
        "currency": loan.currency,
        "principal": money(loan.principal_minor),
        "origination_fee": money(loan.fee_minor),
        "amount_paid_out": money(loan.principal_minor - loan.fee_minor),
        "annual_rate": f"{loan.annual_rate * 100:.4f}",
        "apr": f"{loan.apr:.2f}",
        "term_months": loan.term_months,
        "monthly_payment": money(loan.instalment_minor),
        "total_interest": money(loan.total_interest_minor),
        "total_repayable": money(loan.total_repayable_minor),
        "start_date": loan.start_date.isoformat(),
        "maturity_date": loan.maturity_date.isoformat(),
        "schedule": [{"number": row.number, "due_date": row.due_date.isoformat(),
                      "principal": money(row.principal_minor), "interest": money(row.interest_minor),
                      "total": money(row.total_minor), "balance": money(row.balance_minor),
                      "paid": money(row.paid_minor)} for row in loan.installments],
        "created_at": loan.created_at.isoformat() if loan.created_at else None,
    }
