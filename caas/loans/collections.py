"""Auto-debit, hardship plans and the collections log.

Auto-debit: the borrower authorises a card or mandate once (the gateway's token is stored, never a
card number) and may revoke it. The daily job charges an unpaid instalment on its due date and
retries on the days of ``AUTO_DEBIT_RETRY_DAYS`` after it (default 0, 1, 3, 7): one attempt per
(loan, instalment, attempt) by a unique constraint and a deterministic reference, so a re-run
charges nothing twice (a pending attempt is asked again by the same reference, which the gateway
treats idempotently).

Hardship: the borrower asks for a payment holiday or a longer term, with an affordability check
from the stated income and expenses; an agent approves or declines; approval re-amortises the
outstanding principal from a date with the loan maths (``reamortise``).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core.errors import DomainError, NotFound
from caas.credit import profiles
from caas.credit.notifications import notify
from caas.loans import operations as loans
from caas.loans import repayments
from caas.loans.maths import HardshipPlan, reamortise
from caas.loans.models import (CollectionNote, HardshipRequest, Loan, LoanInstallment, LoanStatus, PaymentAuthorization,
                               Repayment)
from caas.payments.routing import Router
from caas.tenancy.models import User

DEFAULT_RETRY_DAYS = (0, 1, 3, 7)


# --- Auto-debit -------------------------------------------------------------------------------------

def authorization_for(session: Session, user_id: uuid.UUID) -> PaymentAuthorization | None:
    return session.scalar(select(PaymentAuthorization).where(PaymentAuthorization.user_id == user_id,
                                                             PaymentAuthorization.revoked_at.is_(None))
                          .order_by(PaymentAuthorization.created_at.desc()).limit(1))


def authorize(session: Session, actor: Actor, user_id: uuid.UUID, client_id: uuid.UUID, *, gateway: str,
              authorization_code: str, label: str) -> PaymentAuthorization:
    """Store the token the gateway returned for the borrower's card or mandate (one active at a time)."""
    current = authorization_for(session, user_id)
    if current is not None:
        current.revoked_at = datetime.now(timezone.utc)
    made = PaymentAuthorization(id=uuid.uuid4(), client_id=client_id, user_id=user_id, gateway=gateway,
                                authorization_code=authorization_code, label=label[:80])
    session.add(made)
    session.flush()
    record(session, actor, "auto_debit.authorize", client_id=client_id, target_type="payment_authorization",
           target_id=made.id, after={"gateway": gateway, "label": made.label})
    return made


def revoke(session: Session, actor: Actor, user_id: uuid.UUID) -> None:
    current = authorization_for(session, user_id)
    if current is None:
        raise DomainError("no_authorization", "There is no auto-debit to cancel.")
    current.revoked_at = datetime.now(timezone.utc)
    record(session, actor, "auto_debit.revoke", client_id=current.client_id, target_type="payment_authorization",
           target_id=current.id)


DUE_FOR_DEBIT = text("""
SELECT l.id AS loan_id, i.number, (CAST(:on AS date) - i.due_date) AS offset_days
FROM loans l
JOIN loan_installments i ON i.loan_id = l.id
JOIN payment_authorizations a ON a.user_id = l.borrower_id AND a.revoked_at IS NULL
WHERE l.status = 'active' AND i.paid_minor < i.total_minor + i.fees_minor
  AND (CAST(:on AS date) - i.due_date) = ANY(CAST(:offsets AS int[]))
""")


def auto_debit(session: Session, router: Router, on: date, retry_days: tuple[int, ...] = DEFAULT_RETRY_DAYS) -> int:
    """Charge what is due today under the borrower's authorisation (tenant in scope). Commits each."""
    charged = 0
    offsets = sorted(set(retry_days))
    for loan_id, number, offset in session.execute(DUE_FOR_DEBIT, {"on": on, "offsets": offsets}).all():
        attempt = offsets.index(offset) + 1
        reference = f"caas-ad-{loan_id.hex[:20]}-{number}-{attempt}"
        existing = repayments.by_reference(session, reference)
        if existing is not None and existing.status != "pending":
            continue  # this attempt happened
        loan = repayments.lock_loan(session, loan_id)
        authorization = authorization_for(session, loan.borrower_id)
        if authorization is None:
            session.rollback()
            continue
        if existing is None:
            if repayments.in_flight(session, loan.id) is not None:
                session.rollback()  # a payment is being confirmed: charging too could overpay
                continue
            amount = repayments.position(session, loan, on).instalment_quote_minor
            if amount <= 0:
                session.rollback()
                continue
            existing = Repayment(id=uuid.uuid4(), client_id=loan.client_id, loan_id=loan.id, reference=reference,
                                 source="auto_debit", status="pending", currency=loan.currency, amount_minor=amount,
                                 installment_number=number, attempt=attempt)
            session.add(existing)
        session.commit()  # the attempt exists before the gateway is asked
        email = session.scalar(select(User.email).where(User.id == loan.borrower_id))
        repayments.charge(session, existing, router, authorization_code=authorization.authorization_code,
                          email=email or "", on=on)
        session.commit()
        charged += 1
    return charged


