"""A gateway timing out, answering 500, or answering after our timeout, through the payout flow
(``payouts.process``, its retries, the inbound webhook and reconciliation) against the fake
Paystack over HTTP. NGN routes to Paystack, then Flutterwave: an ambiguous answer must be resolved
at Paystack by reference, never by paying through Flutterwave.

Each case ends in exactly one correct final state; the fake executed at most one transfer per
reference (exactly one for a success); one disbursement event; the books balance.

Already covered elsewhere and not repeated here: the adapters' mapping of timeouts and 5xx onto
``ambiguous`` (tests/payments/test_*_contract.py), workers SIGKILLed between the gateway call and
the commit (tests/payments/test_payout_faults.py), and duplicate webhooks, outages and the last try
on the sandbox (tests/payments/test_payouts.py).
"""
from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from caas.core import tenant
from caas.events.models import OutboxMessage
from caas.ledger import operations as ledger
from caas.ledger.models import JournalEntry
from caas.ledger.reports import trial_balance
from caas.market import acceptance, bids
from caas.payments import payouts, service
from caas.payments.gateways import FlutterwaveGateway, PaystackGateway
from caas.payments.models import Payout, PayoutCall
from caas.payments.routing import Router
from caas.payments.states import PayoutState as P
from tests import factories
from tests.helpers import BASE
from tests.market.world import NOW, bid_input, lender, open_application
from tests.payments.conftest import SECRETS, TIMEOUT

LATER = NOW + timedelta(hours=1)
LATE = TIMEOUT * 2  # the fake answers after our read timeout
PRINCIPAL = 250_000_00


@pytest.fixture
def gateways(fake):
    paystack = PaystackGateway(secret_key=SECRETS["paystack"], base_url=fake.base_url("paystack"), timeout=TIMEOUT)
    flutterwave = FlutterwaveGateway(secret_key=SECRETS["flutterwave_v3"], secret_hash=SECRETS["flutterwave_hash"],
                                     base_url=fake.base_url("flutterwave_v3"), timeout=TIMEOUT)
    service.use(Router({"paystack": paystack, "flutterwave": flutterwave}, {"NGN": ["paystack", "flutterwave"]}))
    yield fake
    service.use(None)
    paystack.close()
    flutterwave.close()


def accepted(db, account: str):
    """An accepted NGN 250,000.00 loan whose payout goes to ``account``; (client, provider, payout)."""
    client = factories.client(db)
    provider = lender(db, client, funds_minor=1_000_000_00)
    opened = open_application(db, client, bank_account=account)
    with tenant.provider_scope(provider.id, db):
        bid = bids.place(db, factories.SYSTEM, provider.id, opened.listing_id, bid_input(), NOW)
    with tenant.tenant_scope(client.id, db):
        loan = acceptance.accept(db, factories.SYSTEM, application_id=opened.application_id, bid_id=bid.id,
                                 typed_name="Adaeze Okoro", consent=True, agreement_sha256=None, channel="portal",
                                 ip_address=None, now=NOW, borrower_id=opened.borrower_id)
        payout = payouts.for_loan(db, loan.id)
        made = SimpleNamespace(id=payout.id, reference=payout.reference)  # plain values outlive the session
    db.commit()
    return client, provider, made


def run(db, client, payout_id, now=LATER) -> str:
    """One run of the payout job; "pending" when it raised PayoutPending (RQ would retry it)."""
    with tenant.tenant_scope(client.id, db):
        try:
            return payouts.process(db, payout_id, service.router(), now)
        except payouts.PayoutPending:
            return "pending"


def state(db, client, payout_id):
    with tenant.tenant_scope(client.id, db):
        payout = db.get(Payout, payout_id, populate_existing=True)
        calls = [(c.operation, c.outcome) for c in db.scalars(
            select(PayoutCall).where(PayoutCall.payout_id == payout_id).order_by(PayoutCall.at))]
        events = db.scalars(select(OutboxMessage.event_type).where(
            OutboxMessage.event_type.like("credit.disbursement.%"))).all()
        return payout.status, calls, sorted(events)


def transfer_posts(fake, reference: str) -> int:
    return sum(1 for r in fake.requests if r["gateway"] == "paystack" and r["method"] == "POST"
               and r["path"].endswith("/transfer") and json.loads(r["body"])["reference"] == reference)


def assert_settled_once(db, fake, client, provider, payout, status: P) -> None:
    """One final state, one transfer at most at the gateway, nothing at the other one, one event,
    the reservation spent on success and kept on failure, and the books balanced."""
    final, _, events = state(db, client, payout.id)
    assert final == status
    assert fake.count("paystack", payout.reference) == 1  # the one transfer, succeeded or refused there
    assert not [r for r in fake.requests if r["gateway"] == "flutterwave_v3"]  # never failed over
    assert events == ["credit.disbursement.completed" if status == P.succeeded else "credit.disbursement.failed"]
    funds = ledger.provider_funds(db, provider.id, "NGN")
    assert funds.reserved_minor == (0 if status == P.succeeded else PRINCIPAL)
    settled = db.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.idempotency_key.like(f"payout:%{payout.reference}%")))
    assert settled == (1 if status == P.succeeded else 0)  # one settlement entry, never two
    balances = trial_balance(db)
    assert balances and all(tb.difference_minor == 0 for tb in balances)


