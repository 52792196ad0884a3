"""Pricing arithmetic: pure, no database. Everything a billing run charges is computed here.

A price is quoted in MAJOR units of the client's billing currency (the platform plan says
"100.00 per application"; for a client billed in NGN that is NGN 100.00) and converted to minor
units with the currency's exponent, so JPY and KWD clients are priced correctly too.

Rules (stated once, tested to the minor unit in tests/billing/test_pricing.py):
- Included units are free: billable = max(0, quantity - included).
- A unit price may be quoted per block (API calls: 0.10 per 1,000). The amount is
  billable x price / per_units, computed exactly and rounded ONCE per line, half-even.
- Payment transactions cost a percentage of the amount moved plus a fixed fee each
  (1.5% + 0.50). The percentage is taken on the period's summed amount (not per transaction, so
  no rounding is lost per row) and rounded once, half-even. Included transactions, if a tier has
  any, are free of the fixed fee and of their pro-rata share of the amount.
- Tax is per line, rounded half-even, so the invoice's tax equals the sum of its lines' tax.
- A late-usage adjustment re-prices the old period with everything now known and charges the
  difference to what was billed for it, so included units are never granted twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from caas.money import exponent, round_minor

METRICS = ("application_processed", "risk_assessment", "provider_network_access", "payment_transaction", "api_call")

LABELS = {
    "application_processed": "Application processing",
    "risk_assessment": "Risk assessment",
    "provider_network_access": "Provider network access",
    "payment_transaction": "Payment transactions",
    "api_call": "API calls",
}


@dataclass(frozen=True)
class Price:
    """One metric's price: ``unit_price`` (major units) per ``per_units`` units, plus for amount-based
    metrics ``percent`` of the amount moved; ``included_units`` are free each period."""

    metric: str
    unit_price: Decimal
    per_units: int = 1
    percent: Decimal = Decimal("0")
    included_units: int = 0

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}")
        for name in ("unit_price", "percent"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"{name} must be a non-negative Decimal")
        if self.per_units < 1 or self.included_units < 0:
            raise ValueError("per_units must be >= 1 and included_units >= 0")


@dataclass(frozen=True)
class Usage:
    """What a client used of one metric in one period: ``quantity`` units and, for payment
    transactions, ``base_minor`` = the sum of the amounts moved (minor units, billing currency)."""

    quantity: int
    base_minor: int = 0


@dataclass(frozen=True)
class Charge:
    quantity: int
    base_minor: int
    included_units: int
    billable_units: int
    amount_minor: int


def _unit_minor(price: Decimal, currency: str) -> Decimal:
    """A major-unit price as an exact (possibly fractional) number of minor units."""
    return price.scaleb(exponent(currency))


def charge(price: Price, usage: Usage, currency: str) -> Charge:
    """The amount for one metric's usage in one period, before tax."""
    if usage.quantity < 0 or usage.base_minor < 0:
        raise ValueError("usage cannot be negative")
    billable = max(0, usage.quantity - price.included_units)
    exact = Decimal(billable) * _unit_minor(price.unit_price, currency) / Decimal(price.per_units)
    if price.percent and usage.quantity:
        # The percentage applies to the billable share of the amount moved.
        share = Decimal(usage.base_minor) * Decimal(billable) / Decimal(usage.quantity)
        exact += share * price.percent / Decimal(100)
    return Charge(quantity=usage.quantity, base_minor=usage.base_minor,
                  included_units=min(usage.quantity, price.included_units), billable_units=billable,
                  amount_minor=round_minor(exact, ROUND_HALF_EVEN))


def adjustment(price: Price, billed: Usage, total: Usage, currency: str) -> Charge:
    """The extra charge for usage that arrived after a period was invoiced: the period re-priced
    with everything known now, less what its invoices already charged for it. Quantities on the
    returned charge are the late units only."""
    if total.quantity < billed.quantity or total.base_minor < billed.base_minor:
        raise ValueError("usage of a billed period can only grow")
    before, after = charge(price, billed, currency), charge(price, total, currency)
    return Charge(quantity=total.quantity - billed.quantity, base_minor=total.base_minor - billed.base_minor,
                  included_units=after.included_units - before.included_units,
                  billable_units=after.billable_units - before.billable_units,
                  amount_minor=after.amount_minor - before.amount_minor)


def tax(amount_minor: int, rate: Decimal) -> int:
    """Tax on one line at ``rate`` (0.075 for 7.5%), half-even to the minor unit."""
    if not isinstance(rate, Decimal) or rate < 0:
        raise ValueError("the tax rate is a non-negative Decimal")
    return round_minor(Decimal(amount_minor) * rate, ROUND_HALF_EVEN)


def unit_price_text(price: Price, currency: str) -> str:
    """How a line's price reads on an invoice: "100.00", "0.10 per 1,000", "1.5% + 0.50"."""
    places = Decimal(1).scaleb(-exponent(currency))
    amount = f"{price.unit_price.quantize(places, ROUND_HALF_EVEN):,}" if price.unit_price >= places \
        else f"{price.unit_price.normalize():f}"
    text = amount if price.per_units == 1 else f"{amount} per {price.per_units:,}"
    if price.percent:
        text = f"{price.percent.normalize():f}% + {text}"
    return text
