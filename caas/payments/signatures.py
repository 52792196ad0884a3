"""Inbound webhook signature checks: pure functions over the raw body, constant-time comparisons.

Always verify the raw bytes as received, before any JSON parsing: re-serialised JSON does not
reproduce the signed bytes. Each ``check_*`` returns None or raises ``InvalidSignature`` with the
reason (for the log, never for the response body).

- Paystack: ``x-paystack-signature`` = hex HMAC-SHA512(key=secret key, msg=raw body).
- Flutterwave: legacy ``verif-hash`` = the dashboard secret hash itself (compared, not computed);
  newer ``flutterwave-signature`` = base64 HMAC-SHA256(key=secret hash, msg=raw body). When the
  newer header is present it decides; otherwise the legacy one does.
- Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=…][,v0=…]``; hex HMAC-SHA256(key=endpoint
  secret, msg=f"{t}.{raw body}"); any v1 may match; refused when t is older than the tolerance
  (300 s, stripe-python's default; like stripe-python, timestamps in the future are not refused).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Mapping

from caas.payments.gateways.base import InvalidSignature, header

STRIPE_TOLERANCE_SECONDS = 300


def _require(secret: str, what: str) -> bytes:
    if not secret:
        raise InvalidSignature(f"no {what} configured: refusing every webhook")
    return secret.encode()


def paystack_signature(body: bytes, secret_key: str) -> str:
    return hmac.new(_require(secret_key, "Paystack secret key"), body, hashlib.sha512).hexdigest()


def check_paystack(body: bytes, signature: str | None, secret_key: str) -> None:
    expected = paystack_signature(body, secret_key)
    # bytes, not str: compare_digest refuses non-ASCII str, and a header may carry anything.
    if not signature or not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise InvalidSignature("x-paystack-signature does not match the body")


def flutterwave_signature(body: bytes, secret_hash: str) -> str:
    digest = hmac.new(_require(secret_hash, "Flutterwave secret hash"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_flutterwave(headers: Mapping[str, str], body: bytes, secret_hash: str) -> None:
    key = _require(secret_hash, "Flutterwave secret hash")
    signature = header(headers, "flutterwave-signature")
    if signature is not None:
        if not hmac.compare_digest(flutterwave_signature(body, secret_hash).encode(), signature.strip().encode()):
            raise InvalidSignature("flutterwave-signature does not match the body")
        return
    legacy = header(headers, "verif-hash")
    if legacy is None or not hmac.compare_digest(key, legacy.encode()):
        raise InvalidSignature("verif-hash missing or not the configured secret hash")


def stripe_signature(body: bytes, timestamp: int, secret: str) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(_require(secret, "Stripe endpoint secret"), signed, hashlib.sha256).hexdigest()


def parse_stripe_header(value: str | None) -> tuple[int, list[str]]:
    """(timestamp, v1 signatures). v0 and unknown schemes are ignored, as Stripe's libraries do."""
    if not value:
        raise InvalidSignature("Stripe-Signature header missing")
    timestamp: int | None = None
    v1: list[str] = []
    for item in value.split(","):
        key, _, val = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(val)
            except ValueError:
                raise InvalidSignature("Stripe-Signature timestamp is not an integer") from None
        elif key == "v1" and val:
            v1.append(val)
    if timestamp is None:
        raise InvalidSignature("Stripe-Signature has no timestamp")
    if not v1:
        raise InvalidSignature("Stripe-Signature has no v1 signature")
    return timestamp, v1


def check_stripe(body: bytes, signature_header: str | None, secret: str, *,
                 tolerance: int = STRIPE_TOLERANCE_SECONDS, now: float | None = None) -> int:
    """Verify and return the signed timestamp."""
    timestamp, candidates = parse_stripe_header(signature_header)
    expected = stripe_signature(body, timestamp, secret).encode()
    # Compare against every candidate (no early exit) so timing does not reveal which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.strip().lower().encode())
    if not matched:
        raise InvalidSignature("no v1 signature in Stripe-Signature matches the body")
    current = time.time() if now is None else now
    if tolerance and timestamp < current - tolerance:
        raise InvalidSignature(f"Stripe-Signature timestamp is older than {tolerance} s (replay?)")
    return timestamp
