"""Identity verification: is the national id (BVN or NIN) the borrower gave really theirs?

- ``base``: the adapter interface (``IdentityVerifier``, ``IdentityResult``, ``Status``);
- ``matching``: the pure name and date-of-birth comparison every adapter uses;
- ``sandbox`` and ``prembly``: the adapters;
- ``records``: results stored on the borrower's KYC record (``identity_verifications``), reused for
  the same id, name and date of birth;
- this module: the adapter of this process, built once from configuration.

Configuration (config.py): ``IDENTITY_PROVIDER`` (``sandbox`` | ``prembly``; the sandbox by default
in development and tests, and nothing in production until one is named), ``IDENTITY_SETTINGS``
(JSON, the provider's own settings, e.g. ``{"api_key": …, "app_id": …, "base_url": …,
"timeout": 15, "retries": 1}``) and ``IDENTITY_NAME_THRESHOLD`` (0–100, default 85).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from flask import current_app

from caas.credit.identity.base import IdentityResult, IdentityVerifier, Status
from caas.credit.identity.prembly import PremblyVerifier
from caas.credit.identity.sandbox import SandboxVerifier

PROVIDERS = ("sandbox", "prembly")

_verifier: IdentityVerifier | None = None


class NotConfigured(RuntimeError):
    """No identity provider is configured: verification cannot run (the job fails and retries)."""


def verifier_from_config(name: str, settings: Mapping[str, Any] | None = None,
                         threshold: Decimal | str = "85") -> IdentityVerifier:
    """Build the named adapter. Raises ValueError for an unknown name or missing credentials."""
    settings = settings or {}
    threshold = Decimal(str(threshold))
    name = (name or "").strip().lower()
    if name == "sandbox":
        return SandboxVerifier(threshold)
    if name == "prembly":
        return PremblyVerifier(api_key=settings.get("api_key", ""), app_id=settings.get("app_id", ""),
                               base_url=settings.get("base_url"), timeout=float(settings.get("timeout", 15.0)),
                               connect_timeout=float(settings.get("connect_timeout", 5.0)),
                               retries=int(settings.get("retries", 1)), threshold=threshold)
    raise ValueError(f"unknown identity provider {name!r}; known: {', '.join(PROVIDERS)}")


def verifier() -> IdentityVerifier:
    """The adapter of this process, built from the app's configuration on first use."""
    global _verifier
    if _verifier is None:
        config = current_app.config
        name = config.get("IDENTITY_PROVIDER") or ""
        if not name:
            raise NotConfigured("no identity provider is configured (IDENTITY_PROVIDER)")
        _verifier = verifier_from_config(name, config.get("IDENTITY_SETTINGS") or {},
                                         config.get("IDENTITY_NAME_THRESHOLD", "85"))
    return _verifier


def use(verifier_: IdentityVerifier | None) -> None:
    """Install an adapter for this process (tests, benchmarks); None rebuilds from configuration."""
    global _verifier
    _verifier = verifier_


__all__ = ["PROVIDERS", "IdentityResult", "IdentityVerifier", "NotConfigured", "PremblyVerifier", "SandboxVerifier",
           "Status", "fingerprint_key", "use", "verifier", "verifier_from_config"]


def fingerprint_key() -> str:
    """The key of the stored checks' fingerprints: IDENTITY_FINGERPRINT_KEY, else SECRET_KEY.
    Changing it only means the next scoring asks the provider again."""
    config = current_app.config
    return config.get("IDENTITY_FINGERPRINT_KEY") or config["SECRET_KEY"]
