"""Gateway adapters and the factory that builds one from its configuration.

``gateway_from_config(name, settings)`` takes the gateway's own settings (not the app config):

    sandbox      settle_after (s, default 5), webhook_secret, redis_url (share state across processes)
    paystack     secret_key*, base_url, timeout, currencies
    flutterwave  secret_key*, secret_hash (webhooks), base_url, timeout, currencies
    stripe       secret_key*, webhook_secret, stripe_version, base_url, timeout, currencies

(* required). Secrets come from configuration, never from code.
"""
from __future__ import annotations

from typing import Any, Mapping

from caas.payments.gateways.base import (ChargeRequest, ChargeResult, Gateway, GatewayError, InvalidSignature,
                                         Recipient, RecipientResult, TransferRequest, TransferResult, TransferStatus,
                                         WebhookEvent)
from caas.payments.gateways.flutterwave import FlutterwaveGateway
from caas.payments.gateways.paystack import PaystackGateway
from caas.payments.gateways.sandbox import MemoryStore, RedisStore, SandboxGateway
from caas.payments.gateways.stripe import StripeGateway

GATEWAYS = ("sandbox", "paystack", "flutterwave", "stripe")


def _http_kwargs(settings: Mapping[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"secret_key": settings.get("secret_key", ""), "base_url": settings.get("base_url"),
                              "timeout": float(settings.get("timeout", 15.0))}
    if settings.get("currencies"):
        kwargs["currencies"] = set(settings["currencies"])
    return kwargs


def gateway_from_config(name: str, settings: Mapping[str, Any] | None = None) -> Gateway:
    """Build the named adapter. Raises ValueError for an unknown name or a missing secret."""
    settings = settings or {}
    name = name.strip().lower()
    if name == "sandbox":
        store = None
        if settings.get("redis_url"):
            import redis

            store = RedisStore(redis.Redis.from_url(settings["redis_url"], socket_timeout=2.0),
                               prefix=settings.get("redis_prefix", "caas:sandbox:"))
        return SandboxGateway(store=store, settle_after=float(settings.get("settle_after", 5.0)),
                              webhook_secret=settings.get("webhook_secret", "sandbox-webhook-secret"))
    if name == "paystack":
        return PaystackGateway(**_http_kwargs(settings))
    if name == "flutterwave":
        return FlutterwaveGateway(secret_hash=settings.get("secret_hash", ""), **_http_kwargs(settings))
    if name == "stripe":
        return StripeGateway(webhook_secret=settings.get("webhook_secret", ""),
                             stripe_version=settings.get("stripe_version"), **_http_kwargs(settings))
    raise ValueError(f"unknown gateway {name!r}; known: {', '.join(GATEWAYS)}")


__all__ = [
    "GATEWAYS", "ChargeRequest", "ChargeResult", "FlutterwaveGateway", "Gateway", "GatewayError", "InvalidSignature",
    "MemoryStore", "PaystackGateway", "Recipient", "RecipientResult", "RedisStore", "SandboxGateway", "StripeGateway",
    "TransferRequest", "TransferResult", "TransferStatus", "WebhookEvent", "gateway_from_config",
]
