"""Verify a CaaS webhook on the receiving side. Pure standard library: copy this file into your
project if you like.

    from caas.events.verify import construct_event, SignatureVerificationError

    try:
        event = construct_event(request_body_bytes, request.headers["CaaS-Signature"], "whsec_…")
    except SignatureVerificationError:
        return "bad signature", 400

The header is ``t=<unix seconds>,v1=<hex>[,v1=<hex>…]``; each ``v1`` is HMAC-SHA256 over
``"<t>.<raw body>"`` keyed with an endpoint secret. The event is authentic when any ``v1`` matches
any of your secrets (pass a list while you rotate yours) and ``t`` is within ``tolerance`` seconds
of now (replay protection). Verify the raw body bytes, before any JSON parsing.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Iterable

DEFAULT_TOLERANCE = 300


class SignatureVerificationError(ValueError):
    """The signature header is missing, malformed, too old, or matches none of the secrets."""


def parse_header(header: str | None) -> tuple[int, list[str]]:
    """``(timestamp, [v1 signatures])``; unknown schemes are ignored (forward compatible)."""
    if not header:
        raise SignatureVerificationError("missing signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureVerificationError("malformed timestamp") from None
        elif key == "v1" and value:
            signatures.append(value.strip())
    if timestamp is None:
        raise SignatureVerificationError("no timestamp in signature header")
    if not signatures:
        raise SignatureVerificationError("no v1 signature in signature header")
    return timestamp, signatures


def verify_header(payload: bytes | str, header: str | None, secret: str | Iterable[str], *,
                  tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> int:
    """Check the signature; return its timestamp or raise SignatureVerificationError."""
    if isinstance(payload, str):
        payload = payload.encode()
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise SignatureVerificationError("no secret to verify with")
    timestamp, signatures = parse_header(header)
    current = time.time() if now is None else now
    if tolerance and abs(current - timestamp) > tolerance:
        raise SignatureVerificationError("timestamp outside the tolerance window")
    signed = f"{timestamp}.".encode() + payload
    matched = False
    for key in secrets:
        expected = hmac.new(key.encode(), signed, hashlib.sha256).hexdigest().encode()
        for candidate in signatures:
            # Compare every pair (no early exit) so timing says nothing about which one matched.
            matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise SignatureVerificationError("no signature matches")
    return timestamp


def construct_event(payload: bytes | str, header: str | None, secret: str | Iterable[str], *,
                    tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> dict[str, Any]:
    """Verify, then parse the body. Deduplicate on ``event["id"]``: delivery is at least once."""
    verify_header(payload, header, secret, tolerance=tolerance, now=now)
    try:
        return json.loads(payload)
    except ValueError:
        raise SignatureVerificationError("body is not JSON") from None
