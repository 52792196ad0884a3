"""Webhook endpoints: configuration here; signed delivery comes with the webhooks issue.

The signing secret must be readable to sign deliveries, so it is stored encrypted (caas.core.secretbox:
Fernet, key derived from WEBHOOK_ENCRYPTION_KEY or SECRET_KEY) and shown to the client admin once.
"""
from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core import tenant
from caas.core.errors import DomainError, NotFound
from caas.core.secretbox import SecretBox
from caas.events.models import WebhookEndpoint

EVENT_TYPES = (
    "credit.application.submitted", "credit.application.approved", "credit.application.declined",
    "credit.application.withdrawn", "credit.offer.received", "credit.offer.accepted",
    "credit.disbursement.completed", "credit.disbursement.failed", "credit.repayment.due",
    "credit.repayment.received", "credit.repayment.missed", "credit.collection.initiated",
    "credit.loan.closed", "billing.invoice.issued",
)

_box = SecretBox("caas-webhook-secrets")
configure, encrypt, decrypt = _box.configure, _box.encrypt, _box.decrypt


def _validate_url(url: str, allow_http: bool) -> str:
    url = url.strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise DomainError("invalid_url", "Enter a full URL such as https://example.com/webhooks.", "url")
    if parsed.scheme == "http" and not allow_http:
        raise DomainError("https_required", "Webhook URLs must use https.", "url")
    if len(url) > 500:
        raise DomainError("invalid_url", "The URL is too long (500 characters at most).", "url")
    return url


def _snapshot(endpoint: WebhookEndpoint) -> dict:
    return {"url": endpoint.url, "events": list(endpoint.events), "enabled": endpoint.enabled}


def create(session: Session, actor: Actor, client_id: uuid.UUID, *, url: str, events: list[str],
           allow_http: bool = False) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint for the tenant in scope. Returns it and its signing secret (shown once)."""
    url = _validate_url(url, allow_http)
    if not events or set(events) - set(EVENT_TYPES):
        raise DomainError("invalid_events", "Choose at least one of the listed events.", "events")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(id=uuid.uuid4(), client_id=client_id, url=url,
                               events=[e for e in EVENT_TYPES if e in events], secret_ciphertext=encrypt(secret),
                               enabled=True)
    session.add(endpoint)
    session.flush()
    record(session, actor, "webhook.create", client_id=client_id, target_type="webhook_endpoint",
           target_id=endpoint.id, after=_snapshot(endpoint))
    return endpoint, secret


def get(session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = tenant.get_visible(session, WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("webhook endpoint")
    return endpoint


def set_enabled(session: Session, actor: Actor, endpoint_id: uuid.UUID, enabled: bool) -> WebhookEndpoint:
    endpoint = get(session, endpoint_id)
    before = _snapshot(endpoint)
    endpoint.enabled = enabled
    session.flush()
    record(session, actor, "webhook.enable" if enabled else "webhook.disable", client_id=endpoint.client_id,
           target_type="webhook_endpoint", target_id=endpoint.id, before=before, after=_snapshot(endpoint))
    return endpoint


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at)))


# --- Secret rotation (webhooks issue) ---------------------------------------------------------------

ROTATION_OVERLAP_HOURS = 24


def rotate_secret(session: Session, actor: Actor, endpoint_id: uuid.UUID, *,
                  now=None) -> tuple[WebhookEndpoint, str]:
    """Give the endpoint a new signing secret; returns it (shown once).

    The replaced secret keeps signing beside the new one for 24 hours (``signing_secrets``), so
    the client can switch without losing a delivery. Rotating again within those hours drops the
    oldest secret. Audited without the secrets.
    """
    from datetime import datetime, timedelta, timezone

    endpoint = get(session, endpoint_id)
    now = now or datetime.now(timezone.utc)
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
    endpoint.secret_ciphertext = encrypt(secret)
    endpoint.rotated_at = now
    session.flush()
    previous_until = now + timedelta(hours=ROTATION_OVERLAP_HOURS)
    record(session, actor, "webhook.rotate_secret", client_id=endpoint.client_id, target_type="webhook_endpoint",
           target_id=endpoint.id,
           after={"rotated_at": now.isoformat(), "previous_valid_until": previous_until.isoformat()})
    return endpoint, secret


def signing_secrets(endpoint: WebhookEndpoint, now) -> list[str]:
    """The secrets that sign a delivery at ``now``: the current one, then the previous one while
    it is less than 24 hours old."""
    from datetime import timedelta

    valid = [decrypt(endpoint.secret_ciphertext)]
    if (endpoint.previous_secret_ciphertext and endpoint.rotated_at is not None
            and now < endpoint.rotated_at + timedelta(hours=ROTATION_OVERLAP_HOURS)):
        valid.append(decrypt(endpoint.previous_secret_ciphertext))
    return valid