# --- Hardship ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Affordability:
    income_minor: int
    expenses_minor: int
    other_debt_minor: int
    current_instalment_minor: int
    proposed_instalment_minor: int

    @property
    def free_cash_minor(self) -> int:
        return self.income_minor - self.expenses_minor - self.other_debt_minor

    @property
    def affordable(self) -> bool:
        return self.proposed_instalment_minor <= self.free_cash_minor

    def as_dict(self) -> dict:
        return {"income_minor": self.income_minor, "expenses_minor": self.expenses_minor,
                "other_debt_minor": self.other_debt_minor, "free_cash_minor": self.free_cash_minor,
                "current_instalment_minor": self.current_instalment_minor,
                "proposed_instalment_minor": self.proposed_instalment_minor, "affordable": self.affordable}


def _proposal(session: Session, loan: Loan, plan: str, periods: int, on: date):
    rows = repayments.installments(session, loan)
    remaining = [r for r in rows if r.due_date > on and r.outstanding_minor > 0]
    if not remaining:
        raise DomainError("nothing_to_replan", "No instalment is left to re-plan.")
    principal = sum(r.principal_minor - r.paid_principal_minor for r in rows)
    arrears = sum(r.outstanding_minor for r in rows if r.due_date <= on)
    hardship = HardshipPlan(holiday_periods=periods if plan == "holiday" else 0,
                            extra_periods=periods if plan == "extension" else 0)
    terms = loans.terms(loan.principal_minor, loan.currency, loan.term_months, loan.annual_rate, loan.start_date)
    # arrears (interest and fees already due) are folded into the new balance; principal arrears are
    # already part of ``principal``
    arrears_other = arrears - sum(r.principal_minor - r.paid_principal_minor for r in rows if r.due_date <= on)
    return reamortise(terms, principal, len(remaining), on, hardship, capitalised_arrears_minor=max(0, arrears_other))


def request_hardship(session: Session, loan: Loan, *, reason: str, plan: str, periods: int, on: date) -> HardshipRequest:
    if loan.status != LoanStatus.active:
        raise DomainError("loan_not_active", "Only an active loan can be re-planned.")
    if plan not in ("holiday", "extension"):
        raise DomainError("invalid_plan", "Choose a payment holiday or a longer term.", "plan")
    if not 1 <= periods <= 12:
        raise DomainError("invalid_periods", "Ask for 1 to 12 months.", "periods")
    if len(reason.strip()) < 10:
        raise DomainError("reason_required", "Tell us in a sentence what has changed.", "reason")
    if session.scalar(select(HardshipRequest.id).where(HardshipRequest.loan_id == loan.id,
                                                       HardshipRequest.status == "pending")):
        raise DomainError("already_requested", "You have a request waiting for an answer already.")
    profile = profiles.get(session, loan.borrower_id)
    schedule = _proposal(session, loan, plan, periods, on)
    first_paying = next(row for row in schedule.installments if row.total_minor > 0)
    check = Affordability(profile.monthly_net_income_minor if profile else 0,
                          profile.monthly_expenses_minor if profile else 0,
                          profile.existing_debt_payments_minor if profile else 0,
                          loan.instalment_minor, max(row.total_minor for row in schedule.installments))
    made = HardshipRequest(id=uuid.uuid4(), client_id=loan.client_id, loan_id=loan.id, borrower_id=loan.borrower_id,
                           reason=reason.strip(), plan=plan, periods=periods,
                           affordability=check.as_dict() | {"first_payment_on": first_paying.due_date.isoformat()},
                           status="pending")
    session.add(made)
    session.flush()
    return made


