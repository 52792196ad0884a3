"""Jobs of the events area. Each takes ids, reloads state, and is safe to run twice."""
from __future__ import annotations

import logging
import uuid

from caas.core.extensions import db
from caas.events import outbox
from caas.events.models import OutboxMessage

log = logging.getLogger(__name__)


def relay_outbox() -> int:
    """Periodic: re-send outbox rows that did not reach Redis after their commit."""
    from flask import current_app

    return outbox.relay(db.engine, min_age_seconds=current_app.config["OUTBOX_RELAY_MIN_AGE"])


def dispatch_event(outbox_id: str) -> str:
    """Fan a domain event out to the tenant's webhook endpoints (the webhooks issue fills this in).

    For now it proves the event is readable under its tenant and logs it; running it twice is harmless.
    """
    message = db.session.get(OutboxMessage, uuid.UUID(outbox_id))
    if message is None:
        log.warning("event not visible under its tenant", extra={"outbox_id": outbox_id})
        return "missing"
    log.info("domain event", extra={"event_type": message.event_type, "outbox_id": outbox_id})
    return message.event_type or ""
