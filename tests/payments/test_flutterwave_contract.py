"""The Flutterwave v3 adapter against the contract fake, over HTTP."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from caas.payments.gateways import GatewayError, InvalidSignature, Recipient, TransferRequest, TransferStatus
from caas.payments.gateways.base import ChargeRequest
from caas.payments.gateways.flutterwave import exact_json
from tests.payments.conftest import SECRETS

BISI = Recipient(name="Bisi Ade", currency="NGN", account_number="0690000040", bank_code="044")


def transfer(reference="fw-1", amount=550_025, currency="NGN", recipient=BISI):
    return TransferRequest(reference=reference, amount_minor=amount, currency=currency, recipient=recipient,
                           narration="Loan payout")


def test_amount_goes_out_in_major_units_exactly(flutterwave, fake):
    result = flutterwave.initiate_transfer(transfer())

    [call] = fake.requests
    assert (call["method"], call["path"]) == ("POST", "/flutterwave/v3/transfers")
    assert call["headers"]["Authorization"] == f"Bearer {SECRETS['flutterwave_v3']}"
    assert b'"amount": 5500.25' in call["body"]  # a number literal, not a string and not 5500.2500001
    body = json.loads(call["body"], parse_float=Decimal)
    assert body == {"account_bank": "044", "account_number": "0690000040", "amount": Decimal("5500.25"),
                    "currency": "NGN", "narration": "Loan payout", "reference": "fw-1", "beneficiary_name": "Bisi Ade",
                    "debit_currency": "NGN"}
    assert (result.status, result.amount_minor, result.currency) == (TransferStatus.pending, 550_025, "NGN")
    assert result.gateway_id is not None


def test_zero_decimal_currency_is_sent_as_an_integer(flutterwave, fake):
    result = flutterwave.initiate_transfer(transfer(amount=250_000, currency="UGX",
                                                    recipient=Recipient("Okello", "UGX", "0771234567", "MPS")))
    assert b'"amount": 250000,' in fake.requests[0]["body"]
    assert result.amount_minor == 250_000


def test_exact_json_never_rounds():
    assert exact_json({"a": Decimal("0.10"), "b": [Decimal("123456789012.34")]}) == b'{"a": 0.10, "b": [123456789012.34]}'


def test_a_repeated_reference_pays_once_and_returns_the_first_transfer(flutterwave, fake):
    first = flutterwave.initiate_transfer(transfer(reference="fw-twice"))
    again = flutterwave.initiate_transfer(transfer(reference="fw-twice"))
    assert again.gateway_id == first.gateway_id
    assert fake.count("flutterwave_v3", "fw-twice") == 1


@pytest.mark.parametrize("gateway_status, ours", [("SUCCESSFUL", TransferStatus.succeeded),
                                                  ("FAILED", TransferStatus.failed),
                                                  ("NEW", TransferStatus.pending)])
def test_verify_by_reference_and_by_id(flutterwave, fake, gateway_status, ours):
    created = flutterwave.initiate_transfer(transfer(reference="fw-v"))
    fake.set_status("flutterwave_v3", "fw-v", gateway_status)
    by_reference = flutterwave.verify_transfer("fw-v")
    by_id = flutterwave.verify_transfer("fw-v", gateway_id=created.gateway_id)
    assert by_reference.status is by_id.status is ours
    assert by_reference.amount_minor == 550_025
    assert fake.requests[-1]["path"] == f"/flutterwave/v3/transfers/{created.gateway_id}"


def test_verify_unknown_is_not_found(flutterwave):
    with pytest.raises(GatewayError) as error:
        flutterwave.verify_transfer("fw-nope")
    assert error.value.code == "not_found"


def test_missing_required_field_is_a_non_retryable_rejection(flutterwave, fake):
    with pytest.raises(GatewayError) as error:
        flutterwave.initiate_transfer(transfer(recipient=Recipient("No Bank", "NGN", "0690000040", "")))
    assert (error.value.code, error.value.retryable) == ("rejected", False)
    assert "account_bank" in error.value.message
    assert fake.count("flutterwave_v3", "fw-1") == 0


def test_failure_after_execution_is_resolved_by_reference(flutterwave, fake):
    fake.fail("flutterwave_v3", "POST", "/transfers", status=502, when="after")
    with pytest.raises(GatewayError) as error:
        flutterwave.initiate_transfer(transfer(reference="fw-502"))
    assert (error.value.retryable, error.value.ambiguous) == (True, True)
    found = flutterwave.find_transfer(transfer(reference="fw-502"))
    assert found is not None and found.reference == "fw-502"
    assert fake.count("flutterwave_v3", "fw-502") == 1


def test_tokenised_charge(flutterwave, fake):
    ok = flutterwave.charge_authorization(ChargeRequest("rp-1", 10_050, "NGN", "flw-t1-abc1", "bisi@example.com"))
    declined = flutterwave.charge_authorization(ChargeRequest("rp-2", 10_050, "NGN", "flw-t1-abc0", "b@example.com"))
    assert (ok.status, ok.amount_minor) == (TransferStatus.succeeded, 10_050)
    assert declined.status is TransferStatus.failed
    assert b'"amount": 100.50' in fake.requests[0]["body"]


@pytest.mark.parametrize("scheme", ["legacy", "new"])
def test_webhook_signatures_both_schemes(flutterwave, fake, scheme):
    data = {"id": 4211, "reference": "fw-9", "amount": 5500.25, "currency": "NGN", "status": "SUCCESSFUL"}
    headers, body = fake.flutterwave_webhook(data, scheme=scheme)
    event = flutterwave.parse_webhook(headers, body)
    assert (event.event_type, event.reference, event.status, event.amount_minor, event.gateway_id) == (
        "transfer.completed", "fw-9", TransferStatus.succeeded, 550_025, "4211")
    with pytest.raises(InvalidSignature):
        flutterwave.parse_webhook({k: v[:-2] + "xx" for k, v in headers.items()}, body)
    if scheme == "new":
        with pytest.raises(InvalidSignature):  # the body was changed after signing
            flutterwave.parse_webhook(headers, body.replace(b"5500.25", b"9500.25"))
