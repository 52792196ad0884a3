"""API keys: issue (secret shown once), revoke, rotate, and authenticate a request's key.

A key reads ``caas_<mode>_<prefix>_<secret>``. The prefix is public (shown in lists, used to find
the key); only the SHA-256 of the whole key is stored, which is enough for a 192-bit random secret.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core import tenant
from caas.core.errors import DomainError, NotFound
from caas.tenancy.models import ApiKey, KeyMode

SCOPES = ("applications:read", "applications:write", "offers:write", "loans:read", "usage:read")
KEY_RE = re.compile(r"^caas_(live|sandbox)_([a-z0-9]{12})_([0-9a-f]{48})$")
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
LAST_USED_GRANULARITY = timedelta(minutes=1)


class ApiAuthError(DomainError):
    def __init__(self, code: str, message: str, status: int):
        super().__init__(code, message)
        self.status = status


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    client_id: uuid.UUID
    client_slug: str
    mode: str
    scopes: frozenset[str]


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _snapshot(key: ApiKey) -> dict:
    return {"name": key.name, "mode": key.mode.value, "scopes": list(key.scopes), "prefix": key.prefix}


def issue(session: Session, actor: Actor, client_id: uuid.UUID, *, name: str, mode: str,
          scopes: list[str]) -> tuple[ApiKey, str]:
    """Create a key for the tenant in scope. Returns the row and the secret, which is never stored."""
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise DomainError("invalid_name", "Give the key a name of up to 80 characters.", "name")
    try:
        key_mode = KeyMode(mode)
    except ValueError:
        raise DomainError("invalid_mode", "Choose sandbox or live.", "mode") from None
    unknown = sorted(set(scopes) - set(SCOPES))
    if not scopes or unknown:
        raise DomainError("invalid_scopes", "Choose at least one of the listed scopes.", "scopes")
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(12))
    raw = f"caas_{key_mode.value}_{prefix}_{secrets.token_hex(24)}"
    key = ApiKey(id=uuid.uuid4(), client_id=client_id, name=name, mode=key_mode,
                 scopes=[s for s in SCOPES if s in scopes], prefix=prefix, secret_hash=_hash(raw),
                 created_by=actor.user_id)
    session.add(key)
    session.flush()
    record(session, actor, "api_key.issue", client_id=client_id, target_type="api_key", target_id=key.id,
           after=_snapshot(key))
    return key, raw


def get(session: Session, key_id: uuid.UUID) -> ApiKey:
    key = tenant.get_visible(session, ApiKey, key_id)  # RLS: another tenant's key is not there
    if key is None:
        raise NotFound("API key")
    return key


def revoke(session: Session, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    key = get(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = datetime.now(timezone.utc)
        session.flush()
        record(session, actor, "api_key.revoke", client_id=key.client_id, target_type="api_key", target_id=key.id,
               before=_snapshot(key))
    return key


def rotate(session: Session, actor: Actor, key_id: uuid.UUID) -> tuple[ApiKey, str]:
    """Revoke the key and issue a new one with the same name, mode and scopes."""
    old = get(session, key_id)
    if old.revoked_at is not None:
        raise DomainError("key_revoked", "A revoked key cannot be rotated; create a new one.")
    revoke(session, actor, key_id)
    return issue(session, actor, old.client_id, name=old.name, mode=old.mode.value, scopes=list(old.scopes))


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())))


def authenticate(session: Session, authorization: str | None) -> Principal:
    """Resolve ``Authorization: Bearer <key>`` to its tenant, and set that tenant.

    401 for a missing, malformed, unknown or revoked key; 403 when the client is suspended.
    """
    if not authorization:
        raise ApiAuthError("missing_api_key", "Send your API key as 'Authorization: Bearer <key>'.", 401)
    scheme, _, raw = authorization.partition(" ")
    match = KEY_RE.match(raw.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        raise ApiAuthError("malformed_api_key", "The API key is not in the expected format.", 401)
    row = session.execute(text("SELECT * FROM caas_api_key_lookup(:p)"), {"p": match.group(2)}).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(raw.strip())):
        raise ApiAuthError("invalid_api_key", "The API key is not valid.", 401)
    if row.revoked_at is not None:
        raise ApiAuthError("revoked_api_key", "This API key has been revoked.", 401)
    if row.client_status != "active":
        raise ApiAuthError("client_suspended", "This client's account is suspended; contact the platform.", 403)
    tenant.set_tenant(row.client_id, session)
    key = session.get(ApiKey, row.id)
    now = datetime.now(timezone.utc)
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
        key.last_used_at = now  # at most one write a minute per key
    return Principal(key_id=row.id, client_id=row.client_id, client_slug=row.client_slug, mode=row.mode,
                     scopes=frozenset(row.scopes))
