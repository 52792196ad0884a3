"""Idempotency-Key for API POSTs, with Stripe's semantics: the first response is stored for 24
hours and replayed for the same key; the same key with other parameters is refused (422); a
duplicate arriving while the first is still running is refused (409)."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caas.core.errors import DomainError
from caas.credit.models import IdempotentResponse


class KeyReused(DomainError):
    status = 422

    def __init__(self):
        super().__init__("idempotency_key_reused",
                         "This Idempotency-Key was used with different parameters.", "Idempotency-Key")


class KeyInFlight(DomainError):
    status = 409

    def __init__(self):
        super().__init__("idempotency_key_in_use",
                         "A request with this Idempotency-Key is still being processed; retry shortly.")


@dataclass
class Replay:
    status_code: int
    body: dict


def request_hash(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def claim(session: Session, client_id: uuid.UUID, api_key_id: uuid.UUID, key: str, digest: str) -> Replay | None:
    """Claim ``key`` for this request (committed at once so a concurrent duplicate sees it), or
    return the stored response to replay. Raises KeyReused / KeyInFlight."""
    if not 1 <= len(key) <= 255:
        raise DomainError("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 characters.", "Idempotency-Key")
    now = datetime.now(timezone.utc)
    existing = session.scalar(select(IdempotentResponse).where(
        IdempotentResponse.api_key_id == api_key_id, IdempotentResponse.key == key).with_for_update())
    if existing is not None and existing.expires_at <= now:
        session.delete(existing)
        session.flush()
        existing = None
    if existing is not None:
        if existing.request_hash != digest:
            raise KeyReused()
        if existing.status_code is None:
            raise KeyInFlight()
        return Replay(existing.status_code, existing.body or {})
    session.add(IdempotentResponse(id=uuid.uuid4(), client_id=client_id, api_key_id=api_key_id, key=key,
                                   request_hash=digest))
    try:
        session.commit()
    except IntegrityError:  # a concurrent duplicate claimed it between our read and our insert
        session.rollback()
        raise KeyInFlight() from None
    return None


def store(session: Session, api_key_id: uuid.UUID, key: str, status_code: int, body: dict) -> None:
    """Keep the response with the business change, in the same transaction."""
    row = session.scalar(select(IdempotentResponse).where(IdempotentResponse.api_key_id == api_key_id,
                                                          IdempotentResponse.key == key))
    row.status_code = status_code
    row.body = body
    session.flush()


def release(session: Session, api_key_id: uuid.UUID, key: str) -> None:
    """The request failed without a response worth keeping (a server error): free the key."""
    session.execute(delete(IdempotentResponse).where(IdempotentResponse.api_key_id == api_key_id,
                                                     IdempotentResponse.key == key,
                                                     IdempotentResponse.status_code.is_(None)))
    session.commit()
