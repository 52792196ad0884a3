"""Payouts: an accepted loan paid to the borrower's bank account, exactly once.

The rules that make it exactly once:
- The gateway reference (``caas-po-<loan>-<attempt>``) is the idempotency key at the gateway.
- Before any call that could move money, the payout records *which* gateway it is about to call
  and commits. A job that finds a payout ``submitted`` at a gateway asks that gateway by reference
  first (``find_transfer``) and sends nothing while the gateway might have it. Only a definite
  "no such transfer" lets it send (again at that gateway, with the same reference) or fail over.
- A crash between the gateway call and our commit therefore leaves ``submitted`` + gateway: the
  next run (RQ retry, a duplicate delivery, reconciliation) verifies and settles it.
- Every outcome is applied under the payout's row lock through the state machine in
  ``caas.payments.states``; the ledger postings are idempotent per loan and per reference.
"""
from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.billing import usage
from caas.core import tenant
from caas.core.errors import DomainError, NotFound
from caas.credit import applications
from caas.credit.models import Application, ApplicationStatus as S
from caas.events import outbox
from caas.ledger import operations as ledger
from caas.loans import operations as loans
from caas.loans.maths import build_schedule
from caas.loans.models import Loan, LoanInstallment, LoanStatus
from caas.payments import states
from caas.payments.gateways import GatewayError, Recipient, TransferRequest, TransferResult, TransferStatus, WebhookEvent
from caas.payments.models import BankAccount, GatewayEvent, Payout, PayoutCall, PayoutEvent
from caas.payments.routing import NoRoute, Router
from caas.payments.states import PayoutState as P

log = logging.getLogger(__name__)
VERIFY_AGAIN_AFTER = timedelta(seconds=30)
_NUBAN = re.compile(r"^\d{10}$")
_BANK_CODE = re.compile(r"^[A-Za-z0-9]{3,11}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9]{4,34}$")


class PayoutPending(Exception):
    """The outcome is not known yet (gateway unreachable or ambiguous): let the job retry."""


# --- Bank accounts ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BankDetails:
    currency: str
    bank_code: str
    account_number: str
    account_name: str


