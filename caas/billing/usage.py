"""Usage recording: one row per billable use, unique per client and idempotency key, written in the
same transaction as the business action it counts. A duplicate key is ignored silently, so a
retried job or request never bills twice.

Two ways in: ``record`` for one use inside a business transaction, and ``record_many`` for batches
(imports, the benchmark, replays): one INSERT … SELECT FROM unnest(…) per batch.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.orm import Session

from caas.billing.pricing import METRICS
from caas.money import normalise_currency


@dataclass(frozen=True)
class UsageInput:
    client_id: uuid.UUID
    metric: str
    idempotency_key: str
    quantity: int = 1
    amount_minor: int | None = None
    currency: str | None = None
    occurred_at: datetime | None = None


def _check(item: UsageInput) -> None:
    if item.metric not in METRICS:
        raise ValueError(f"unknown usage metric {item.metric!r}")
    if isinstance(item.quantity, bool) or not isinstance(item.quantity, int) or item.quantity < 1:
        raise ValueError("a usage quantity is a positive int")
    if not item.idempotency_key or len(item.idempotency_key) > 200:
        raise ValueError("a usage idempotency key is 1-200 characters")
    if item.metric == "payment_transaction":
        if item.amount_minor is None or item.amount_minor < 0 or not item.currency:
            raise ValueError("a payment transaction records its amount and currency")
        normalise_currency(item.currency)


_BATCH = text("""
INSERT INTO usage_events (id, client_id, metric, quantity, amount_minor, currency, idempotency_key, occurred_at)
SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:clients AS uuid[]), CAST(:metrics AS varchar[]),
                     CAST(:quantities AS bigint[]), CAST(:amounts AS bigint[]), CAST(:currencies AS varchar[]),
                     CAST(:keys AS varchar[]), CAST(:ats AS timestamptz[]))
ON CONFLICT (client_id, idempotency_key) DO NOTHING
""")


def record_many(session: Session, items: list[UsageInput]) -> int:
    """Insert a batch in one statement; returns how many were new (duplicates are skipped)."""
    if not items:
        return 0
    for item in items:
        _check(item)
    now = datetime.now(timezone.utc)
    result = session.execute(_BATCH, {
        "ids": [uuid.uuid4() for _ in items],
        "clients": [i.client_id for i in items],
        "metrics": [i.metric for i in items],
        "quantities": [i.quantity for i in items],
        "amounts": [i.amount_minor for i in items],
        "currencies": [normalise_currency(i.currency) if i.currency else None for i in items],
        "keys": [i.idempotency_key for i in items],
        "ats": [i.occurred_at or now for i in items],
    })
    return result.rowcount


def record(session: Session, client_id: uuid.UUID, metric: str, idempotency_key: str, *, quantity: int = 1,
           amount_minor: int | None = None, currency: str | None = None) -> bool:
    """Record one use in the caller's transaction. True if new, False for a duplicate key."""
    return record_many(session, [UsageInput(client_id, metric, idempotency_key, quantity, amount_minor,
                                            currency)]) == 1


def record_payment(session: Session, client_id: uuid.UUID, reference: str, amount_minor: int,
                   currency: str) -> bool:
    """A payment transaction the platform moved for the client (a payout or a repayment)."""
    return record(session, client_id, "payment_transaction", f"payment_transaction:{reference}",
                  amount_minor=amount_minor, currency=currency)


_API_CALL = text("""
INSERT INTO usage_events (id, client_id, metric, quantity, idempotency_key, occurred_at)
VALUES (:id, :client_id, 'api_call', 1, :key, date_trunc('hour', now()))
ON CONFLICT (client_id, idempotency_key) DO UPDATE SET quantity = usage_events.quantity + 1
""")


def record_api_call(session: Session, client_id: uuid.UUID) -> None:
    """API calls are aggregated per client and hour: one row whose quantity counts the calls."""
    hour = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H")
    session.execute(_API_CALL, {"id": uuid.uuid4(), "client_id": client_id, "key": f"api_call:{hour}"})
