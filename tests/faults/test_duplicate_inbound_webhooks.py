"""Duplicate deliveries of every inbound webhook: each gateway the app knows (``GATEWAYS``) posts
the same signed event twice, one after the other and concurrently from two threads, to every
inbound webhook route (``/webhooks/<gateway>``, the only one in the URL map). Each event kind the
app applies is covered: a transfer settling a payout and a charge settling a borrower's
repayment. One delivery takes effect; the other is answered 200 "duplicate" and changes nothing.

Gateways signal at least once (Paystack retries for 72 h, Stripe for 3 days), and two deliveries of
one event can arrive together when a gateway retries while the first is still being processed.

The events are applied by reference, whichever gateway reports them, so the payouts and charges
are made through the sandbox and each gateway's event (its own envelope and signature) reports
them; the gateways' own adapters parse them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import text

from caas.core import tenant
from caas.loans import repayments
from caas.loans.models import Loan
from caas.payments import service
from caas.payments.gateways import GATEWAYS, gateway_from_config
from caas.payments.gateways.sandbox import SIGNATURE_HEADER as SANDBOX_HEADER
from caas.payments.routing import Router
from tests.helpers import BASE
from tests.loans.test_servicing_stories import _active_loan
from tests.payments.test_payouts import accepted, run as run_payout

pytestmark = pytest.mark.timeout(120)

SECRETS = {"paystack": "sk_test_dup_paystack", "flutterwave_hash": "dup-secret-hash", "stripe": "whsec_dup"}
PENDING_ACCOUNT = "0123456789"  # the sandbox leaves transfers to accounts ending in 9 pending


@pytest.fixture
def gateways():
    """Every known gateway configured, NGN paid through the sandbox (settled at once)."""
    settings = {"sandbox": {"settle_after": 0},
                "paystack": {"secret_key": SECRETS["paystack"]},
                "flutterwave": {"secret_key": "FLWSECK_TEST-dup", "secret_hash": SECRETS["flutterwave_hash"]},
                "stripe": {"secret_key": "sk_test_dup", "webhook_secret": SECRETS["stripe"]}}
    router = Router({name: gateway_from_config(name, settings[name]) for name in GATEWAYS}, {"NGN": ["sandbox"]})
    service.use(router)
    yield router
    service.use(None)


# --- each gateway's signed event ---------------------------------------------------------------------

def _sandbox(router, kind: str, reference: str, amount_minor: int) -> tuple[dict, bytes]:
    body = json.dumps({"event": f"{kind}.succeeded", "data": {
        "reference": reference, "status": "succeeded", "amount": amount_minor, "currency": "NGN",
        "id": f"{kind.upper()}_sandbox_dup"}}).encode()
    return {SANDBOX_HEADER: router.gateway("sandbox").sign(body)}, body


def _paystack(router, kind: str, reference: str, amount_minor: int) -> tuple[dict, bytes]:
    data = {"reference": reference, "amount": amount_minor, "currency": "NGN", "status": "success", "id": 9_001}
    if kind == "transfer":
        data["transfer_code"] = "TRF_dup"
    body = json.dumps({"event": f"{kind}.success", "data": data}).encode()
    return {"x-paystack-signature": hmac.new(SECRETS["paystack"].encode(), body, hashlib.sha512).hexdigest()}, body


def _flutterwave(router, kind: str, reference: str, amount_minor: int) -> tuple[dict, bytes]:
    data = {"id": 9_002, "status": "SUCCESSFUL", "amount": float(Decimal(amount_minor) / 100), "currency": "NGN",
            "reference" if kind == "transfer" else "tx_ref": reference}
    body = json.dumps({"event": f"{kind}.completed", "data": data}).encode()
    return {"verif-hash": SECRETS["flutterwave_hash"]}, body


def _stripe(router, kind: str, reference: str, amount_minor: int) -> tuple[dict, bytes]:
    event_type, obj = (("payout.paid", {"id": "po_dup", "object": "payout", "status": "paid"}) if kind == "transfer"
                       else ("payment_intent.succeeded", {"id": "pi_dup", "object": "payment_intent",
                                                          "status": "succeeded"}))
    obj.update(amount=amount_minor, currency="ngn", metadata={"reference": reference})
    body = json.dumps({"id": "evt_dup_1", "object": "event", "type": event_type, "data": {"object": obj}}).encode()
    t = int(time.time())
    signature = hmac.new(SECRETS["stripe"].encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={signature}"}, body


SIGNED = {"sandbox": _sandbox, "paystack": _paystack, "flutterwave": _flutterwave, "stripe": _stripe}


def test_every_gateway_and_every_inbound_webhook_route_is_covered(app):
    assert set(SIGNED) == set(GATEWAYS)
    inbound = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("webhooks.")}
    assert inbound == {"/webhooks/<gateway>"}


# --- the worlds: one settlement waiting for its event ------------------------------------------------

def _pending_payout(session) -> dict:
    client, _, loan, payout = accepted(session, account=PENDING_ACCOUNT)
    assert run_payout(session, client, payout) == "submitted"
    session.commit()
    tenant.reset()
    return {"client_id": client.id, "reference": payout.reference, "amount_minor": payout.amount_minor,
            "principal_minor": loan.principal_minor}


def _pending_repayment(session) -> dict:
    client, _, loan_id = _active_loan(session)
    with tenant.tenant_scope(client.id, session):
        loan = repayments.lock_loan(session, loan_id)
        on = session.get(Loan, loan_id).start_date
        amount = repayments.quote(session, loan, "instalment", on)
        repayment = repayments.start(session, loan, amount, "portal")
        session.commit()
        reference = repayment.reference
    tenant.reset()
    return {"client_id": client.id, "reference": reference, "amount_minor": amount}


def _effects(owner, world: dict) -> dict:
    """Everything one event may change, read as the owner."""
    ref = world["reference"]
    with owner.connect() as conn:
        one = lambda sql: conn.execute(text(sql), {"r": ref, "c": world["client_id"]}).scalar()  # noqa: E731
        return {
            "gateway_events": one("SELECT count(*) FROM gateway_events WHERE reference = :r"),
            "applied": one("SELECT count(*) FROM gateway_events WHERE reference = :r AND outcome = 'applied'"),
            "journal_entries": one("SELECT count(*) FROM journal_entries"),
            "ledger_total": one("SELECT coalesce(sum(debit_minor), 0) FROM journal_lines"),
            "events": one("SELECT count(*) FROM outbox WHERE client_id = :c AND kind = 'event'"),
            "jobs": one("SELECT count(DISTINCT job_id) FROM outbox WHERE client_id = :c"),
            "payout": one("SELECT status FROM payouts WHERE reference = :r"),
            "repayment": one("SELECT status FROM repayments WHERE reference = :r"),
            "paid_minor": one("SELECT coalesce(sum(paid_principal_minor + paid_interest_minor), 0) FROM loan_installments "
                              "WHERE client_id = :c"),
            "notifications": one("SELECT count(*) FROM notification_messages WHERE client_id = :c"),
        }


WORLDS = {"transfer": _pending_payout, "charge": _pending_repayment}
# What one event does: recorded once and applied; the payout's three postings (reserve → clearing →
# paid out) or the repayment's one; its domain event (credit.disbursement.completed /
# credit.repayment.received), which is also its one job; no notification before that event's dispatch.
ONE_EFFECT = {
    "transfer": {"gateway_events": 1, "applied": 1, "journal_entries": 3, "events": 1, "jobs": 1, "notifications": 0},
    "charge": {"gateway_events": 1, "applied": 1, "journal_entries": 1, "events": 1, "jobs": 1, "notifications": 0},
}


@pytest.mark.parametrize("mode", ["twice", "concurrently"])
@pytest.mark.parametrize("kind", list(WORLDS))
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_the_same_signed_event_delivered_twice_takes_effect_once(app, committed, owner, gateways, gateway, kind,
                                                                 mode):
    world = WORLDS[kind](committed)
    headers, body = SIGNED[gateway](gateways, kind, world["reference"], world["amount_minor"])
    before = _effects(owner, world)

    def deliver() -> dict:
        response = app.test_client().post(f"/webhooks/{gateway}", data=body, headers=headers, base_url=BASE)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    if mode == "twice":
        first = deliver()
        once = _effects(owner, world)
        second = deliver()
        answers = [first, second]
        assert _effects(owner, world) == once
    else:
        barrier = threading.Barrier(2)
        answers: list = []

        def racer():
            barrier.wait()
            answers.append(deliver())
        threads = [threading.Thread(target=racer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        once = _effects(owner, world)

    assert sorted(a["outcome"] for a in answers) == ["applied", "duplicate"]
    counted = ("gateway_events", "applied", "journal_entries", "events", "jobs", "notifications")
    assert {k: once[k] - before[k] for k in counted} == ONE_EFFECT[kind]
    if kind == "transfer":
        assert (before["payout"], once["payout"]) == ("submitted", "succeeded")
        # three postings of the principal (the fee is kept from the amount paid out)
        assert once["ledger_total"] - before["ledger_total"] == 3 * world["principal_minor"]
    else:
        assert (before["repayment"], once["repayment"]) == ("pending", "succeeded")
        assert once["paid_minor"] - before["paid_minor"] == world["amount_minor"]
        assert once["ledger_total"] - before["ledger_total"] >= world["amount_minor"]
