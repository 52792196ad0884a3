"""The Paystack adapter against the contract fake, over HTTP."""
from __future__ import annotations

import json

import pytest

from caas.payments.gateways import (GatewayError, InvalidSignature, PaystackGateway, Recipient, TransferRequest,
                                    TransferStatus)
from caas.payments.gateways.base import ChargeRequest
from tests.payments.conftest import SECRETS

ADA = Recipient(name="Ada Obi", currency="NGN", account_number="0123456789", bank_code="058")


def transfer(reference="po-1", amount=150_000, recipient=ADA, **kw):
    return TransferRequest(reference=reference, amount_minor=amount, currency="NGN", recipient=recipient,
                           narration="Loan payout", **kw)


def test_transfer_request_has_the_documented_shape(paystack, fake):
    result = paystack.initiate_transfer(transfer())

    recipient_call, transfer_call = fake.requests
    assert (recipient_call["method"], recipient_call["path"]) == ("POST", "/paystack/transferrecipient")
    assert json.loads(recipient_call["body"]) == {"type": "nuban", "name": "Ada Obi", "account_number": "0123456789",
                                                  "bank_code": "058", "currency": "NGN"}
    body = json.loads(transfer_call["body"])
    assert body == {"source": "balance", "amount": 150_000, "recipient": body["recipient"], "reason": "Loan payout",
                    "currency": "NGN", "reference": "po-1"}
    assert body["recipient"].startswith("RCP_")
    assert transfer_call["headers"]["Authorization"] == f"Bearer {SECRETS['paystack']}"
    assert (result.status, result.amount_minor, result.currency, result.reference) == (
        TransferStatus.pending, 150_000, "NGN", "po-1")
    assert result.gateway_id.startswith("TRF_")


def test_a_repeated_reference_pays_once(paystack, fake):
    first = paystack.initiate_transfer(transfer(reference="po-twice"))
    again = paystack.initiate_transfer(transfer(reference="po-twice"))
    assert again.gateway_id == first.gateway_id
    assert fake.count("paystack", "po-twice") == 1


def test_known_recipient_code_skips_recipient_creation(paystack, fake):
    code = paystack.create_recipient(ADA).recipient_code
    assert paystack.create_recipient(ADA).recipient_code == code  # duplicate account: the existing record
    fake.requests.clear()
    paystack.initiate_transfer(transfer(recipient_code=code))
    assert [r["path"] for r in fake.requests] == ["/paystack/transfer"]


@pytest.mark.parametrize("gateway_status, ours", [
    ("success", TransferStatus.succeeded), ("failed", TransferStatus.failed), ("reversed", TransferStatus.reversed),
    ("abandoned", TransferStatus.failed), ("otp", TransferStatus.pending), ("pending", TransferStatus.pending),
])
def test_verify_by_reference_maps_every_documented_status(paystack, fake, gateway_status, ours):
    paystack.initiate_transfer(transfer(reference="po-v"))
    fake.set_status("paystack", "po-v", gateway_status)
    first = paystack.verify_transfer("po-v")
    assert first.status is ours
    assert paystack.verify_transfer("po-v") == first  # verifying is repeatable and changes nothing
    assert fake.count("paystack", "po-v") == 1


def test_verify_of_an_unknown_reference_is_not_found(paystack):
    with pytest.raises(GatewayError) as error:
        paystack.verify_transfer("po-nope")
    assert (error.value.code, error.value.retryable) == ("not_found", False)


def test_outcome_set_for_the_account_comes_back(paystack, fake):
    fake.outcome["0123456780"] = "failed"
    result = paystack.initiate_transfer(transfer(recipient=Recipient("Bad", "NGN", "0123456780", "058")))
    assert result.status is TransferStatus.failed and result.failure_reason