def decide_hardship(session: Session, actor: Actor, request_id: uuid.UUID, approve: bool, note: str, on: date) -> HardshipRequest:
    """An agent's decision. Approval replaces the unpaid schedule from ``on`` with the re-amortised one."""
    found = session.get(HardshipRequest, request_id)
    if found is None:
        raise NotFound("hardship request")
    if found.status != "pending":
        raise DomainError("already_decided", "This request was decided already.")
    if len(note.strip()) < 3:
        raise DomainError("note_required", "Write a note that explains the decision.", "note")
    loan = repayments.lock_loan(session, found.loan_id)
    found.status, found.decided_by, found.decided_at, found.note = (
        "approved" if approve else "declined", actor.user_id, datetime.now(timezone.utc), note.strip())
    if approve:
        _replan(session, loan, found.plan, found.periods, on)
    record(session, actor, "hardship.approve" if approve else "hardship.decline",
           client_id=loan.client_id, target_type="loan", target_id=loan.id,
           after={"plan": found.plan, "periods": found.periods, "note": found.note})
    notify(session, loan.client_id, loan.borrower_id,
           f"Your hardship request was {found.status}." + (" Your new schedule is on the loan page." if approve else ""),
           link=f"/loans/{loan.id}")
    return found


def _replan(session: Session, loan: Loan, plan: str, periods: int, on: date) -> None:
    schedule = _proposal(session, loan, plan, periods, on)
    rows = repayments.installments(session, loan)
    kept = [r for r in rows if r.due_date <= on or r.outstanding_minor <= 0]
    for row in rows:
        if row not in kept:
            session.delete(row)
    session.flush()
    # what was due and unpaid on kept rows is now in the new balance: close them at what was paid
    for row in kept:
        if row.outstanding_minor > 0:
            row.principal_minor, row.interest_minor = row.paid_principal_minor, row.paid_interest_minor
            row.fees_minor = row.paid_fees_minor
            row.penalty_minor = min(row.penalty_minor, row.fees_minor)  # the rest went into the new balance
            row.total_minor = row.principal_minor + row.interest_minor
            row.paid_on = row.paid_on or on
    start = max((r.number for r in kept), default=0)
    for offset, planned in enumerate(schedule.installments, start=1):
        session.add(LoanInstallment(client_id=loan.client_id, loan_id=loan.id, number=start + offset,
                                    due_date=planned.due_date, principal_minor=planned.principal_minor,
                                    interest_minor=planned.interest_minor, total_minor=planned.total_minor,
                                    balance_minor=planned.balance_minor, paid_minor=0))
    loan.maturity_date = schedule.maturity_date
    loan.status = LoanStatus.active
    session.flush()


def pending_hardship(session: Session, limit: int = 100) -> list[HardshipRequest]:
    return list(session.scalars(select(HardshipRequest).where(HardshipRequest.status == "pending")
                                .order_by(HardshipRequest.created_at).limit(limit)))


# --- Collections log --------------------------------------------------------------------------------

def in_collections(session: Session, limit: int = 200) -> list[Loan]:
    return list(session.scalars(select(Loan).where(Loan.collections_since.is_not(None),
                                                   Loan.status == LoanStatus.active)
                                .order_by(Loan.days_past_due.desc()).limit(limit)))


def log(session: Session, actor: Actor, loan_id: uuid.UUID, *, kind: str, note: str, promised_on: date | None = None,
        promised_minor: int | None = None) -> CollectionNote:
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound("loan")
    if kind not in ("contact", "promise"):
        raise DomainError("invalid_kind", "Log a contact or a promise to pay.", "kind")
    if len(note.strip()) < 3:
        raise DomainError("note_required", "Write what was said.", "note")
    if kind == "promise" and (promised_on is None or not promised_minor or promised_minor <= 0):
        raise DomainError("promise_incomplete", "A promise needs a date and an amount.", "promised_on")
    made = CollectionNote(id=uuid.uuid4(), client_id=loan.client_id, loan_id=loan.id, author_id=actor.user_id,
                          kind=kind, note=note.strip(), promised_on=promised_on, promised_minor=promised_minor,
                          created_at=datetime.now(timezone.utc))  # not now(): one transaction, many notes
    session.add(made)
    session.flush()
    return made


def notes(session: Session, loan_id: uuid.UUID, today: date) -> list[tuple[CollectionNote, bool]]:
    """The log, newest first, each promise with whether it was broken (its date passed and less
    than the promised amount was received from the note's day to that date)."""
    rows = list(session.scalars(select(CollectionNote).where(CollectionNote.loan_id == loan_id)
                                .order_by(CollectionNote.created_at.desc())))
    out = []
    for row in rows:
        broken = False
        if row.kind == "promise" and row.promised_on and row.promised_on < today:
            received = session.scalar(select(func.sum(Repayment.amount_minor)).where(
                Repayment.loan_id == loan_id, Repayment.status == "succeeded",
                Repayment.received_on >= row.created_at.date(), Repayment.received_on <= row.promised_on)) or 0
            broken = received < (row.promised_minor or 0)
        out.append((row, broken))
    return out


