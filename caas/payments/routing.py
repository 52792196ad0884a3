"""Routing a payout to a gateway by currency, with failover, and the decision kept for the record.

Routes are an ordered list of gateway names per currency, from configuration (``PAYMENT_ROUTES``),
on top of these defaults:

    NGN, GHS, KES  -> paystack, then flutterwave
    USD, EUR, GBP  -> stripe
    "*"            -> sandbox  (used only when none of the currency's gateways is configured)

Only configured gateways that support the currency are candidates, so in development, where the
sandbox is the only configured gateway, it handles every currency; in production, where it is not
configured, "*" gives nothing and an unsupported currency is refused with ``NoRoute``.

Failover: the next candidate is tried only after a *retryable* error. A non-retryable one (the
gateway refused the request itself: bad account, invalid reference) ends routing, because another
gateway would be sent the same bad request. An *ambiguous* error (the gateway may have paid) is
first resolved at that gateway by reference (``find_transfer``); only a definite "no such transfer"
lets routing move on, otherwise ``OutcomeUnknown`` tells the caller to ask that gateway again
later, never to pay elsewhere.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from caas.core.errors import DomainError
from caas.money import UnknownCurrencyError, normalise_currency
from caas.payments.gateways import Gateway, GatewayError, TransferRequest, TransferResult, gateway_from_config

DEFAULT_ROUTES: dict[str, tuple[str, ...]] = {
    "NGN": ("paystack", "flutterwave"),
    "GHS": ("paystack", "flutterwave"),
    "KES": ("paystack", "flutterwave"),
    "USD": ("stripe",),
    "EUR": ("stripe",),
    "GBP": ("stripe",),
    "*": ("sandbox",),
}


@dataclass(frozen=True)
class Attempt:
    gateway: str
    outcome: str  # the TransferStatus value, "error", or "not_found" (after an ambiguous error)
    error_code: str | None = None
    retryable: bool | None = None
    ambiguous: bool | None = None
    message: str | None = None


@dataclass(frozen=True)
class RoutingDecision:
    """What routing did, to store with the payout (``as_dict`` is JSON-ready)."""

    currency: str
    candidates: tuple[str, ...]
    chosen: str | None
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RoutedTransfer:
    result: TransferResult
    decision: RoutingDecision


class NoRoute(DomainError):
    """No configured gateway handles the currency: refused before any money moves."""

    def __init__(self, currency: str):
        super().__init__("no_gateway_for_currency", f"No payment gateway is configured for {currency}.", "currency")
        self.currency = currency


class RoutingFailed(Exception):
    """Routing ended without a transfer. ``decision`` says what was tried; ``retryable`` whether a
    later attempt (the payout job's retry) may succeed."""

    def __init__(self, message: str, decision: RoutingDecision, *, retryable: bool):
        super().__init__(message)
        self.decision = decision
        self.retryable = retryable


class OutcomeUnknown(RoutingFailed):
    """A gateway may have executed the transfer and cannot say yet. Retry ``verify_transfer`` /
    ``find_transfer`` at ``gateway`` with the same reference; never fail over."""

    def __init__(self, gateway: str, decision: RoutingDecision):
        super().__init__(f"outcome at {gateway} unknown; ask it again later", decision, retryable=True)
        self.gateway = gateway


class Router:
    def __init__(self, gateways: Mapping[str, Gateway], routes: Mapping[str, Sequence[str]] | None = None):
        self.gateways = dict(gateways)
        merged = dict(DEFAULT_ROUTES)
        merged.update({k.upper() if k != "*" else k: tuple(v) for k, v in (routes or {}).items()})
        self.routes = merged

    def gateway(self, name: str) -> Gateway:
        return self.gateways[name]

    def candidates(self, currency: str) -> list[str]:
        """Configured gateways for the currency, in order (the "*" route only if none)."""
        try:
            currency = normalise_currency(currency)
        except UnknownCurrencyError:
            raise NoRoute(str(currency)) from None

        def usable(names: Sequence[str]) -> list[str]:
            return [n for n in names if n in self.gateways and self.gateways[n].supports(currency)]

        return usable(self.routes.get(currency, ())) or usable(self.routes.get("*", ()))

    def transfer(self, request: TransferRequest, *, exclude: Sequence[str] = ()) -> RoutedTransfer:
        """Initiate the transfer at the first candidate that takes it. ``exclude`` skips gateways
        (e.g. one that failed this payout before). Raises ``NoRoute``, ``RoutingFailed`` or
        ``OutcomeUnknown``; on success the decision names the chosen gateway and every attempt."""
        candidates = tuple(n for n in self.candidates(request.currency) if n not in exclude)
        currency = normalise_currency(request.currency)
        if not candidates:
            raise NoRoute(currency)
        attempts: list[Attempt] = []

        def decision(chosen: str | None) -> RoutingDecision:
            return RoutingDecision(currency, candidates, chosen, tuple(attempts))

        for name in candidates:
            gateway = self.gateways[name]
            try:
                result = gateway.initiate_transfer(request)
            except GatewayError as exc:
                attempts.append(Attempt(name, "error", exc.code, exc.retryable, exc.ambiguous, exc.message))
                if exc.ambiguous:
                    try:
                        found = gateway.find_transfer(request)
                    except GatewayError as again:
                        attempts.append(Attempt(name, "error", again.code, again.retryable, again.ambiguous,
                                                again.message))
                        raise OutcomeUnknown(name, decision(None)) from again
                    if found is not None:
                        attempts.append(Attempt(name, found.status.value))
                        return RoutedTransfer(found, decision(name))
                    attempts.append(Attempt(name, "not_found"))
                    continue
                if not exc.retryable:
                    raise RoutingFailed(f"{name} refused the transfer: {exc.message}", decision(None),
                                        retryable=False) from exc
                continue
            attempts.append(Attempt(name, result.status.value))
            return RoutedTransfer(result, decision(name))
        raise RoutingFailed(f"every gateway for {currency} failed: {', '.join(candidates)}", decision(None),
                            retryable=True)


def router_from_config(config: Mapping[str, Any]) -> Router:
    """Build the router from app configuration:

    - ``PAYMENT_GATEWAYS``: {name: settings} (see ``gateway_from_config``). When absent, only the
      sandbox, and only in development or testing (``CAAS_ENV`` or ``TESTING``); production must
      configure its gateways explicitly.
    - ``PAYMENT_ROUTES``: {currency: [names]} overriding the defaults, "*" for the fallback.
    """
    settings = config.get("PAYMENT_GATEWAYS")
    if settings is None:
        development = config.get("CAAS_ENV") in ("development", "testing") or bool(config.get("TESTING"))
        settings = {"sandbox": {}} if development else {}
    gateways = {name: gateway_from_config(name, values or {}) for name, values in settings.items()}
    return Router(gateways, config.get("PAYMENT_ROUTES"))
