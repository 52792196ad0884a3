"""Verifying webhook deliveries: the ``CaaS-Signature`` header.

``CaaS-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]``: each ``v1`` is the hex HMAC-SHA256 of
``"<t>." + raw body`` keyed with an endpoint secret (the whole ``whsec_…`` string, UTF-8). During a
secret rotation a delivery carries one ``v1`` per valid secret. A delivery is genuine when any
``v1`` matches one of your secrets and ``t`` is within ``tolerance`` seconds of your clock.

Verify the raw bytes of the body, before parsing: re-serialised JSON has other bytes.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Iterable

from caas_sdk.errors import CaasError

HEADER = "CaaS-Signature"
DEFAULT_TOLERANCE = 300


class WebhookVerificationError(CaasError):
    """The delivery is not proven to come from CaaS: no valid signature, or too old."""


def expected_signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def parse_header(header: str) -> tuple[int, list[str]]:
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise WebhookVerificationError(f"Malformed {HEADER} header: expected t=<seconds>,v1=<hex>.")
    return timestamp, signatures


def verify(body: bytes | str, header: str | None, secret: str | Iterable[str], *,
           tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> dict[str, Any]:
    """The event (parsed JSON) when the signature holds; ``WebhookVerificationError`` otherwise.
    ``secret`` may be several (yours during a rotation)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or not all(secrets):
        raise ValueError("a webhook secret is needed")
    timestamp, signatures = parse_header(header or "")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"The signature's timestamp is {int(abs(current - timestamp))} s from now (tolerance {tolerance} s).")
    expected = [expected_signature(s, timestamp, body) for s in secrets]
    # Compare every pair in constant time: no early exit that would tell which one was close.
    matched = False
    for mine in expected:
        for theirs in signatures:
            matched |= hmac.compare_digest(mine, theirs)
    if not matched:
        raise WebhookVerificationError("No signature matches the secret.")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise WebhookVerificationError("The body is not JSON.") from exc
