"""Helpers for billing tests: clients that existed before the billed months, usage at given times."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import update

from caas.billing import usage
from caas.billing.usage import UsageInput
from caas.core import tenant
from caas.tenancy.models import Client
from tests import factories

LONG_AGO = datetime(2026, 1, 5, tzinfo=timezone.utc)


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


def billed_client(session, *, tax: str = "0", tier: str = "starter", marketplace: bool = True, **kw) -> Client:
    services = ["borrower_portal", "client_api"] + (["provider_marketplace"] if marketplace else [])
    client = factories.client(session, tier=tier, services=services, **kw)
    session.execute(update(Client).where(Client.id == client.id).values(
        created_at=LONG_AGO, billing_tax_rate=Decimal(tax)))
    session.flush()
    session.refresh(client)
    return client


def use(session, client: Client, metric: str, when: datetime, *, quantity: int = 1, amount_minor: int | None = None,
        currency: str | None = None, key: str | None = None) -> None:
    key = key or f"{metric}:{when.isoformat()}:{quantity}:{amount_minor}:{currency}"
    with tenant.tenant_scope(client.id, session):
        usage.record_many(session, [UsageInput(client.id, metric, key, quantity, amount_minor, currency, when)])
