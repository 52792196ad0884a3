"""Statements: the borrower's loan statement (page chart and PDF) and the provider's monthly
statement (received, commission, net; CSV).

The loan statement is read in the tenant's scope by whoever may see the loan (the caller checks:
the borrower who owns it, the client's admins, platform admins through the audited path). The
provider statement is read in the provider's scope; its SQL names the provider's own loans as
well, because a provider's transaction reads through the provider SELECT policies only.
"""
from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import BigInteger, func, select
from sqlalchemy.orm import Session

from caas.credit import profiles
from caas.loans import repayments
from caas.loans.balance import Chart, Point, balance_points
from caas.loans.models import HardshipRequest, Loan, LoanInstallment, LoanRefund, LoanStatus, Repayment
from caas.money import format_minor
from caas.tenancy.models import Client, User


# --- The borrower's balance over time ---------------------------------------------------------------

def _principal_paid(history: list[Repayment]) -> list[tuple[date, int]]:
    return [(r.received_on, int((r.allocation or {}).get("principal_minor", 0)))
            for r in history if r.status == "succeeded" and r.received_on is not None]


def _capitalised(session: Session, loan: Loan, rows: list[LoanInstallment]) -> list[tuple[date, int]]:
    """Principal a hardship plan added (arrears folded into the new balance), on the plan's date."""
    added = sum(r.principal_minor for r in rows) - loan.principal_minor
    if added <= 0:
        return []
    decided = session.scalar(select(HardshipRequest.decided_at).where(
        HardshipRequest.loan_id == loan.id, HardshipRequest.status == "approved")
        .order_by(HardshipRequest.decided_at.desc()).limit(1))
    return [(decided.date() if decided else loan.start_date, added)]


def balance_series(session: Session, loan: Loan, rows: list[LoanInstallment], history: list[Repayment],
                   today: date) -> list[Point]:
    return balance_points(loan.principal_minor, loan.start_date, [(r.due_date, r.balance_minor) for r in rows],
                          _principal_paid(history), today, _capitalised(session, loan, rows))


def balance_chart(session: Session, loan: Loan, today: date) -> Chart | None:
    """The chart of the loan page (None before the payout: the schedule is not anchored yet)."""
    if loan.status == LoanStatus.pending_disbursement:
        return None
    rows = repayments.installments(session, loan)
    return Chart(balance_series(session, loan, rows, repayments.history(session, loan.id), today))


# --- The loan statement -----------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementRow:
    number: int
    due_date: date
    principal_minor: int
    interest_minor: int
    fees_minor: int
    penalty_minor: int
    total_minor: int
    paid_minor: int
    outstanding_minor: int
    mark: str  # paid | overdue | due | upcoming


@dataclass(frozen=True)
class LoanStatement:
    generated_on: date
    client_legal_name: str
    client_display_name: str
    borrower_name: str
    lender_name: str
    loan: Loan
    rows: list[StatementRow]
    payments: list[Repayment]
    refunds: list[LoanRefund]
    principal_outstanding_minor: int
    overdue_minor: int
    payoff_minor: int  # to repay everything on generated_on (0 when the loan is closed)
    credit_minor: int  # overpayment held for the borrower
    balance: list[Point]

    @property
    def currency(self) -> str:
        return self.loan.currency

    @property
    def paid_total_minor(self) -> int:
        return sum(p.amount_minor for p in self.payments if p.status == "succeeded")


def _mark(row: LoanInstallment, today: date, next_number: int | None) -> str:
    if row.outstanding_minor <= 0:
        return "paid"
    if row.due_date < today:
        return "overdue"
    return "due" if row.number == next_number else "upcoming"


