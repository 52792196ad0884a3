"""Overpayments: money left over when a loan closes, refunded or held as credit by the client's
policy (``credit_policies.overpayment``).

Where an overpayment comes from: the portal refuses a payment above the payoff and a second
payment while one is still being confirmed (``repayments.quote``), so only money the gateway
confirms late (a charge that settled after another payment repaid the loan, an auto-debit that
crossed a portal payment) can exceed what is owed. It is applied like any repayment; what is left
is posted to the loan's ``borrower_payout_clearing`` account (owed to the borrower) and kept in
``loans.credit_minor``.

- ``hold_credit``: it stays there, shown on the loan page and the statement.
- ``refund`` (the default): it is sent back to the borrower's bank account for the loan's currency
  (the account the loan was paid out to, checked by the gateway's account lookup when it was
  saved). The refund is a transfer with our reference ``caas-rf-<repayment>`` as the gateway's
  idempotency key, made once per repayment (unique). As with payouts, the gateway is recorded and
  committed before it is called, and a refund found ``submitted`` is first looked up at that
  gateway by reference, so a re-run or a duplicate job never sends it twice. On success the
  ledger moves it out: Dr borrower_payout_clearing(loan) / Cr gateway_clearing (idempotent per
  reference; the clearing account may not go below zero, so more than is held can never leave).
  A refund the gateway refuses, or with no bank account or no gateway, leaves the money held as
  credit, and the borrower is told.

Why refund by default: a repaid loan has nothing left for a credit to pay, so holding it keeps
the borrower's money for no purpose; the destination is an account the gateway has already paid
once. Clients that net credits against a later loan choose ``hold_credit``.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.credit.notifications import notify
from caas.events import outbox
from caas.ledger import operations as ledger
from caas.loans.models import Loan, LoanRefund, Repayment
from caas.money import describe
from caas.payments.gateways import GatewayError, Recipient, TransferRequest, TransferResult, TransferStatus
from caas.payments.routing import NoRoute, Router
from caas.tenancy.models import CreditPolicy

log = logging.getLogger(__name__)
POLICIES = ("refund", "hold_credit")
VERIFY_AGAIN_AFTER = timedelta(seconds=30)


class RefundPending(Exception):
    """The gateway cannot say yet (unreachable, ambiguous, or the transfer is still pending)."""


def reference_for(repayment: Repayment) -> str:
    return f"caas-rf-{repayment.id.hex[:24]}"


def settle_overpayment(session: Session, loan: Loan, repayment: Repayment) -> LoanRefund | None:
    """After ``repayment`` closed the loan (or reached a closed one) with ``loan.credit_minor``
    left: by the policy, refund it (a pending refund and its job, sent after commit) or hold it.
    The caller holds the loan's row lock. Flushes, never commits."""
    from caas.payments.payouts import bank_account_for

    amount = loan.credit_minor
    if amount <= 0:
        return None
    policy = session.get(CreditPolicy, loan.client_id)
    if policy is None or policy.overpayment != "refund":
        notify(session, loan.client_id, loan.borrower_id,
               f"You paid {describe(amount, loan.currency)} more than your loan needed. We hold it for you as a "
               f"credit; ask us if you would like it back.", link=f"/loans/{loan.id}")
        return None
    account = bank_account_for(session, loan.borrower_id, loan.currency)
    if account is None:
        notify(session, loan.client_id, loan.borrower_id,
               f"You paid {describe(amount, loan.currency)} more than your loan needed. Add a bank account in "
               f"{loan.currency} and we will send it back; until then we hold it for you.", link=f"/loans/{loan.id}")
        return None
    refund = LoanRefund(id=uuid.uuid4(), client_id=loan.client_id, loan_id=loan.id, repayment_id=repayment.id,
                        status="pending", currency=loan.currency, amount_minor=amount,
                        reference=reference_for(repayment),
                        recipient={"name": account.account_name, "bank_code": account.bank_code,
                                   "account_number": account.account_number, "currency": account.currency})
    session.add(refund)
    loan.credit_minor = 0  # it is on its way back; held again if the refund fails
    session.flush()
    _enqueue(session, refund)
    notify(session, loan.client_id, loan.borrower_id,
           f"You paid {describe(amount, loan.currency)} more than your loan needed. We are sending it back to your "
           f"account ending {account.account_number[-4:]}.", link=f"/loans/{loan.id}")
    return refund


