"""Payouts end to end on real PostgreSQL: acceptance creates the payout; the job pays it once
through the sandbox gateway; failures, retries, pending transfers, crashes between the gateway
call and the commit, duplicate jobs, inbound webhooks and reconciliation."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from caas.core import tenant
from caas.core.errors import DomainError
from caas.credit.models import Application, ApplicationStatus as S
from caas.events.models import OutboxMessage
from caas.ledger import operations as ledger
from caas.ledger.models import AccountKind
from caas.ledger.reports import trial_balance
from caas.loans.models import Loan, LoanInstallment, LoanStatus
from caas.market import acceptance, bids
from caas.payments import payouts, service
from caas.payments.gateways import SandboxGateway
from caas.payments.models import GatewayEvent, Payout, PayoutCall
from caas.payments.routing import Router
from caas.payments.states import PayoutState as P
from tests import factories
from tests.helpers import BASE
from tests.market.world import NOW, bid_input, lender, open_application

LATER = NOW + timedelta(hours=1)


class CountingSandbox(SandboxGateway):
    """The sandbox, counting the transfers it really executed (its own store is the truth)."""

    def __init__(self, **kw):
        super().__init__(settle_after=0, **kw)
        self.initiated = 0
        self.crash_after_call = False

    def initiate_transfer(self, request):
        result = super().initiate_transfer(request)
        self.initiated += 1
        if self.crash_after_call:
            self.crash_after_call = False
            raise SystemExit("worker killed between the gateway call and the commit")
        return result


@pytest.fixture
def sandbox():
    gateway = CountingSandbox()
    service.use(Router({"sandbox": gateway}))
    yield gateway
    service.use(None)


def accepted(db, account: str = "0123456781", fee_minor: int = 2_500_00):
    """A loan of NGN 250,000.00 accepted from a funded lender; returns (client, provider, loan, payout)."""
    client = factories.client(db)
    provider = lender(db, client, funds_minor=1_000_000_00)
    opened = open_application(db, client, bank_account=account)
    with tenant.provider_scope(provider.id, db):
        bid = bids.place(db, factories.SYSTEM, provider.id, opened.listing_id, bid_input(fee_minor=fee_minor), NOW)
    with tenant.tenant_scope(client.id, db):
        loan = acceptance.accept(db, factories.SYSTEM, application_id=opened.application_id, bid_id=bid.id,
                                 typed_name="Adaeze Okoro", consent=True, agreement_sha256=None, channel="portal",
                                 ip_address=None, now=NOW, borrower_id=opened.borrower_id)
        payout = payouts.for_loan(db, loan.id)
    db.commit()
    return client, provider, loan, payout


def run(db, client, payout, now=LATER):
    payout_id = getattr(payout, "id", payout)
    with tenant.tenant_scope(client.id, db):
        return payouts.process(db, payout_id, service.router(), now)


def reload(db, client, model, ident):
    with tenant.tenant_scope(client.id, db):
        return db.get(model, ident, populate_existing=True)


def events(db, client, event_type):
    with tenant.tenant_scope(client.id, db):
        return db.scalars(select(OutboxMessage).where(OutboxMessage.event_type == event_type)).all()


def test_acceptance_creates_a_pending_payout_with_its_job(db, sandbox):
    client, _, loan, payout = accepted(db)
    assert payout.status == P.pending and payout.attempt == 1
    assert payout.amount_minor == 250_000_00 - 2_500_00  # the fee is withheld from the payout
    assert payout.reference == f"caas-po-{loan.id.hex[:24]}-1"
    assert payout.recipient["account_number"] == "0123456781"
    with tenant.tenant_scope(client.id, db):
        job = db.scalar(select(OutboxMessage).where(OutboxMessage.func == "caas.payments.jobs.process_payout"))
    assert job.queue == "payouts" and job.args == [str(payout.id)]


def test_acceptance_without_a_bank_account_is_refused(db, sandbox):
    with pytest.raises(DomainError) as refused:
        accepted(db, account=None)
    assert refused.value.code == "bank_account_required" and refused.value.field == "bank_account"


def test_a_currency_no_gateway_handles_is_refused_at_creation(db):
    service.use(Router({}))
    try:
        with pytest.raises(DomainError) as refused:
            accepted(db)
        assert refused.value.code == "no_gateway_for_currency"
    finally:
        service.use(None)


def test_a_successful_payout_posts_the_ledger_activates_the_loan_and_emits_the_event(db, sandbox):
    client, provider, loan, payout = accepted(db)
    assert run(db, client, payout) == "succeeded"
    payout = reload(db, client, Payout, payout.id)
    assert payout.gateway == "sandbox" and payout.settled_at == LATER
    funds = ledger.provider_funds(db, provider.id, "NGN")
    # 1,000,000 funded; 250,000 lent; the 2,500 fee withheld from the payout comes back to the lender
    assert (funds.available_minor, funds.reserved_minor) == (752_500_00, 0)
    assert ledger.balance_of(db, AccountKind.provider_loans, provider.id, "NGN") == 250_000_00
    assert ledger.balance_of(db, AccountKind.loan_receivable, loan.id, "NGN") == 250_000_00
    assert ledger.balance_of(db, AccountKind.borrower_payout_clearing, loan.id, "NGN") == 0
    assert all(tb.difference_minor == 0 for tb in trial_balance(db))
    loan = reload(db, client, Loan, loan.id)
    assert loan.status == LoanStatus.active and loan.start_date == LATER.date()
    with tenant.tenant_scope(client.id, db):
        first = db.scalar(select(LoanInstallment).where(LoanInstallment.loan_id == loan.id,
                                                        LoanInstallment.number == 1))
        assert first.due_date == date(2026, 12, 22)  # one month after the disbursement day
        assert db.get(Application, loan.application_id).status == S.active
    [completed] = events(db, client, "credit.disbursement.completed")
    assert completed.payload["amount"] == "247500.00" and completed.payload["loan"]["status"] == "active"


def test_the_fee_goes_to_platform_revenue_when_the_product_says_so(app, db, sandbox):
    app.config["ORIGINATION_FEE_TO"] = "platform"
    try:
        client, provider, loan, payout = accepted(db)
        run(db, client, payout)
    finally:
        app.config["ORIGINATION_FEE_TO"] = "provider"
    assert ledger.balance_of(db, AccountKind.platform_fee_revenue, "platform", "NGN") == 2_500_00
    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 750_000_00


def test_running_the_job_twice_pays_once(db, sandbox):
    client, _, _, payout = accepted(db)
    assert run(db, client, payout) == "succeeded"
    assert run(db, client, payout) == "succeeded"
    assert sandbox.initiated == 1
    assert len(events(db, client, "credit.disbursement.completed")) == 1


def test_a_worker_killed_between_the_gateway_call_and_the_commit_pays_exactly_once(db, sandbox):
    client, provider, _, payout = accepted(db)
    client_id, payout = client.id, payout.id  # plain ids survive the rollback below
    sandbox.crash_after_call = True
    with pytest.raises(SystemExit):
        run(db, client, payout)
    db.rollback()
    stuck = reload(db, client, Payout, payout)
    assert stuck.status == P.submitted and stuck.gateway == "sandbox"  # the intent was committed first
    assert run(db, client, payout) == "succeeded"  # the next run asks the gateway before sending
    assert sandbox.initiated == 1 and len(sandbox.store._records) == 1
    assert ledger.provider_funds(db, provider.id, "NGN").reserved_minor == 0


def test_a_refused_account_fails_the_payout_keeps_the_reservation_and_an_admin_retry_makes_a_new_attempt(db, sandbox):
    client, provider, _, payout = accepted(db, account="0123456780")  # the sandbox rejects accounts ending in 0
    assert run(db, client, payout) == "failed"
    payout = reload(db, client, Payout, payout.id)
    assert "account rejected" in payout.failure_reason
    assert ledger.provider_funds(db, provider.id, "NGN").reserved_minor == 250_000_00  # still reserved
    assert len(events(db, client, "credit.disbursement.failed")) == 1
    with tenant.tenant_scope(client.id, db):
        retried = payouts.retry(db, factories.SYSTEM, payout.id)
        db.commit()
    assert retried.attempt == 2 and retried.reference.endswith("-2") and retried.status == P.submitted
    assert [e.to_state for e in reload(db, client, Payout, payout.id).history] == [
        "pending", "submitted", "failed", "submitted"]


def test_a_gateway_outage_leaves_the_payout_submitted_and_the_last_try_fails_it(db, sandbox):
    client, _, _, payout = accepted(db, account="0123456788")  # the sandbox is "down" for accounts ending in 8
    with pytest.raises(payouts.PayoutPending):
        run(db, client, payout)
    with pytest.raises(payouts.PayoutPending):
        run(db, client, payout)
    with tenant.tenant_scope(client.id, db):
        assert payouts.finally_failed(db, payout.id, service.router(), LATER) == "failed"
        calls = db.scalars(select(PayoutCall.outcome).where(PayoutCall.payout_id == payout.id)).all()
    assert calls.count("error") == 2 and "not_found" in calls  # verified before sending again
    assert sandbox.initiated == 0


def test_a_pending_transfer_is_verified_later(db, sandbox):
    client, _, _, payout = accepted(db, account="0123456789")  # pending, settles on a later verify
    assert run(db, client, payout) == "submitted"
    with tenant.tenant_scope(client.id, db):
        again = db.scalars(select(OutboxMessage.run_at).where(OutboxMessage.func == "caas.payments.jobs.process_payout",
                                                              OutboxMessage.run_at.is_not(None))).all()
    assert again == [LATER + payouts.VERIFY_AGAIN_AFTER]
    assert run(db, client, payout, now=LATER + timedelta(seconds=30)) == "succeeded"
    assert sandbox.initiated == 1


def test_an_inbound_webhook_settles_the_payout_once_and_a_bad_signature_changes_nothing(db, client, sandbox):
    client_, _, _, payout = accepted(db, account="0123456789")
    run(db, client_, payout)  # pending at the gateway
    headers, body = sandbox.build_webhook(payout.reference)  # the sandbox settles it on this verify
    forged = client.post("/webhooks/sandbox", data=body, headers={"x-sandbox-signature": "0" * 64}, base_url=BASE)
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "invalid_signature"
    assert db.scalar(select(func.count()).select_from(GatewayEvent)) == 0
    first = client.post("/webhooks/sandbox", data=body, headers=headers, base_url=BASE)
    again = client.post("/webhooks/sandbox", data=body, headers=headers, base_url=BASE)
    assert first.get_json()["outcome"] == "applied" and again.get_json()["outcome"] == "duplicate"
    assert reload(db, client_, Payout, payout.id).status == P.succeeded
    assert len(events(db, client_, "credit.disbursement.completed")) == 1
    assert client.post("/webhooks/nosuch", data=body, base_url=BASE).status_code == 404


def test_reconciliation_resolves_a_stuck_payout_and_flags_disagreement(db, sandbox):
    client, _, _, payout = accepted(db)
    payout = payout.id
    sandbox.crash_after_call = True
    with pytest.raises(SystemExit):
        run(db, client, payout)
    db.rollback()
    counts = payouts.reconcile(db, service.router(), LATER + timedelta(minutes=5))
    assert counts["resolved"] == 1 and reload(db, client, Payout, payout).status == P.succeeded
    # the gateway forgets the transfer: a success here that the gateway does not know is flagged
    sandbox.store._records.clear()
    counts = payouts.reconcile(db, service.router(), LATER + timedelta(minutes=10))
    assert counts["flagged"] == 1
    assert reload(db, client, Payout, payout).mismatch == "succeeded here, unknown at the gateway"


def test_a_delivery_that_lost_the_payout_to_another_between_commit_and_lock_sends_nothing(db, sandbox, monkeypatch):
    """Another delivery of the job took the payout (and moved it to another gateway) between this
    one's intent commit and its re-lock: this one must not call any gateway."""
    client, _, _, payout = accepted(db)
    real_lock = payouts.lock
    calls = {"n": 0}

    def lock_after_a_rival(session, payout_id):
        calls["n"] += 1
        if calls["n"] == 2:  # the re-lock after the intent commit
            from sqlalchemy import text as sql

            session.execute(sql("UPDATE payouts SET gateway = 'paystack' WHERE id = :i"), {"i": payout_id})
        return real_lock(session, payout_id)

    monkeypatch.setattr(payouts, "lock", lock_after_a_rival)
    assert run(db, client, payout) == "submitted"
    assert sandbox.initiated == 0


def test_a_bank_account_the_gateway_does_not_know_is_refused_at_the_field(db, sandbox):
    client = factories.client(db)
    borrower = factories.borrower(db, client)
    with tenant.tenant_scope(client.id, db):
        with pytest.raises(DomainError) as refused:
            payouts.save_bank_account(db, borrower.id, client.id,
                                      payouts.BankDetails("NGN", "058", "0123456799", "Ada Obi"),
                                      router=service.router())
        assert refused.value.field == "account_number" and "no such account" in refused.value.message
        saved = payouts.save_bank_account(db, borrower.id, client.id,
                                          payouts.BankDetails("NGN", "058", "0123456781", "Ada Obi"),
                                          router=service.router())
        assert saved.account_number == "0123456781"