def test_errors_carry_retry_flags(paystack, fake):
    with pytest.raises(GatewayError) as bad_reference:
        paystack.initiate_transfer(transfer(reference="PO UPPER"))
    assert (bad_reference.value.code, bad_reference.value.retryable) == ("invalid_reference", False)

    fake.balance[("paystack", "NGN")] = 100
    with pytest.raises(GatewayError) as short:
        paystack.initiate_transfer(transfer(reference="po-short"))
    assert (short.value.code, short.value.retryable, short.value.ambiguous) == (
        "insufficient_gateway_balance", True, False)
    assert fake.count("paystack", "po-short") == 0

    fake.balance.clear()
    fake.fail("paystack", "POST", "/transfer", status=503)
    with pytest.raises(GatewayError) as down:
        paystack.initiate_transfer(transfer(reference="po-503"))
    assert (down.value.code, down.value.retryable, down.value.ambiguous) == ("gateway_unavailable", True, True)


def test_a_timeout_after_execution_is_ambiguous_and_resolved_by_reference(paystack, fake):
    fake.hang("paystack", "POST", "/transfer", seconds=1.0)
    with pytest.raises(GatewayError) as lost:
        paystack.initiate_transfer(transfer(reference="po-lost"))
    assert (lost.value.code, lost.value.retryable, lost.value.ambiguous) == ("timeout", True, True)
    found = paystack.find_transfer(transfer(reference="po-lost"))
    assert found is not None and found.reference == "po-lost"
    assert fake.count("paystack", "po-lost") == 1


def test_wrong_secret_is_a_gateway_auth_error(fake):
    gateway = PaystackGateway(secret_key="sk_wrong", base_url=fake.base_url("paystack"), timeout=0.5)
    with pytest.raises(GatewayError) as error:
        gateway.verify_transfer("po-x")
    assert (error.value.code, error.value.status_code) == ("gateway_auth", 401)


def test_unreachable_gateway_is_retryable_and_not_ambiguous():
    gateway = PaystackGateway(secret_key="sk", base_url="http://127.0.0.1:9", timeout=0.5)
    with pytest.raises(GatewayError) as error:
        gateway.initiate_transfer(transfer(recipient_code="RCP_x"))
    assert (error.value.code, error.value.retryable, error.value.ambiguous) == ("network", True, False)


def test_charge_authorization(paystack, fake):
    ok = paystack.charge_authorization(ChargeRequest("rp-1", 52_500, "NGN", "AUTH_abc1", "ada@example.com"))
    declined = paystack.charge_authorization(ChargeRequest("rp-2", 52_500, "NGN", "AUTH_abc0", "ada@example.com"))
    assert (ok.status, ok.amount_minor) == (TransferStatus.succeeded, 52_500)
    assert declined.status is TransferStatus.failed
    assert json.loads(fake.requests[0]["body"])["authorization_code"] == "AUTH_abc1"


@pytest.mark.parametrize("event, status", [("transfer.success", TransferStatus.succeeded),
                                           ("transfer.failed", TransferStatus.failed),
                                           ("transfer.reversed", TransferStatus.reversed)])
def test_webhooks_verify_and_parse(paystack, fake, event, status):
    headers, body = fake.paystack_webhook(event, {"reference": "po-9", "amount": 150_000, "currency": "NGN",
                                                  "transfer_code": "TRF_9", "status": event.split(".")[1]})
    parsed = paystack.parse_webhook(headers, body)
    assert (parsed.event_type, parsed.reference, parsed.status, parsed.amount_minor, parsed.gateway_id) == (
        event, "po-9", status, 150_000, "TRF_9")
    with pytest.raises(InvalidSignature):
        paystack.parse_webhook(headers, body.replace(b"150000", b"999999"))


def test_account_lookup_names_the_holder_and_refuses_an_unknown_account(paystack, fake):
    assert paystack.resolve_account("0123456789", "058") == "FAKE ACCOUNT HOLDER"
    request = fake.requests[-1]
    assert request["method"] == "GET" and request["path"].endswith("/bank/resolve")
    assert request["query"] == {"account_number": "0123456789", "bank_code": "058"}
    with pytest.raises(GatewayError) as unknown:
        paystack.resolve_account("0123450000", "058")
    assert unknown.value.code == "account_not_found" and not unknown.value.retryable
