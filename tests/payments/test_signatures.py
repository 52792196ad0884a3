"""Webhook signature checks: pure functions, no server. Expected signatures are computed here with
hashlib/hmac from the algorithm descriptions, not with the module under test."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from caas.payments import signatures
from caas.payments.gateways import InvalidSignature

BODY = b'{"event":"transfer.success","data":{"reference":"po-1","amount":150000}}'
NOW = 1_790_000_000


def paystack_sig(body: bytes, key: str) -> str:
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


def stripe_header(body: bytes, secret: str, t: int, *extra: str) -> str:
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return ",".join([f"t={t}", *extra, f"v1={sig}"])


class TestPaystack:
    def test_valid_signature_passes_upper_or_lower_case(self):
        signatures.check_paystack(BODY, paystack_sig(BODY, "sk_live_x"), "sk_live_x")
        signatures.check_paystack(BODY, paystack_sig(BODY, "sk_live_x").upper(), "sk_live_x")

    @pytest.mark.parametrize("body, signature, key", [
        (BODY + b" ", paystack_sig(BODY, "sk_live_x"), "sk_live_x"),      # body changed
        (BODY, paystack_sig(BODY, "sk_other"), "sk_live_x"),              # other key
        (BODY, hashlib.sha512(BODY).hexdigest(), "sk_live_x"),            # a hash, not an HMAC
        (BODY, None, "sk_live_x"),                                        # header missing
        (BODY, "", "sk_live_x"),
        (BODY, "é" * 128, "sk_live_x"),                                   # junk, non-ASCII
        (BODY, paystack_sig(BODY, ""), ""),                               # no key configured
    ])
    def test_refused(self, body, signature, key):
        with pytest.raises(InvalidSignature):
            signatures.check_paystack(body, signature, key)


class TestFlutterwave:
    SECRET = "my-secret-hash"

    def new_sig(self, body: bytes) -> str:
        return base64.b64encode(hmac.new(self.SECRET.encode(), body, hashlib.sha256).digest()).decode()

    def test_legacy_verif_hash_is_the_secret_itself(self):
        signatures.check_flutterwave({"verif-hash": self.SECRET}, BODY, self.SECRET)
        signatures.check_flutterwave({"Verif-Hash": self.SECRET}, BODY, self.SECRET)  # any header case
        with pytest.raises(InvalidSignature):
            signatures.check_flutterwave({"verif-hash": self.SECRET + "x"}, BODY, self.SECRET)
        with pytest.raises(InvalidSignature):
            signatures.check_flutterwave({}, BODY, self.SECRET)

    def test_new_signature_is_base64_hmac_of_the_body_and_decides_when_present(self):
        signatures.check_flutterwave({"flutterwave-signature": self.new_sig(BODY)}, BODY, self.SECRET)
        with pytest.raises(InvalidSignature):
            signatures.check_flutterwave({"flutterwave-signature": self.new_sig(BODY)}, BODY + b"x", self.SECRET)
        with pytest.raises(InvalidSignature):  # a right legacy header does not rescue a wrong new one
            signatures.check_flutterwave({"flutterwave-signature": self.new_sig(b"other"), "verif-hash": self.SECRET},
                                         BODY, self.SECRET)

    def test_empty_secret_refuses_even_an_empty_header(self):
        with pytest.raises(InvalidSignature):
            signatures.check_flutterwave({"verif-hash": ""}, BODY, "")


class TestStripe:
    SECRET = "whsec_test"

    def test_valid_signature_returns_its_timestamp(self):
        assert signatures.check_stripe(BODY, stripe_header(BODY, self.SECRET, NOW), self.SECRET, now=NOW) == NOW

    def test_any_v1_may_match_and_v0_is_ignored(self):
        header = stripe_header(BODY, self.SECRET, NOW, "v1=" + "0" * 64, "v0=" + "f" * 64)
        signatures.check_stripe(BODY, header, self.SECRET, now=NOW)
        v0_only = f"t={NOW},v0=" + hmac.new(self.SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
        with pytest.raises(InvalidSignature, match="no v1"):
            signatures.check_stripe(BODY, v0_only, self.SECRET, now=NOW)

    @pytest.mark.parametrize("age, accepted", [(0, True), (300, True), (301, False), (-3600, True)])
    def test_tolerance_refuses_only_old_timestamps(self, age, accepted):
        header = stripe_header(BODY, self.SECRET, NOW - age)
        if accepted:
            signatures.check_stripe(BODY, header, self.SECRET, now=NOW)
        else:
            with pytest.raises(InvalidSignature, match="older than 300"):
                signatures.check_stripe(BODY, header, self.SECRET, now=NOW)

    @pytest.mark.parametrize("header", [
        None, "", "v1=abc", "t=notanumber,v1=abc", f"t={NOW}",
        stripe_header(BODY, "whsec_other", NOW),
        stripe_header(BODY + b" ", SECRET, NOW),
    ])
    def test_refused(self, header):
        with pytest.raises(InvalidSignature):
            signatures.check_stripe(BODY, header, self.SECRET, now=NOW)

    def test_signed_payload_is_timestamp_dot_body(self):
        # The timestamp is part of what is signed: moving it invalidates the signature.
        sig = stripe_header(BODY, self.SECRET, NOW).split("v1=")[1]
        with pytest.raises(InvalidSignature):
            signatures.check_stripe(BODY, f"t={NOW + 1},v1={sig}", self.SECRET, now=NOW)
