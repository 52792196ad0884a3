"""The Stripe adapter against the contract fake, over HTTP: payouts, Connect transfers, idempotency."""
from __future__ import annotations

import time
from urllib.parse import parse_qsl

import pytest

from caas.payments.gateways import GatewayError, InvalidSignature, Recipient, TransferRequest, TransferStatus
from caas.payments.gateways.base import ChargeRequest
from tests.payments.conftest import SECRETS

BANK = Recipient(name="Carol", currency="USD", destination="ba_1Carol")
CONNECTED = Recipient(name="Dan's Lending", currency="USD", destination="acct_1Dan")


def transfer(reference="st-1", amount=12_345, recipient=BANK, currency="USD"):
    return TransferRequest(reference=reference, amount_minor=amount, currency=currency, recipient=recipient,
                           narration="Loan payout")


def form(call) -> dict:
    return dict(parse_qsl(call["body"].decode()))


def test_payout_request_shape_and_idempotency_key(stripe, fake):
    result = stripe.initiate_transfer(transfer())

    [call] = fake.requests
    assert (call["method"], call["path"]) == ("POST", "/stripe/v1/payouts")
    assert call["headers"]["Idempotency-Key"] == "st-1"
    assert call["headers"]["Authorization"] == f"Bearer {SECRETS['stripe']}"
    assert call["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert form(call) == {"amount": "12345", "currency": "usd", "description": "Loan payout",
                          "metadata[reference]": "st-1", "destination": "ba_1Carol", "method": "standard"}
    assert (result.status, result.amount_minor, result.currency, result.reference) == (
        TransferStatus.pending, 12_345, "USD", "st-1")
    assert result.gateway_id.startswith("po_")


def test_connected_account_gets_a_transfer(stripe, fake):
    result = stripe.initiate_transfer(transfer(reference="st-acct", recipient=CONNECTED, currency="EUR"))
    [call] = fake.requests
    assert call["path"] == "/stripe/v1/transfers"
    assert form(call)["destination"] == "acct_1Dan" and form(call)["currency"] == "eur"
    assert result.status is TransferStatus.succeeded and result.gateway_id.startswith("tr_")


def test_the_same_key_replays_the_saved_answer_and_pays_once(stripe, fake):
    first = stripe.initiate_transfer(transfer(reference="st-twice"))
    again = stripe.initiate_transfer(transfer(reference="st-twice"))
    assert again.gateway_id == first.gateway_id
    assert fake.count("stripe", "st-twice") == 1


def test_the_same_key_with_other_parameters_is_refused(stripe, fake):
    stripe.initiate_transfer(transfer(reference="st-k"))
    with pytest.raises(GatewayError) as error:
        stripe.initiate_transfer(transfer(reference="st-k", amount=99_999))
    assert (error.value.code, error.value.retryable) == ("idempotency_conflict", False)
    assert fake.count("stripe", "st-k") == 1


@pytest.mark.parametrize("gateway_status, ours", [("paid", TransferStatus.succeeded),
                                                  ("in_transit", TransferStatus.pending),
                                                  ("failed", TransferStatus.failed),
                                                  ("canceled", TransferStatus.failed)])
def test_verify_needs_the_stripe_id(stripe, fake, gateway_status, ours):
    created = stripe.initiate_transfer(transfer(reference="st-v"))
    fake.set_status("stripe", "st-v", gateway_status)
    assert stripe.verify_transfer("st-v", gateway_id=created.gateway_id).status is ours
    with pytest.raises(GatewayError) as error:
        stripe.verify_transfer("st-v")
    assert error.value.code == "gateway_id_required"


def test_lost_answer_is_recovered_by_replaying_the_key(stripe, fake):
    fake.hang("stripe", "POST", "/payouts", seconds=1.0)
    with pytest.raises(GatewayError) as lost:
        stripe.initiate_transfer(transfer(reference="st-lost"))
    assert lost.value.ambiguous
    found = stripe.find_transfer(transfer(reference="st-lost"))
    assert found is not None and found.reference == "st-lost"
    assert fake.count("stripe", "st-lost") == 1


def test_a_saved_500_is_replayed_so_the_outcome_stays_unknown(stripe, fake):
    fake.fail("stripe", "POST", "/payouts", status=500, when="after")
    with pytest.raises(GatewayError):
        stripe.initiate_transfer(transfer(reference="st-500"))
    with pytest.raises(GatewayError) as replayed:
        stripe.find_transfer(transfer(reference="st-500"))
    assert replayed.value.ambiguous  # Stripe replays the saved 500: no one may pay elsewhere
    assert fake.count("stripe", "st-500") == 1


def test_insufficient_stripe_balance_is_retryable_elsewhere(stripe, fake):
    fake.balance[("stripe", "USD")] = 100
    with pytest.raises(GatewayError) as error:
        stripe.initiate_transfer(transfer(reference="st-short"))
    assert (error.value.code, error.value.retryable, error.value.ambiguous) == (
        "insufficient_gateway_balance", True, False)


def test_payment_intent_charge(stripe, fake):
    ok = stripe.charge_authorization(ChargeRequest("rp-1", 2_000, "USD", "pm_card_1", "c@example.com",
                                                   customer="cus_1"))
    declined = stripe.charge_authorization(ChargeRequest("rp-2", 2_000, "USD", "pm_card_0", "c@example.com",
                                                         customer="cus_1"))
    assert ok.status is TransferStatus.succeeded and ok.gateway_id.startswith("pi_")
    assert (declined.status, declined.failure_reason) == (TransferStatus.failed, "Your card was declined.")
    assert form(fake.requests[0])["off_session"] == "true"


def test_webhook_verifies_and_parses(stripe, fake):
    obj = {"id": "po_9", "object": "payout", "amount": 12_345, "currency": "usd", "status": "paid",
           "metadata": {"reference": "st-9"}}
    headers, body = fake.stripe_webhook("payout.paid", obj, extra_v1=["0" * 64])  # a rotated-secret signature too
    event = stripe.parse_webhook(headers, body)
    assert (event.event_type, event.reference, event.status, event.amount_minor, event.currency) == (
        "payout.paid", "st-9", TransferStatus.succeeded, 12_345, "USD")

    old_headers, old_body = fake.stripe_webhook("payout.failed", obj, timestamp=int(time.time()) - 301)
    with pytest.raises(InvalidSignature, match="older"):
        stripe.parse_webhook(old_headers, old_body)
    with pytest.raises(InvalidSignature):
        stripe.parse_webhook(headers, body.replace(b"12345", b"99999"))
