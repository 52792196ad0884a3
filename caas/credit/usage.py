"""Usage recording for billing: one row per billable use, unique per client and idempotency key,
written in the same transaction as the action. Only the recording is built here."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.orm import Session

METRICS = ("application_processed", "risk_assessment", "api_call", "payment_transaction", "provider_network_access")

_INSERT = text("""
INSERT INTO usage_events (id, client_id, metric, quantity, amount_minor, currency, idempotency_key, occurred_at)
VALUES (:id, :client_id, :metric, :quantity, :amount_minor, :currency, :key, :at)
ON CONFLICT (client_id, idempotency_key) DO NOTHING
""")


def record(session: Session, client_id: uuid.UUID, metric: str, idempotency_key: str, *, quantity: int = 1,
           amount_minor: int | None = None, currency: str | None = None) -> bool:
    """Record one use; a duplicate key is ignored silently (retries never double-bill). True if new."""
    if metric not in METRICS:
        raise ValueError(f"unknown usage metric {metric!r}")
    result = session.execute(_INSERT, {
        "id": uuid.uuid4(), "client_id": client_id, "metric": metric, "quantity": quantity,
        "amount_minor": amount_minor, "currency": currency, "key": idempotency_key,
        "at": datetime.now(timezone.utc)})
    return result.rowcount == 1


_API_CALL = text("""
INSERT INTO usage_events (id, client_id, metric, quantity, idempotency_key, occurred_at)
VALUES (:id, :client_id, 'api_call', 1, :key, date_trunc('hour', now()))
ON CONFLICT (client_id, idempotency_key) DO UPDATE SET quantity = usage_events.quantity + 1
""")


def record_api_call(session: Session, client_id: uuid.UUID) -> None:
    """API calls are aggregated per client and hour: one row whose quantity counts the calls."""
    hour = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H")
    session.execute(_API_CALL, {"id": uuid.uuid4(), "client_id": client_id, "key": f"api_call:{hour}"})
