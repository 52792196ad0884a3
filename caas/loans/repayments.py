"""Repayments: what is due, quotes, paying through the gateway's charge flow, and applying money
to a loan by the product's waterfall (caas.loans.maths.allocate), with the ledger entry and the
loan's closure.

Applying is exactly once per repayment: under the loan's row lock, a repayment that is no longer
``pending`` is left alone, so the charge's own answer and the gateway's webhook (or a retried job)
reporting the same success apply it once. The ledger entry is idempotent by the reference too.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.billing import usage
from caas.core.errors import DomainError, NotFound
from caas.credit import applications
from caas.credit.models import Application, ApplicationStatus as S
from caas.credit.notifications import notify
from caas.events import outbox
from caas.ledger import operations as ledger
from caas.loans import operations as loans
from caas.loans import refunds
from caas.loans.maths import Component, Due, Overpayment, allocate, payoff_quote
from caas.loans.models import Loan, LoanInstallment, LoanStatus, Repayment
from caas.money import describe, format_minor
from caas.payments.gateways import ChargeRequest, GatewayError, TransferStatus
from caas.payments.routing import Router
from caas.tenancy.models import ProviderAccess

KINDS = ("instalment", "partial", "payoff")


def lock_loan(session: Session, loan_id: uuid.UUID) -> Loan:
    loan = session.scalar(select(Loan).where(Loan.id == loan_id).with_for_update(of=Loan)
                          .execution_options(populate_existing=True))
    if loan is None:
        raise NotFound("loan")
    return loan


def installments(session: Session, loan: Loan) -> list[LoanInstallment]:
    """The loan's instalments as the database has them now (never a stale loaded collection)."""
    return list(session.scalars(select(LoanInstallment).where(LoanInstallment.loan_id == loan.id)
                                .order_by(LoanInstallment.number).execution_options(populate_existing=True)))


def dues(loan: Loan, rows: list[LoanInstallment]) -> list[Due]:
    out, previous = [], loan.start_date
    for row in rows:
        out.append(Due(row.number, previous, row.due_date,
                       principal_minor=row.principal_minor - row.paid_principal_minor,
                       interest_minor=row.interest_minor - row.paid_interest_minor,
                       fees_minor=row.fees_minor - row.paid_fees_minor))
        previous = row.due_date
    return out


@dataclass(frozen=True)
class Position:
    """Where a loan stands on a day: what is overdue, the next instalment, the payoff."""

    on: date
    overdue_minor: int
    next_due: LoanInstallment | None
    next_due_minor: int
    principal_outstanding_minor: int
    payoff_minor: int
    instalment_quote_minor: int  # what is due by today, or else the next instalment


def position(session: Session, loan: Loan, on: date) -> Position:
    rows = installments(session, loan)
    open_rows = [r for r in rows if r.outstanding_minor > 0]
    overdue = sum(r.outstanding_minor for r in open_rows if r.due_date < on)
    upcoming = [r for r in open_rows if r.due_date >= on]
    next_due = upcoming[0] if upcoming else None
    next_minor = next_due.outstanding_minor if next_due else 0
    payoff = payoff_quote(dues(loan, rows), on).total_minor if open_rows else 0
    due_now = sum(r.outstanding_minor for r in open_rows if r.due_date <= on)  # arrears and today's
    instalment = due_now or next_minor  # nothing due: the next instalment, paid ahead
    return Position(on, overdue, next_due, next_minor, sum(r.principal_minor - r.paid_principal_minor for r in rows),
                    max(0, payoff - loan.credit_minor), max(0, min(instalment, payoff) - loan.credit_minor))


# A payment still waiting for the gateway's answer blocks another one for this long: two payments
# in flight could together pay more than is owed. An older pending one (a crash before the charge
# reached the gateway) no longer blocks; if it settles after all, the overpayment policy applies.
IN_FLIGHT_WINDOW = timedelta(hours=1)


def in_flight(session: Session, loan_id: uuid.UUID, *, exclude: str | None = None) -> Repayment | None:
    """The newest repayment of the loan still waiting for the gateway (within the window)."""
    query = (select(Repayment).where(Repayment.loan_id == loan_id, Repayment.status == "pending",
                                     Repayment.created_at >= datetime.now(timezone.utc) - IN_FLIGHT_WINDOW)
             .order_by(Repayment.created_at.desc()).limit(1))
    if exclude:
        query = query.where(Repayment.reference != exclude)
    return session.scalar(query)


