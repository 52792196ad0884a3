"""Tiers, their quotas, and the services a client can have switched on."""
from __future__ import annotations

from dataclasses import dataclass

from caas.tenancy.models import Client, Tier


@dataclass(frozen=True)
class Quotas:
    api_calls_per_hour: int
    applications_per_month: int


TIER_QUOTAS: dict[Tier, Quotas] = {
    Tier.starter: Quotas(api_calls_per_hour=1_000, applications_per_month=500),
    Tier.professional: Quotas(api_calls_per_hour=10_000, applications_per_month=5_000),
    Tier.enterprise: Quotas(api_calls_per_hour=100_000, applications_per_month=50_000),
}

SERVICES: dict[str, str] = {
    "borrower_portal": "Branded borrower portal",
    "client_api": "Client API",
    "provider_marketplace": "Provider marketplace",
    "payouts": "Payouts and repayments",
    "webhooks": "Webhooks",
}
DEFAULT_SERVICES = list(SERVICES)


def effective_quotas(client: Client) -> Quotas:
    """The tier's quotas with the client's overrides applied."""
    base = TIER_QUOTAS[client.tier]
    return Quotas(
        api_calls_per_hour=client.quota_api_calls_per_hour or base.api_calls_per_hour,
        applications_per_month=client.quota_applications_per_month or base.applications_per_month,
    )
