"""The SDK's CaaS-Signature verifier on hand-made signatures (the cross-check against the app's own
signer is tests/sdk/test_webhook_signatures.py)."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from caas_sdk.webhooks import WebhookVerificationError, verify

SECRET = "whsec_test_secret"
BODY = b'{"id":"evt_1","type":"credit.application.submitted","data":{"amount":"500.00"}}'
T = 1_795_449_600


def sign(secret: str, t: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_a_good_signature_gives_the_event():
    event = verify(BODY, f"t={T},v1={sign(SECRET, T, BODY)}", SECRET, now=T + 10)
    assert event["id"] == "evt_1" and event["data"]["amount"] == "500.00"


def test_any_of_several_signatures_and_any_of_several_secrets_may_match():
    header = f"t={T},v1={sign('whsec_new', T, BODY)},v1={sign(SECRET, T, BODY)}"
    assert verify(BODY, header, SECRET, now=T)["id"] == "evt_1"
    assert verify(BODY, f"t={T},v1={sign(SECRET, T, BODY)}", ["whsec_other", SECRET], now=T)["id"] == "evt_1"


@pytest.mark.parametrize("header,body,now,message", [
    (f"t={T},v1={sign('whsec_wrong', T, BODY)}", BODY, T, "No signature matches"),
    (f"t={T},v1={sign(SECRET, T, BODY)}", BODY.replace(b"500.00", b"900.00"), T, "No signature matches"),
    (f"t={T + 1},v1={sign(SECRET, T, BODY)}", BODY, T, "No signature matches"),      # timestamp is signed
    (f"t={T},v1={sign(SECRET, T, BODY)}", BODY, T + 301, "from now"),                # too old
    (f"t={T},v1={sign(SECRET, T, BODY)}", BODY, T - 301, "from now"),                # from the future
    ("v1=abc", BODY, T, "Malformed"),
    (f"t={T}", BODY, T, "Malformed"),
    ("", BODY, T, "Malformed"),
])
def test_bad_forged_or_expired_signatures_are_refused(header, body, now, message):
    with pytest.raises(WebhookVerificationError, match=message):
        verify(body, header, SECRET, now=now)


def test_the_tolerance_is_configurable():
    header = f"t={T},v1={sign(SECRET, T, BODY)}"
    assert verify(BODY, header, SECRET, now=T + 3000, tolerance=3600)["id"] == "evt_1"