def quote(session: Session, loan: Loan, kind: str, on: date, amount_minor: int | None = None) -> int:
    """The amount of a payment of ``kind`` on ``on``; refuses what cannot be paid, including a
    second payment while one is still being confirmed (so two cannot together overpay)."""
    if loan.status != LoanStatus.active:
        raise DomainError("loan_not_active", "Only an active loan can be paid.")
    waiting = in_flight(session, loan.id)
    if waiting is not None:
        raise DomainError("payment_in_progress", f"Your payment of {describe(waiting.amount_minor, waiting.currency)} "
                          f"is still being confirmed by the bank. Please wait for it before paying again.", "kind")
    where = position(session, loan, on)
    if kind == "instalment":
        return where.instalment_quote_minor
    if kind == "payoff":
        return where.payoff_minor
    if kind == "partial":
        if amount_minor is None or amount_minor <= 0:
            raise DomainError("invalid_amount", "Enter an amount above zero.", "amount")
        if amount_minor > where.payoff_minor:
            raise DomainError("amount_above_payoff", f"That is more than it takes to repay the loan today "
                              f"({format_minor(where.payoff_minor, loan.currency)} {loan.currency}).", "amount")
        return amount_minor
    raise DomainError("invalid_kind", "Choose the next instalment, another amount, or paying off.", "kind")


def start(session: Session, loan: Loan, amount_minor: int, source: str) -> Repayment:
    if amount_minor <= 0:
        raise DomainError("nothing_due", "Nothing is due on this loan now.", "amount")
    repayment = Repayment(id=uuid.uuid4(), client_id=loan.client_id, loan_id=loan.id,
                          reference=f"caas-rp-{uuid.uuid4().hex[:24]}", source=source, status="pending",
                          currency=loan.currency, amount_minor=amount_minor)
    session.add(repayment)
    session.flush()
    return repayment


def charge(session: Session, repayment: Repayment, router: Router, *, authorization_code: str, email: str,
           on: date) -> Repayment:
    """Charge through the first gateway of the currency and apply the answer (the webhook that
    follows finds it applied). The caller has committed the pending repayment first."""
    name = router.candidates(repayment.currency)[0]
    try:
        result = router.gateway(name).charge_authorization(ChargeRequest(
            reference=repayment.reference, amount_minor=repayment.amount_minor, currency=repayment.currency,
            authorization_code=authorization_code, email=email))
    except GatewayError as exc:
        return settle(session, repayment.id, succeeded=False, on=on, gateway=name, reason=exc.message)
    if result.status == TransferStatus.pending:
        repayment.gateway, repayment.gateway_id = name, result.gateway_id
        session.flush()
        return repayment
    return settle(session, repayment.id, succeeded=result.status == TransferStatus.succeeded, on=on, gateway=name,
                  gateway_id=result.gateway_id, reason=result.failure_reason)


def settle(session: Session, repayment_id: uuid.UUID, *, succeeded: bool, on: date, gateway: str,
           gateway_id: str | None = None, reason: str | None = None) -> Repayment:
    """The gateway's answer for a repayment, applied once (tenant in scope)."""
    repayment = session.get(Repayment, repayment_id)
    if repayment is None:
        raise NotFound("repayment")
    loan = lock_loan(session, repayment.loan_id)
    repayment = session.scalar(select(Repayment).where(Repayment.id == repayment_id).with_for_update()
                               .execution_options(populate_existing=True))
    if repayment.status != "pending":
        return repayment
    repayment.gateway, repayment.gateway_id = gateway, gateway_id or repayment.gateway_id
    if not succeeded:
        repayment.status = "failed"
        repayment.failure_reason = (reason or "declined")[:500]
        session.flush()
        return repayment
    _apply(session, loan, repayment, on)
    return repayment


def _commission_rate(session: Session, loan: Loan) -> Decimal:
    rate = session.scalar(select(ProviderAccess.commission_rate).where(
        ProviderAccess.client_id == loan.client_id, ProviderAccess.provider_id == loan.provider_id))
    return rate if rate is not None else Decimal("0.1000")