def loan_statement(session: Session, loan: Loan, today: date) -> LoanStatement:
    """Everything the statement shows, as of ``today``. Reads only; the caller has checked that
    the viewer may see ``loan``."""
    client = session.get(Client, loan.client_id)
    profile = profiles.get(session, loan.borrower_id)
    borrower = profile.legal_name if profile else session.get(User, loan.borrower_id).full_name
    rows = repayments.installments(session, loan)
    history = repayments.history(session, loan.id)
    where = repayments.position(session, loan, today)
    next_number = where.next_due.number if where.next_due else None
    marked = [StatementRow(r.number, r.due_date, r.principal_minor, r.interest_minor, r.fees_minor, r.penalty_minor,
                           r.total_minor + r.fees_minor, r.paid_minor, max(0, r.outstanding_minor),
                           _mark(r, today, next_number)) for r in rows]
    refunds = list(session.scalars(select(LoanRefund).where(LoanRefund.loan_id == loan.id)
                                   .order_by(LoanRefund.created_at)))
    active = loan.status == LoanStatus.active
    return LoanStatement(
        generated_on=today, client_legal_name=client.legal_name, client_display_name=client.display_name,
        borrower_name=borrower, lender_name=loan.provider.legal_name, loan=loan, rows=marked,
        payments=sorted(history, key=lambda r: (r.received_on or r.created_at.date(), r.created_at)),
        refunds=refunds, principal_outstanding_minor=where.principal_outstanding_minor,
        overdue_minor=where.overdue_minor, payoff_minor=where.payoff_minor if active else 0,
        credit_minor=loan.credit_minor, balance=balance_series(session, loan, rows, history, today))


def statement_filename(statement: LoanStatement) -> str:
    return f"loan-statement-{str(statement.loan.id)[:8]}-{statement.generated_on.isoformat()}.pdf"


# --- The provider's monthly statement ---------------------------------------------------------------

@dataclass(frozen=True)
class ProviderMonth:
    month: str  # YYYY-MM
    currency: str
    repayments: int
    principal_minor: int
    interest_minor: int
    fees_minor: int  # late fees and penalty interest
    commission_minor: int

    @property
    def received_minor(self) -> int:
        """What borrowers paid towards the provider's loans (an overpayment held for the borrower is
        not the provider's and is not in it)."""
        return self.principal_minor + self.interest_minor + self.fees_minor

    @property
    def net_minor(self) -> int:
        """Credited to the provider's available funds: received less the platform's commission."""
        return self.received_minor - self.commission_minor


def provider_months(session: Session, provider_id: uuid.UUID, *, currency: str | None = None) -> list[ProviderMonth]:
    """Per month received and currency, newest first: one grouped query over the provider's
    succeeded repayments. The split is read from each repayment's allocation, which is what
    ``caas.ledger.operations.receive_repayment`` posted (principal, interest and fees to the
    provider, the commission to the platform)."""
    part = lambda key: func.coalesce(func.sum(Repayment.allocation[key].astext.cast(BigInteger)), 0)  # noqa: E731
    month = func.to_char(Repayment.received_on, "YYYY-MM")
    query = (select(month, Repayment.currency, func.count(), part("principal_minor"), part("interest_minor"),
                    part("fees_minor"), part("commission_minor"))
             .join(Loan, Loan.id == Repayment.loan_id)
             .where(Loan.provider_id == provider_id, Repayment.status == "succeeded",
                    Repayment.received_on.is_not(None))
             .group_by(month, Repayment.currency).order_by(month.desc(), Repayment.currency))
    if currency:
        query = query.where(Repayment.currency == currency)
    return [ProviderMonth(m, c, int(n), int(p), int(i), int(f), int(k))
            for m, c, n, p, i, f, k in session.execute(query)]


@dataclass(frozen=True)
class Totals:
    currency: str
    received_minor: int
    commission_minor: int
    net_minor: int


def totals(months: list[ProviderMonth]) -> list[Totals]:
    out: dict[str, list[int]] = {}
    for m in months:
        t = out.setdefault(m.currency, [0, 0, 0])
        t[0] += m.received_minor
        t[1] += m.commission_minor
        t[2] += m.net_minor
    return [Totals(c, *out[c]) for c in sorted(out)]


CSV_HEADER = ("month", "currency", "repayments", "principal", "interest", "fees", "received", "commission", "net")


def provider_csv(months: list[ProviderMonth]) -> str:
    """The statement as CSV: amounts in major units with the currency's decimals (``17.25``), no
    thousands separators, so a spreadsheet reads them as numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for m in months:
        writer.writerow([m.month, m.currency, m.repayments] + [format_minor(v, m.currency) for v in (
            m.principal_minor, m.interest_minor, m.fees_minor, m.received_minor, m.commission_minor, m.net_minor)])
    return out.getvalue()