# Each case: the fault on the transfer call, the account's outcome at the gateway, how many times
# the transfer was sent, and the calls the payout records (the verify before any resend).
CASES = {
    "timeout, executed at the gateway": dict(
        fault=lambda f: f.hang("paystack", "POST", "/transfer", LATE), outcome="success", posts=1,
        calls=[("initiate", "error"), ("verify", "succeeded")]),
    "timeout, never executed": dict(
        fault=lambda f: f.stall("paystack", "POST", "/transfer", LATE), outcome="success", posts=2,
        calls=[("initiate", "error"), ("verify", "not_found"), ("initiate", "succeeded")]),
    "500 before executing": dict(
        fault=lambda f: f.fail("paystack", "POST", "/transfer", status=500), outcome="success", posts=2,
        calls=[("initiate", "error"), ("verify", "not_found"), ("initiate", "succeeded")]),
    "500 after executing": dict(
        fault=lambda f: f.fail("paystack", "POST", "/transfer", status=500, when="after"), outcome="success",
        posts=1, calls=[("initiate", "error"), ("verify", "succeeded")]),
    "500 after executing a transfer the bank refused": dict(
        fault=lambda f: f.fail("paystack", "POST", "/transfer", status=502, when="after"), outcome="failed",
        posts=1, calls=[("initiate", "error"), ("verify", "failed")]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_ambiguous_transfer_call_is_resolved_by_reference_at_the_same_gateway(db, gateways, case):
    fake, spec = gateways, CASES[case]
    account = "0123456781"
    fake.outcome[account] = spec["outcome"]
    client, provider, payout = accepted(db, account)
    spec["fault"](fake)

    assert run(db, client, payout.id) == "pending"  # the outcome is unknown: the job retries
    status, calls, events = state(db, client, payout.id)
    assert status == P.submitted and calls == [("initiate", "error")] and events == []
    with tenant.tenant_scope(client.id, db):
        assert db.get(Payout, payout.id).gateway == "paystack"  # it stays at the gateway that may have it

    final = run(db, client, payout.id, now=LATER + timedelta(seconds=10))  # RQ's first retry
    expected = P.succeeded if spec["outcome"] == "success" else P.failed
    assert final == expected.value
    assert run(db, client, payout.id, now=LATER + timedelta(seconds=70)) == expected.value  # a duplicate: no-op
    assert transfer_posts(fake, payout.reference) == spec["posts"]
    assert state(db, client, payout.id)[1] == spec["calls"]
    assert_settled_once(db, fake, client, provider, payout, expected)


def test_a_verify_that_times_out_too_sends_nothing_until_the_gateway_can_say(db, gateways):
    fake = gateways
    fake.outcome["0123456781"] = "success"
    client, provider, payout = accepted(db, "0123456781")
    fake.hang("paystack", "POST", "/transfer", LATE)
    fake.hang("paystack", "GET", f"/transfer/verify/{payout.reference}", LATE, times=2)
    assert run(db, client, payout.id) == "pending"
    assert run(db, client, payout.id) == "pending"  # the verify timed out: no resend, no failover
    counts = payouts.reconcile(db, service.router(), LATER + timedelta(minutes=5))
    assert counts["resolved"] == 0 and counts["flagged"] == 0  # reconciliation could not ask either
    assert transfer_posts(fake, payout.reference) == 1
    counts = payouts.reconcile(db, service.router(), LATER + timedelta(minutes=10))  # the gateway answers
    assert counts["resolved"] == 1
    assert state(db, client, payout.id)[1] == [("initiate", "error"), ("verify", "error"), ("reconcile", "succeeded")]
    assert_settled_once(db, fake, client, provider, payout, P.succeeded)


def test_a_late_answer_pending_at_the_gateway_then_its_webhook_settle_the_payout_once(db, client, gateways):
    """The transfer is answered after our timeout and is still pending at the gateway; the retry's
    verify finds it pending and sends nothing; the gateway's webhook then says it succeeded (twice,
    as gateways do), and reconciliation afterwards agrees."""
    fake = gateways
    fake.outcome["0123456781"] = "pending"
    client_, provider, payout = accepted(db, "0123456781")
    fake.hang("paystack", "POST", "/transfer", LATE)
    assert run(db, client_, payout.id) == "pending"
    assert run(db, client_, payout.id, now=LATER + timedelta(seconds=10)) == "submitted"  # pending there
    fake.set_status("paystack", payout.reference, "success")
    data = dict(fake.transfers[("paystack", payout.reference)])
    headers, body = fake.paystack_webhook("transfer.success", data)
    first = client.post("/webhooks/paystack", data=body, headers=headers, base_url=BASE)
    again = client.post("/webhooks/paystack", data=body, headers=headers, base_url=BASE)
    assert first.get_json()["outcome"] == "applied" and again.get_json()["outcome"] == "duplicate"
    assert run(db, client_, payout.id, now=LATER + timedelta(seconds=40)) == "succeeded"  # the scheduled re-verify
    counts = payouts.reconcile(db, service.router(), LATER + timedelta(minutes=5))
    assert counts["flagged"] == 0 and counts["resolved"] == 0
    assert transfer_posts(fake, payout.reference) == 1
    assert_settled_once(db, fake, client_, provider, payout, P.succeeded)