def _apply(session: Session, loan: Loan, repayment: Repayment, on: date) -> None:
    rows = installments(session, loan)
    by_number = {r.number: r for r in rows}
    money = repayment.amount_minor + loan.credit_minor
    loan.credit_minor = 0
    payoff = payoff_quote(dues(loan, rows), on)
    waived = 0
    if money >= payoff.total_minor:
        lines, waived = _payoff_lines(loan, rows, on)
        credit = money - sum(amount for _, _, amount in lines)
    else:
        # Paid ahead of time, a payment goes to the next instalment first (its interest included),
        # and only what exceeds it shortens the loan from the end (the maths' reduce-term rule).
        first_open = min((r.due_date for r in rows if r.outstanding_minor > 0), default=on)
        allocation = allocate(money, dues(loan, rows), on=max(on, first_open), overpayment=Overpayment.REDUCE_TERM)
        lines = [(line.number, line.component, line.amount_minor) for line in allocation.lines]
        credit = allocation.credit_minor
    totals = {c: 0 for c in Component}
    for number, component, amount in lines:
        row = by_number[number]
        attribute = {Component.PRINCIPAL: "paid_principal_minor", Component.INTEREST: "paid_interest_minor",
                     Component.FEES: "paid_fees_minor", Component.PENALTIES: "paid_fees_minor"}[component]
        setattr(row, attribute, getattr(row, attribute) + amount)
        row.paid_minor += amount
        totals[component] += amount
        if row.outstanding_minor <= 0 and row.paid_on is None:
            row.paid_on = on
    loan.credit_minor = credit
    income = totals[Component.INTEREST] + totals[Component.FEES] + totals[Component.PENALTIES]
    commission = int((Decimal(income) * _commission_rate(session, loan)).to_integral_value(ROUND_HALF_EVEN))
    ledger.receive_repayment(session, loan_id=loan.id, provider_id=loan.provider_id, gateway=repayment.gateway,
                             currency=loan.currency, principal_minor=totals[Component.PRINCIPAL],
                             income_minor=income, commission_minor=commission,
                             credit_minor=repayment.amount_minor - totals[Component.PRINCIPAL] - income,
                             reference=repayment.reference)
    usage.record_payment(session, loan.client_id, f"repayment:{repayment.reference}", repayment.amount_minor,
                         loan.currency)
    repayment.status = "succeeded"
    repayment.received_on = on
    repayment.allocation = {"principal_minor": totals[Component.PRINCIPAL], "interest_minor": totals[Component.INTEREST],
                            "fees_minor": totals[Component.FEES] + totals[Component.PENALTIES],
                            "commission_minor": commission, "credit_minor": credit, "interest_waived_minor": waived,
                            "lines": [[n, c.value, a] for n, c, a in lines]}
    session.flush()
    outbox.record_event(session, loan.client_id, "credit.repayment.received", serialise(repayment))
    if loan.status == LoanStatus.active and all(r.outstanding_minor <= 0 for r in rows):
        _close(session, loan, on)
    if loan.status == LoanStatus.repaid and loan.credit_minor > 0:
        refunds.settle_overpayment(session, loan, repayment)  # refunded or held, by the client's policy


def _payoff_lines(loan: Loan, rows: list[LoanInstallment], on: date) -> tuple[list, int]:
    """Settle everything: what is due in full, the current period's interest pro rata, every
    principal; interest not yet earned is waived (the rows' interest is reduced to what was paid)."""
    lines, waived, previous = [], 0, loan.start_date
    for row in rows:
        open_interest = row.interest_minor - row.paid_interest_minor
        if row.due_date <= on:
            pay_interest = open_interest
        elif previous < on:  # as caas.loans.maths.payoff_quote counts it
            days, period = (on - previous).days, (row.due_date - previous).days
            pay_interest = int((Decimal(open_interest) * days / period).to_integral_value(ROUND_HALF_EVEN))
        else:
            pay_interest = 0
        if open_interest - pay_interest:
            waived += open_interest - pay_interest
            row.interest_minor = row.paid_interest_minor + pay_interest
            row.total_minor = row.principal_minor + row.interest_minor
        fees = row.fees_minor - row.paid_fees_minor if row.due_date <= on else 0
        for component, amount in ((Component.FEES, fees),
                                  (Component.INTEREST, pay_interest),
                                  (Component.PRINCIPAL, row.principal_minor - row.paid_principal_minor)):
            if amount > 0:
                lines.append((row.number, component, amount))
        previous = row.due_date
    return lines, waived


def _close(session: Session, loan: Loan, on: date) -> None:
    loan.status = LoanStatus.repaid
    loan.closed_at = datetime.combine(on, datetime.min.time()).astimezone()
    loan.days_past_due, loan.bucket = 0, "current"
    application = session.get(Application, loan.application_id)
    if application is not None and application.status == S.active:
        applications.transition(session, application, S.closed, "the loan is repaid")
    notify(session, loan.client_id, loan.borrower_id, "Your loan is fully repaid. Thank you!",
           link=f"/loans/{loan.id}")
    outbox.record_event(session, loan.client_id, "credit.loan.closed", loans.serialise(loan))


def history(session: Session, loan_id: uuid.UUID) -> list[Repayment]:
    return list(session.scalars(select(Repayment).where(Repayment.loan_id == loan_id)
                                .order_by(Repayment.created_at.desc())))


def by_reference(session: Session, reference: str) -> Repayment | None:
    return session.scalar(select(Repayment).where(Repayment.reference == reference))


def serialise(repayment: Repayment) -> dict:
    return {"id": str(repayment.id), "object": "repayment", "loan_id": str(repayment.loan_id),
            "status": repayment.status, "amount": format_minor(repayment.amount_minor, repayment.currency),
            "currency": repayment.currency, "reference": repayment.reference, "source": repayment.source,
            "received_on": repayment.received_on.isoformat() if repayment.received_on else None,
            "allocation": repayment.allocation}
