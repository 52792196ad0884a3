"""The price book: the platform plan per tier, per-client overrides, dated from the 1st of a month.

For a period, each metric's price is the entry with the latest ``effective_from`` on or before the
period's first day; a client's own entry beats its tier's when both exist for that date or the
client's is newer. Price changes therefore apply from whole months, which keeps every invoice line
at one price (stated in README "Billing").
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.billing.models import PriceBookEntry
from caas.billing.periods import Period
from caas.billing.pricing import LABELS, METRICS, Price
from caas.core.errors import DomainError
from caas.tenancy.models import Client


@dataclass(frozen=True)
class Book:
    """Every price entry in force for one period, resolved per client in memory."""

    tier_prices: dict[tuple[str, str], PriceBookEntry]   # (tier, metric) → entry
    client_prices: dict[tuple[uuid.UUID, str], PriceBookEntry]  # (client, metric) → entry
    priced: dict[uuid.UUID, Price] = field(default_factory=dict)  # entry id → Price, made once

    def for_client(self, client_id: uuid.UUID, tier: str) -> dict[str, Price]:
        prices = {}
        for metric in METRICS:
            tier_entry = self.tier_prices.get((tier, metric))
            own = self.client_prices.get((client_id, metric))
            entry = own if own is not None and (tier_entry is None or own.effective_from >= tier_entry.effective_from) \
                else tier_entry
            if entry is not None:
                price = self.priced.get(entry.id)
                if price is None:
                    price = self.priced[entry.id] = to_price(entry)
                prices[metric] = price
        return prices


def to_price(entry: PriceBookEntry) -> Price:
    return Price(metric=entry.metric, unit_price=Decimal(entry.unit_price), per_units=entry.per_units,
                 percent=Decimal(entry.percent), included_units=entry.included_units)


def book_for(session: Session, period: Period, client_ids: list[uuid.UUID] | None = None) -> Book:
    """The entries in force on the period's first day (two small queries, whatever the client count)."""
    rows = session.scalars(select(PriceBookEntry).where(PriceBookEntry.effective_from <= period.start)
                           .order_by(PriceBookEntry.effective_from)).all()
    tier_prices: dict[tuple[str, str], PriceBookEntry] = {}
    client_prices: dict[tuple[uuid.UUID, str], PriceBookEntry] = {}
    for row in rows:  # ordered by date, so the newest wins
        if row.client_id is None:
            tier_prices[(row.tier, row.metric)] = row
        elif client_ids is None or row.client_id in client_ids:
            client_prices[(row.client_id, row.metric)] = row
    return Book(tier_prices, client_prices)


def prices_for(session: Session, client: Client, period: Period) -> dict[str, Price]:
    return book_for(session, period, [client.id]).for_client(client.id, client.tier.value)


def _decimal(value: str, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError("invalid_price", "Enter a number, for example 100.00.", field) from None
    if not number.is_finite() or number < 0:
        raise DomainError("invalid_price", "Enter a number of zero or more.", field)
    return number


def set_client_price(session: Session, actor: Actor, client: Client, *, metric: str, effective_from: date,
                     unit_price: str, per_units: int = 1, percent: str = "0", included_units: int = 0
                     ) -> PriceBookEntry:
    """A per-client override from the 1st of a month (an existing one for that month is replaced).
    Runs in the client's tenant; audited with the previous price."""
    if metric not in METRICS:
        raise DomainError("invalid_metric", f"Choose one of: {', '.join(LABELS[m] for m in METRICS)}.", "metric")
    if effective_from.day != 1:
        raise DomainError("invalid_date", "Prices change from the first day of a month.", "effective_from")
    if per_units < 1:
        raise DomainError("invalid_price", "Price per at least 1 unit.", "per_units")
    if included_units < 0:
        raise DomainError("invalid_price", "Included units cannot be negative.", "included_units")
    entry = session.scalar(select(PriceBookEntry).where(PriceBookEntry.client_id == client.id,
                                                        PriceBookEntry.metric == metric,
                                                        PriceBookEntry.effective_from == effective_from))
    before = None
    if entry is None:
        entry = PriceBookEntry(client_id=client.id, metric=metric, effective_from=effective_from)
        session.add(entry)
    else:
        before = {"unit_price": str(entry.unit_price), "per_units": entry.per_units, "percent": str(entry.percent),
                  "included_units": entry.included_units}
    entry.unit_price = _decimal(unit_price, "unit_price")
    entry.percent = _decimal(percent, "percent")
    entry.per_units = per_units
    entry.included_units = included_units
    session.flush()
    record(session, actor, "billing.price_override", client_id=client.id, target_type="price_book",
           target_id=entry.id, before=before,
           after={"metric": metric, "effective_from": effective_from.isoformat(), "unit_price": str(entry.unit_price),
                  "per_units": per_units, "percent": str(entry.percent), "included_units": included_units})
    return entry


def set_billing_terms(session: Session, actor: Actor, client: Client, *, tax_rate_percent: str,
                      payment_terms_days: int) -> Client:
    """The tax added to the client's invoices (percent, e.g. 7.5) and the days until they are due,
    for invoices made from now on (issued ones keep theirs). Audited with the previous values."""
    rate = _decimal(tax_rate_percent, "tax_rate")
    if rate > 100:
        raise DomainError("invalid_tax_rate", "A tax rate is between 0 and 100 percent.", "tax_rate")
    if not 0 <= payment_terms_days <= 365:
        raise DomainError("invalid_terms", "Payment terms are 0 to 365 days.", "payment_terms_days")
    fraction = (rate / 100).quantize(Decimal("0.0001"))
    if fraction * 100 != rate:
        raise DomainError("invalid_tax_rate", "Give the rate with at most two decimals, e.g. 7.5.", "tax_rate")
    before = {"tax_rate": str(client.billing_tax_rate), "payment_terms_days": client.payment_terms_days}
    client.billing_tax_rate = fraction
    client.payment_terms_days = payment_terms_days
    session.flush()
    record(session, actor, "billing.terms_changed", client_id=client.id, target_type="client", target_id=client.id,
           before=before, after={"tax_rate": str(client.billing_tax_rate), "payment_terms_days": payment_terms_days})
    return client


def overrides_of(session: Session, client_id: uuid.UUID) -> list[PriceBookEntry]:
    return list(session.scalars(select(PriceBookEntry).where(PriceBookEntry.client_id == client_id)
                                .order_by(PriceBookEntry.metric, PriceBookEntry.effective_from)))