def _enqueue(session: Session, refund: LoanRefund, *, run_at: datetime | None = None, tag: str = "") -> None:
    outbox.enqueue_job(session, "caas.loans.jobs.process_refund", queue="payouts", args=[str(refund.id)],
                       job_id=f"refund-{refund.id}{tag}", client_id=refund.client_id, timeout=120, run_at=run_at)


def lock(session: Session, refund_id: uuid.UUID) -> LoanRefund | None:
    return session.scalar(select(LoanRefund).where(LoanRefund.id == refund_id).with_for_update()
                          .execution_options(populate_existing=True))


def _request(refund: LoanRefund) -> TransferRequest:
    r = refund.recipient
    return TransferRequest(reference=refund.reference, amount_minor=refund.amount_minor, currency=refund.currency,
                           recipient=Recipient(name=r["name"], currency=r["currency"],
                                               account_number=r["account_number"], bank_code=r["bank_code"]),
                           narration=f"Refund of overpayment, loan {str(refund.loan_id)[:8]}")


def process(session: Session, refund_id: uuid.UUID, router: Router, now: datetime) -> str:
    """Send or resolve one refund (tenant in scope). Commits; raises ``RefundPending`` while the
    outcome is unknown, so the job retries."""
    refund = lock(session, refund_id)
    if refund is None:
        return "missing"
    if refund.status in ("succeeded", "failed"):
        done = refund.status
        session.rollback()
        return done
    request = _request(refund)
    if refund.status == "submitted" and refund.gateway:
        name = refund.gateway
        try:
            found = router.gateway(name).find_transfer(request)
        except GatewayError as exc:
            session.commit()
            raise RefundPending(f"{name} cannot say yet: {exc.message}") from exc
        if found is not None:
            return apply(session, refund, found, now)
        # definitely not at the gateway: send it there, with the same reference
    else:
        try:
            candidates = router.candidates(refund.currency)
        except NoRoute:
            candidates = []
        if not candidates:
            return _fail(session, refund, f"no payment gateway is configured for {refund.currency}")
        name = candidates[0]
        refund.status, refund.gateway = "submitted", name
        session.commit()  # the intent is durable before the gateway is called
        refund = lock(session, refund_id)
        if refund.status != "submitted" or refund.gateway != name:
            status = refund.status
            session.rollback()  # another delivery of the job owns it now
            return status
    try:
        result = router.gateway(name).initiate_transfer(request)
    except GatewayError as exc:
        if exc.ambiguous or exc.retryable:
            session.commit()
            raise RefundPending(f"{name}: {exc.message}") from exc
        return _fail(session, refund, f"{name} refused the refund: {exc.message}")
    return apply(session, refund, result, now)


def apply(session: Session, refund: LoanRefund, result: TransferResult, now: datetime) -> str:
    """What the gateway says about the refund, applied once (the caller holds its lock). Commits."""
    if result.reference != refund.reference:
        status = refund.status
        session.rollback()
        return status
    refund.gateway_id = result.gateway_id or refund.gateway_id
    if result.status == TransferStatus.succeeded:
        ledger.settle_payout(session, loan_id=refund.loan_id, gateway=refund.gateway or result.gateway,
                             amount_minor=refund.amount_minor, currency=refund.currency,
                             reference=refund.reference, occurred_at=now)
        refund.status, refund.settled_at = "succeeded", now
        loan = session.get(Loan, refund.loan_id)
        notify(session, refund.client_id, loan.borrower_id,
               f"We sent {describe(refund.amount_minor, refund.currency)} back to your bank account.",
               link=f"/loans/{loan.id}")
        session.commit()
        return refund.status
    if result.status in (TransferStatus.failed, TransferStatus.reversed):
        return _fail(session, refund, result.failure_reason or f"{result.gateway} reported a failure")
    _enqueue(session, refund, run_at=now + VERIFY_AGAIN_AFTER, tag=f"-v{int(now.timestamp())}")
    session.commit()
    return refund.status


def _fail(session: Session, refund: LoanRefund, reason: str) -> str:
    """The refund did not leave: the money is held as the loan's credit again."""
    loan = session.scalar(select(Loan).where(Loan.id == refund.loan_id).with_for_update(of=Loan)
                          .execution_options(populate_existing=True))
    refund.status, refund.failure_reason = "failed", reason[:500]
    loan.credit_minor += refund.amount_minor
    notify(session, refund.client_id, loan.borrower_id,
           f"We could not send {describe(refund.amount_minor, refund.currency)} back to your account. We hold it "
           f"for you as a credit; please check your bank account details.", link=f"/loans/{loan.id}")
    session.commit()
    return refund.status
