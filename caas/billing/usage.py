"""Usage recording: one row per billable use, unique per client and idempotency key, written in the
same transaction as the business action it counts. A duplicate key is ignored silently, so a
retried job or request never bills twice.

Ways in: ``record`` for one use inside a business transaction (the tenant's own scope);
``record_many`` for a batch of one tenant's uses; ``ingest`` for a batch across tenants (the
platform's path: imports, counter flushes). A batch is one INSERT … SELECT FROM unnest(…).
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
    if item.occurred_at is not None and item.occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    if item.metric == "payment_transaction":
        if item.amount_minor is None or item.amount_minor < 0 or not item.currency:
            raise ValueError("a payment transaction records its amount and currency")
        normalise_currency(item.currency)


# Repeated values (clients, metrics, currencies) travel once, as small arrays indexed per row, and
# times as microseconds since the epoch: the batch is mostly integers, cheap to send and to parse.
_BATCH = """
INSERT INTO usage_events (id, client_id, metric, quantity, amount_minor, currency, idempotency_key, occurred_at)
SELECT gen_random_uuid(), d.clients[t.c], d.metrics[t.m], t.q, t.a, d.currencies[t.cu], t.k,
       TIMESTAMPTZ 'epoch' + t.us * INTERVAL '1 microsecond'
FROM (SELECT %b::uuid[] AS clients, %b::varchar[] AS metrics, %b::varchar[] AS currencies) AS d,
     unnest(%b::int[], %b::int[], %b::bigint[], %b::bigint[], %b::int[], %b::varchar[], %b::bigint[])
       AS t(c, m, q, a, cu, k, us)
ON CONFLICT (client_id, idempotency_key) DO NOTHING
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _index(values: dict, value) -> int | None:  # noqa: ANN001
    if value is None:
        return None
    found = values.get(value)
    if found is None:
        found = values[value] = len(values) + 1  # PostgreSQL arrays count from 1
    return found


def record_many(session: Session, items: list[UsageInput]) -> int:
    """Insert a batch in one statement; returns how many were new (duplicates are skipped)."""
    if not items:
        return 0
    for item in items:
        _check(item)
    now = datetime.now(timezone.utc)
    clients: dict = {}
    metrics: dict = {}
    currencies: dict = {}
    columns: dict[str, list] = {"c": [], "m": [], "q": [], "a": [], "cu": [], "k": [], "us": []}
    for i in items:
        columns["c"].append(_index(clients, i.client_id))
        columns["m"].append(_index(metrics, i.metric))
        columns["q"].append(i.quantity)
        columns["a"].append(i.amount_minor)
        columns["cu"].append(_index(currencies, normalise_currency(i.currency) if i.currency else None))
        columns["k"].append(i.idempotency_key)
        delta = (i.occurred_at or now) - _EPOCH
        columns["us"].append((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
    # Sent in binary (%b) on the session's own connection and transaction: for a batch of thousands
    # the text quoting of every element costs more than the insert.
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(_BATCH, (list(clients), list(metrics), list(currencies), columns["c"], columns["m"],
                                columns["q"], columns["a"], columns["cu"], columns["k"], columns["us"]))
        return cursor.rowcount


_BILLING_MODE = text("SELECT set_config('app.billing_run', 'on', true)")


def ingest(session: Session, items: list[UsageInput]) -> int:
    """The platform's batched path for usage of many tenants at once (imports, counter flushes, the
    benchmark): one statement per batch, written through the narrow ``billing_run`` insert policy for
    the rest of the caller's transaction. Each item names its own client; duplicates are skipped."""
    session.execute(_BILLING_MODE)
    return record_many(session, items)


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
RETURNING quantity
""")


def record_api_call(session: Session, client_id: uuid.UUID) -> int:
    """API calls are aggregated per client and hour: one row whose quantity counts the calls.
    Returns the client's calls so far this hour."""
    hour = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H")
    return session.execute(_API_CALL, {"id": uuid.uuid4(), "client_id": client_id,
                                       "key": f"api_call:{hour}"}).scalar_one()
