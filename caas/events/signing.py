"""Signing webhook deliveries (the sending side; ``caas.events.verify`` is the receiving side).

The header is ``CaaS-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`` where each ``v1`` is the
HMAC-SHA256 of ``"<t>.<body>"`` keyed with one of the endpoint's valid secrets (the whole
``whsec_…`` string, UTF-8). During a secret rotation there are two: the new one first.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Iterable

HEADER = "CaaS-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def header_value(body: bytes, secrets: Iterable[str], timestamp: int) -> str:
    parts = [f"t={int(timestamp)}"] + [f"v1={signature(s, int(timestamp), body)}" for s in secrets]
    if len(parts) < 2:
        raise ValueError("at least one secret is needed to sign")
    return ",".join(parts)


def body_bytes(envelope: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys in the envelope's order."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