def check_bank_details(details: BankDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    number = details.account_number.replace(" ", "")
    if details.currency == "NGN" and not _NUBAN.match(number):
        errors["account_number"] = "A Nigerian account number (NUBAN) has 10 digits."
    elif not _ACCOUNT.match(number):
        errors["account_number"] = "Enter the account number: 4 to 34 letters or digits."
    if not _BANK_CODE.match(details.bank_code.strip()):
        errors["bank_code"] = "Enter your bank's code (3 to 11 letters or digits, e.g. 058)."
    if len(details.account_name.strip()) < 3:
        errors["account_name"] = "Enter the name on the account."
    return errors


def save_bank_account(session: Session, user_id: uuid.UUID, client_id: uuid.UUID, details: BankDetails,
                      router: Router | None = None) -> BankAccount:
    """Check the details here, then (given a router) at the first gateway for the currency, where
    it offers an account lookup: an account the bank does not know is refused at the field. A
    gateway that cannot answer now does not block saving (the payout would fail visibly later)."""
    errors = check_bank_details(details)
    if not errors and router is not None:
        problem = _resolve(router, details)
        if problem:
            errors["account_number"] = problem
    if errors:
        first = next(iter(errors))
        error = DomainError("invalid_bank_account", errors[first], first)
        error.fields = errors  # type: ignore[attr-defined]
        raise error
    account = bank_account_for(session, user_id, details.currency)
    if account is None:
        account = BankAccount(id=uuid.uuid4(), client_id=client_id, user_id=user_id, currency=details.currency)
        session.add(account)
    account.bank_code = details.bank_code.strip()
    account.account_number = details.account_number.replace(" ", "")
    account.account_name = " ".join(details.account_name.split())
    session.flush()
    return account


def _resolve(router: Router, details: BankDetails) -> str | None:
    try:
        candidates = router.candidates(details.currency)
    except NoRoute:
        return None
    if not candidates:
        return None
    try:
        router.gateway(candidates[0]).resolve_account(details.account_number.replace(" ", ""),
                                                      details.bank_code.strip())
    except GatewayError as exc:
        if exc.code == "account_not_found":
            return "Your bank says there is no such account at this bank code. Check both."
        log.warning("account lookup unavailable", extra={"gateway": candidates[0], "error": exc.message})
    return None


def bank_account_for(session: Session, user_id: uuid.UUID, currency: str) -> BankAccount | None:
    return session.scalar(select(BankAccount).where(BankAccount.user_id == user_id, BankAccount.currency == currency))


def masked(number: str) -> str:
    return "•" * max(0, len(number) - 4) + number[-4:]


# --- Creating ---------------------------------------------------------------------------------------

def reference_for(loan_id: uuid.UUID, attempt: int) -> str:
    return f"caas-po-{loan_id.hex[:24]}-{attempt}"


def create_for_loan(session: Session, loan: Loan, account: BankAccount, router: Router) -> Payout:
    """The payout of an accepted loan (in the acceptance transaction) and its job, after commit.
    Refuses a currency no configured gateway handles, before any money moves."""
    if not router.candidates(loan.currency):
        raise NoRoute(loan.currency)
    payout = Payout(id=uuid.uuid4(), client_id=loan.client_id, loan_id=loan.id, provider_id=loan.provider_id,
                    status=P.pending, currency=loan.currency, amount_minor=loan.principal_minor - loan.fee_minor,
                    fee_minor=loan.fee_minor, attempt=1, reference=reference_for(loan.id, 1),
                    recipient={"name": account.account_name, "bank_code": account.bank_code,
                               "account_number": account.account_number, "currency": account.currency},
                    routing=[])
    session.add(payout)
    session.add(PayoutEvent(id=uuid.uuid4(), client_id=loan.client_id, payout_id=payout.id, from_state=None,
                            to_state=P.pending.value, note="created on acceptance"))
    _enqueue(session, payout)
    return payout


def _enqueue(session: Session, payout: Payout, *, run_at: datetime | None = None, tag: str = "") -> None:
    outbox.enqueue_job(session, "caas.payments.jobs.process_payout", queue="payouts", args=[str(payout.id)],
                       job_id=f"payout-{payout.id}-{payout.attempt}{tag}", client_id=payout.client_id, timeout=120,
                       run_at=run_at)


# --- The job ----------------------------------------------------------------------------------------

def lock(session: Session, payout_id: uuid.UUID) -> Payout | None:
    return session.scalar(select(Payout).where(Payout.id == payout_id).with_for_update()
                          .execution_options(populate_existing=True))


def _request(payout: Payout) -> TransferRequest:
    r = payout.recipient
    return TransferRequest(reference=payout.reference, amount_minor=payout.amount_minor, currency=payout.currency,
                           recipient=Recipient(name=r["name"], currency=r["currency"], account_number=r["account_number"],
                                               bank_code=r["bank_code"]),
                           narration=f"Loan {str(payout.loan_id)[:8]}")


def _move(session: Session, payout: Payout, target: P, note: str | None = None) -> None:
    states.transition(payout.status, target)
    session.add(PayoutEvent(id=uuid.uuid4(), client_id=payout.client_id, payout_id=payout.id,
                            from_state=payout.status.value, to_state=target.value, note=note))
    payout.status = target


def _call(session: Session, payout: Payout, gateway: str, operation: str, outcome: str, **detail: Any) -> None:
    session.add(PayoutCall(id=uuid.uuid4(), client_id=payout.client_id, payout_id=payout.id, gateway=gateway,
                           operation=operation, reference=payout.reference, outcome=outcome,
                           detail={k: v for k, v in detail.items() if v is not None}))


def _result_detail(result: TransferResult) -> dict[str, Any]:
    return {"status": result.status.value, "gateway_id": result.gateway_id, "amount_minor": result.amount_minor,
            "currency": result.currency, "failure_reason": result.failure_reason}


def process(session: Session, payout_id: uuid.UUID, router: Router, now: datetime) -> str:
    """Send or resolve one payout. Commits at each point where a crash must leave a trace.
    Raises ``PayoutPending`` when the outcome is unknown (the job retries)."""
    payout = lock(session, payout_id)
    if payout is None:
        return "missing"
    if payout.status in (P.succeeded, P.reversed, P.failed):
        return payout.status.value  # done, or failed until an admin retries
    request = _request(payout)
    if payout.status == P.submitted and payout.gateway:
        try:
            found = router.gateway(payout.gateway).find_transfer(request)
        except GatewayError as exc:
            _call(session, payout, payout.gateway, "verify", "error", code=exc.code, message=exc.message)
            session.commit()
            raise PayoutPending(f"{payout.gateway} cannot say yet: {exc.message}") from exc
        _call(session, payout, payout.gateway, "verify", found.status.value if found else "not_found",
              **(_result_detail(found) if found else {}))
        if found is not None:
            return apply(session, payout, found, now, source="verify")
    try:
        candidates = router.candidates(payout.currency)
    except NoRoute:
        candidates = []
    if not candidates:
        _fail(session, payout, f"no payment gateway is configured for {payout.currency}", now)
        session.commit()
        return payout.status.value
    _mark_disbursing(session, payout)
    for name in candidates:
        if payout.status == P.pending:
            _move(session, payout, P.submitted, f"sending through {name}")
        payout.gateway = name
        payout.submitted_at = now
        session.commit()  # the intent is durable before the gateway is called
        payout = lock(session, payout_id)
        if payout.status != P.submitted or payout.gateway != name:
            # Another delivery of this job took the payout between our commit and this lock: it
            # owns it now (and calls gateways only while holding the lock). Sending here could pay
            # twice at two gateways.
            session.rollback()
            return payout.status.value
        try:
            result = router.gateway(name).initiate_transfer(request)
        except GatewayError as exc:
            _call(session, payout, name, "initiate", "error", code=exc.code, message=exc.message,
                  retryable=exc.retryable, ambiguous=exc.ambiguous)
            payout.routing = [*payout.routing, {"gateway": name, "outcome": "error", "code": exc.code,
                                                "retryable": exc.retryable, "ambiguous": exc.ambiguous}]
            if exc.ambiguous:
                session.commit()  # the gateway may have it: only a verify there may decide
                raise PayoutPending(f"{name} may have executed the transfer") from exc
            if exc.retryable:
                continue
            _fail(session, payout, f"{name} refused the transfer: {exc.message}", now)
            session.commit()
            return payout.status.value
        _call(session, payout, name, "initiate", result.status.value, **_result_detail(result))
        payout.routing = [*payout.routing, {"gateway": name, "outcome": result.status.value}]
        return apply(session, payout, result, now, source="initiate")
    session.commit()
    raise PayoutPending(f"every gateway for {payout.currency} is unavailable: {', '.join(candidates)}")


def _mark_disbursing(session: Session, payout: Payout) -> None:
    application = session.scalar(select(Application).join(Loan, Loan.application_id == Application.id)
                                 .where(Loan.id == payout.loan_id))
    if application is not None and application.status == S.offer_accepted:
        applications.transition(session, application, S.disbursing, "payout sent to the payment gateway")


def apply(session: Session, payout: Payout, result: TransferResult, now: datetime, *, source: str) -> str:
    """What the gateway says about the current reference, applied once (caller holds the lock).
    Commits."""
    if result.reference != payout.reference:
        log.warning("gateway result for another attempt ignored",
                    extra={"payout_id": str(payout.id), "reference": result.reference})
        session.commit()
        return payout.status.value
    if result.gateway_id:
        payout.gateway_id = result.gateway_id
    target = states.from_gateway(result.status)
    if not states.is_change(payout.status, target):
        if target == P.submitted:  # pending at the gateway: ask again later
            _enqueue(session, payout, run_at=now + VERIFY_AGAIN_AFTER, tag=f"-v{int(now.timestamp())}")
        session.commit()
        return payout.status.value
    if not states.can_transition(payout.status, target):
        payout.mismatch = (f"{source}: the gateway says {result.status.value} for a payout that is "
                           f"{payout.status.value}")
        session.commit()
        return payout.status.value
    if target == P.succeeded:
        _succeed(session, payout, result, now)
    elif target == P.failed:
        _fail(session, payout, result.failure_reason or f"{result.gateway} reported a failure", now)
    elif target == P.reversed:
        _reverse(session, payout, now)
    session.commit()
    return payout.status.value


def _succeed(session: Session, payout: Payout, result: TransferResult, now: datetime) -> None:
    _move(session, payout, P.succeeded, f"paid by {result.gateway}")
    payout.settled_at = now
    payout.mismatch = None  # the gateway and we agree now
    loan = session.get(Loan, payout.loan_id, populate_existing=True)
    ledger.begin_disbursement(session, provider_id=loan.provider_id, loan_id=loan.id,
                              amount_minor=loan.principal_minor, currency=loan.currency)
    ledger.settle_payout(session, loan_id=loan.id, gateway=payout.gateway or result.gateway,
                         amount_minor=payout.amount_minor, currency=loan.currency, reference=payout.reference,
                         occurred_at=now)
    usage.record_payment(session, loan.client_id, f"payout:{payout.reference}", payout.amount_minor, loan.currency)
    if loan.fee_minor:
        ledger.withhold_fee(session, loan_id=loan.id, provider_id=loan.provider_id, amount_minor=loan.fee_minor,
                            currency=loan.currency, to_platform=_fee_to_platform())
    _activate(session, loan, now)
    application = session.get(Application, loan.application_id)
    if application.status == S.offer_accepted:
        applications.transition(session, application, S.disbursing)
    applications.transition(session, application, S.active, "the money reached the borrower's account")
    outbox.record_event(session, loan.client_id, "credit.disbursement.completed",
                        serialise(payout) | {"loan": loans.serialise(loan)})


def _fee_to_platform() -> bool:
    from flask import current_app

    return current_app.config.get("ORIGINATION_FEE_TO", "provider") == "platform"


def _activate(session: Session, loan: Loan, now: datetime) -> None:
    """Active, with the schedule's due dates anchored to the disbursement date (30/360: the
    amounts do not change with the start date)."""
    start = now.date()
    schedule = build_schedule(loans.terms(loan.principal_minor, loan.currency, loan.term_months, loan.annual_rate,
                                          start))
    rows = {row.number: row for row in session.scalars(select(LoanInstallment)
                                                       .where(LoanInstallment.loan_id == loan.id))}
    for planned in schedule.installments:
        row = rows[planned.number]
        if (row.principal_minor, row.interest_minor) != (planned.principal_minor, planned.interest_minor):
            raise RuntimeError(f"re-anchoring loan {loan.id} would change instalment {planned.number}")
        row.due_date = planned.due_date
    loan.start_date = start
    loan.maturity_date = schedule.maturity_date
    loan.status = LoanStatus.active


def _fail(session: Session, payout: Payout, reason: str, now: datetime) -> None:
    _move(session, payout, P.failed, reason[:500])
    payout.failure_reason = reason[:500]
    outbox.record_event(session, payout.client_id, "credit.disbursement.failed", serialise(payout))


def _reverse(session: Session, payout: Payout, now: datetime) -> None:
    was = payout.status
    _move(session, payout, P.reversed, "the gateway reversed the transfer")
    if was == P.succeeded:
        entry = ledger.entry_for_payout(session, payout.gateway, payout.reference)
        if entry is not None:
            ledger.reverse_entry(session, entry.id, memo=f"Gateway reversed payout {payout.reference}")
        payout.mismatch = "reversed by the gateway after it succeeded: the borrower did not keep the money"
    outbox.record_event(session, payout.client_id, "credit.disbursement.failed", serialise(payout))


def finally_failed(session: Session, payout_id: uuid.UUID, router: Router, now: datetime) -> str:
    """After the job's last retry: a payout no gateway has is failed (the admin may retry); one a
    gateway may still have stays submitted for reconciliation."""
    payout = lock(session, payout_id)
    if payout is None or payout.status != P.submitted:
        session.rollback()
        return payout.status.value if payout else "missing"
    if payout.gateway:
        try:
            found = router.gateway(payout.gateway).find_transfer(_request(payout))
        except GatewayError:
            session.rollback()
            return payout.status.value
        if found is not None:
            return apply(session, payout, found, now, source="verify")
    _fail(session, payout, "no gateway could take the payout after several tries", now)
    session.commit()
    return payout.status.value


# --- Admin actions ----------------------------------------------------------------------------------

def retry(session: Session, actor: Actor, payout_id: uuid.UUID) -> Payout:
    """A failed payout gets a new attempt (new reference) and its job. Audited."""
    payout = lock(session, payout_id)
    if payout is None:
        raise NotFound("payout")
    if payout.status != P.failed:
        raise DomainError("not_failed", "Only a failed payout can be retried.")
    payout.attempt += 1
    payout.reference = reference_for(payout.loan_id, payout.attempt)
    payout.gateway = None
    payout.gateway_id = None
    _move(session, payout, P.submitted, f"retry (attempt {payout.attempt}) by an admin")
    payout.failure_reason = None
    record(session, actor, "payout.retry", client_id=payout.client_id, target_type="payout", target_id=payout.id,
           after={"attempt": payout.attempt, "reference": payout.reference})
    _enqueue(session, payout)
    return payout


# --- Inbound webhooks -------------------------------------------------------------------------------

def event_key(event: WebhookEvent) -> str:
    raw = event.raw or {}
    for candidate in (raw.get("id"), (raw.get("data") or {}).get("id") if isinstance(raw.get("data"), dict) else None):
        if candidate not in (None, ""):
            return f"{event.event_type}:{candidate}"[:200]
    return f"{event.event_type}:{event.gateway_id or event.reference}:{event.status.value if event.status else ''}"[:200]


def handle_webhook(session: Session, event: WebhookEvent, now: datetime) -> str:
    """A verified gateway event: recorded once per event id; a transfer event is applied to its
    payout under the payout's tenant and lock. Commits. Returns what happened."""
    inserted = session.execute(insert(GatewayEvent).values(
        id=uuid.uuid4(), gateway=event.gateway, event_key=event_key(event), event_type=event.event_type,
        reference=event.reference, status=event.status.value if event.status else None, outcome="received")
        .on_conflict_do_nothing(constraint="uq_gateway_events_key").returning(GatewayEvent.id)).scalar()
    if inserted is None:
        session.commit()
        return "duplicate"
    outcome = "ignored"
    if event.reference and event.status is not None and event.reference.startswith("caas-rp-"):
        client_id = session.execute(text("SELECT caas_repayment_client(:r)"), {"r": event.reference}).scalar()
        if client_id is None:
            outcome = "unknown_reference"
        elif event.status in (TransferStatus.succeeded, TransferStatus.failed):
            from caas.loans import repayments

            with tenant.tenant_scope(client_id, session):
                repayment = repayments.by_reference(session, event.reference)
                repayments.settle(session, repayment.id, succeeded=event.status == TransferStatus.succeeded,
                                  on=now.date(), gateway=event.gateway, gateway_id=event.gateway_id)
                session.execute(text("UPDATE gateway_events SET outcome = 'applied' WHERE id = :i"), {"i": inserted})
                session.commit()
                return "applied"
    elif event.reference and event.status is not None:
        client_id = session.execute(text("SELECT caas_payout_client(:r)"), {"r": event.reference}).scalar()
        if client_id is None:
            outcome = "unknown_reference"
        else:
            with tenant.tenant_scope(client_id, session):
                payout = session.scalar(select(Payout).where(Payout.reference == event.reference).with_for_update()
                                        .execution_options(populate_existing=True))
                _call(session, payout, event.gateway, "webhook", event.status.value, event_type=event.event_type,
                      gateway_id=event.gateway_id)
                result = TransferResult(event.gateway, event.reference, event.status,
                                        event.amount_minor or payout.amount_minor, event.currency or payout.currency,
                                        gateway_id=event.gateway_id)
                session.execute(text("UPDATE gateway_events SET outcome = 'applied' WHERE id = :i"), {"i": inserted})
                apply(session, payout, result, now, source="webhook")
                return "applied"
    session.execute(text("UPDATE gateway_events SET outcome = :o WHERE id = :i"), {"o": outcome, "i": inserted})
    session.commit()
    return outcome


# --- Reconciliation ---------------------------------------------------------------------------------

def reconcile(session: Session, router: Router, now: datetime, *, older_than: timedelta = timedelta(minutes=2),
              limit: int = 200) -> dict[str, int]:
    """Ask the gateway about every payout still submitted (and recent successes): resolve what it
    knows, flag what disagrees (``payout.mismatch``, shown to admins). Commits per payout."""
    with tenant.all_tenants_scope(session):
        # stuck first (oldest first), then recent successes: a busy week never hides a stuck payout
        stuck = session.execute(select(Payout.client_id, Payout.id, Payout.status, Payout.gateway).where(
            Payout.status.in_([P.pending, P.submitted]), Payout.updated_at <= now - older_than)
            .order_by(Payout.updated_at).limit(limit)).all()
        recent = session.execute(select(Payout.client_id, Payout.id, Payout.status, Payout.gateway).where(
            Payout.status == P.succeeded, Payout.settled_at >= now - timedelta(days=7))
            .order_by(Payout.settled_at.desc()).limit(max(0, limit - len(stuck)))).all()
    session.rollback()
    counts = {"checked": 0, "resolved": 0, "flagged": 0, "requeued": 0}
    for client_id, payout_id, status, gateway in stuck:
        if status == P.pending or gateway is None:
            # never sent anywhere (its job may be lost): queue it again; the job is safe to repeat
            with tenant.tenant_scope(client_id, session):
                payout = lock(session, payout_id)
                if payout is not None and (payout.status == P.pending or payout.gateway is None):
                    _enqueue(session, payout, tag=f"-r{int(now.timestamp())}")
                    counts["requeued"] += 1
                session.commit()
    for client_id, payout_id, status, gateway in [*stuck, *recent]:
        if gateway is None:
            continue
        with tenant.tenant_scope(client_id, session):
            payout = lock(session, payout_id)
            if payout is None or payout.gateway is None:
                session.rollback()
                continue
            counts["checked"] += 1
            before = payout.status
            try:
                found = router.gateway(payout.gateway).find_transfer(_request(payout))
            except (GatewayError, KeyError) as exc:
                session.rollback()
                log.warning("reconciliation could not ask the gateway", extra={"payout_id": str(payout_id),
                                                                                "error": str(exc)})
                continue
            _call(session, payout, payout.gateway, "reconcile", found.status.value if found else "not_found")
            if found is None:
                if payout.status == P.succeeded:
                    payout.mismatch = "succeeded here, unknown at the gateway"
                    counts["flagged"] += 1
                else:  # never reached the gateway: its job sends it (verifying first, same reference)
                    payout.mismatch = "submitted here, unknown at the gateway: sent again"
                    _enqueue(session, payout, tag=f"-r{int(now.timestamp())}")
                    counts["flagged"] += 1
                session.commit()
                continue
            try:
                apply(session, payout, found, now, source="reconcile")
            except Exception:  # one bad payout must not stop the others being reconciled
                session.rollback()
                log.exception("reconciliation could not apply the gateway's answer",
                              extra={"payout_id": str(payout_id)})
                continue
            if payout.status != before:
                counts["resolved"] += 1
            if payout.mismatch:
                counts["flagged"] += 1
    return counts


# --- Reading ----------------------------------------------------------------------------------------

def get(session: Session, payout_id: uuid.UUID) -> Payout:
    payout = tenant.get_visible(session, Payout, payout_id)
    if payout is None:
        raise NotFound("payout")
    return payout


def for_loan(session: Session, loan_id: uuid.UUID) -> Payout | None:
    return session.scalar(select(Payout).where(Payout.loan_id == loan_id))


def list_page(session: Session, *, status: str | None = None, gateway: str | None = None,
              provider_id: uuid.UUID | None = None, flagged: bool = False, limit: int = 100) -> list[Payout]:
    query = select(Payout).order_by(Payout.created_at.desc()).limit(limit)
    if status in {s.value for s in P}:
        query = query.where(Payout.status == P(status))
    if gateway:
        query = query.where(Payout.gateway == gateway)
    if provider_id:
        query = query.where(Payout.provider_id == provider_id)
    if flagged:
        query = query.where(Payout.mismatch.is_not(None))
    return list(session.scalars(query))


def calls(session: Session, payout_id: uuid.UUID) -> list[PayoutCall]:
    return list(session.scalars(select(PayoutCall).where(PayoutCall.payout_id == payout_id).order_by(PayoutCall.at)))


def serialise(payout: Payout) -> dict:
    from caas.money import format_minor

    return {"id": str(payout.id), "object": "payout", "loan_id": str(payout.loan_id), "status": payout.status.value,
            "amount": format_minor(payout.amount_minor, payout.currency), "currency": payout.currency,
            "reference": payout.reference, "gateway": payout.gateway, "attempt": payout.attempt,
            "failure_reason": payout.failure_reason,
            "recipient": {"bank_code": payout.recipient.get("bank_code"),
                          "account_number": masked(payout.recipient.get("account_number", "")),
                          "name": payout.recipient.get("name")}}
