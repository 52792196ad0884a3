"""The payment router of this process, built once from the app's configuration (PAYMENT_GATEWAYS,
PAYMENT_ROUTES). Tests and benchmarks may install their own with ``use``."""
from __future__ import annotations

from flask import current_app

from caas.payments.routing import Router, router_from_config

_router: Router | None = None


def router() -> Router:
    global _router
    if _router is None:
        _router = router_from_config(current_app.config)
    return _router


def use(router_: Router | None) -> None:
    global _router
    _router = router_
