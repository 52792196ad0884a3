"""What billing shows people: a client's usage this month against its plan, usage over the last
months, revenue by month and metric, and the runs. Set-based reads under the caller's scope."""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from caas.billing import pricing
from caas.billing.models import BillingRun, Invoice, InvoiceLine, InvoiceStatus, UsageEvent
from caas.billing.periods import Period
from caas.billing.prices import prices_for
from caas.tenancy.models import Client


@dataclass(frozen=True)
class MetricUsage:
    metric: str
    label: str
    quantity: int
    included_units: int
    billable_units: int
    estimate_minor: int  # what it would cost if the month ended now, before tax
    price_text: str

    @property
    def percent_of_included(self) -> int | None:
        return min(100, self.quantity * 100 // self.included_units) if self.included_units else None


def current_usage(session: Session, client: Client, now: datetime | None = None) -> list[MetricUsage]:
    """This month so far, per metric, priced in the client's billing currency (payments moved in
    other currencies are left out of the estimate and shown on their own invoice)."""
    period = Period.of(now or datetime.now(timezone.utc))
    rows = session.execute(
        select(UsageEvent.metric, func.sum(UsageEvent.quantity), func.coalesce(func.sum(UsageEvent.amount_minor), 0))
        .where(UsageEvent.client_id == client.id, UsageEvent.occurred_at >= period.starts_at,
               UsageEvent.occurred_at < period.ends_at,
               (UsageEvent.currency.is_(None)) | (UsageEvent.currency == client.default_currency))
        .group_by(UsageEvent.metric)).all()
    used = {metric: (int(q), int(base)) for metric, q, base in rows}
    prices = prices_for(session, client, period)
    result = []
    for metric in pricing.METRICS:
        price = prices.get(metric)
        if price is None:
            continue
        quantity, base = used.get(metric, (0, 0))
        charge = pricing.charge(price, pricing.Usage(quantity, base), client.default_currency)
        result.append(MetricUsage(metric, pricing.LABELS[metric], quantity, price.included_units,
                                  charge.billable_units, charge.amount_minor,
                                  pricing.unit_price_text(price, client.default_currency)))
    return result


@dataclass(frozen=True)
class MonthUsage:
    month: str
    by_metric: dict[str, int]


def monthly_usage(session: Session, client_id: uuid.UUID, months: int = 12,
                  now: datetime | None = None) -> list[MonthUsage]:
    """Units per metric per month, the last ``months`` months including this one (empty months too)."""
    last = Period.of(now or datetime.now(timezone.utc))
    first = last.back(months - 1)
    session.execute(text("SELECT set_config('TimeZone', 'UTC', true)"))
    month = func.to_char(func.date_trunc("month", UsageEvent.occurred_at), "YYYY-MM")
    rows = session.execute(select(month, UsageEvent.metric, func.sum(UsageEvent.quantity))
                           .where(UsageEvent.client_id == client_id, UsageEvent.occurred_at >= first.starts_at,
                                  UsageEvent.occurred_at < last.ends_at)
                           .group_by(month, UsageEvent.metric)).all()
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for m, metric, quantity in rows:
        found[m][metric] = int(quantity)
    result, p = [], first
    while p <= last:
        result.append(MonthUsage(str(p), found.get(str(p), {})))
        p = p.next()
    return result


@dataclass(frozen=True)
class RevenueMonth:
    month: str
    currency: str
    by_metric: dict[str, int]

    @property
    def total_minor(self) -> int:
        return sum(self.by_metric.values())


def revenue_by_month(session: Session, months: int = 12, now: datetime | None = None) -> list[RevenueMonth]:
    """Invoiced revenue (issued or paid, before tax) per invoice period, currency and metric."""
    last = Period.of(now or datetime.now(timezone.utc))
    first = last.back(months - 1)
    rows = session.execute(
        select(Invoice.period, Invoice.currency, InvoiceLine.metric, func.sum(InvoiceLine.amount_minor))
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(Invoice.status.in_([InvoiceStatus.issued, InvoiceStatus.paid]), Invoice.period >= str(first),
               Invoice.period <= str(last))
        .group_by(Invoice.period, Invoice.currency, InvoiceLine.metric)
        .order_by(Invoice.period, Invoice.currency)).all()
    grouped: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for period, currency, metric, amount in rows:
        grouped[(period, currency)][metric] = int(amount)
    return [RevenueMonth(p, c, m) for (p, c), m in grouped.items()]


def recent_runs(session: Session, limit: int = 24) -> list[BillingRun]:
    return list(session.scalars(select(BillingRun).order_by(BillingRun.started_at.desc()).limit(limit)))


def outstanding(session: Session, client_id: uuid.UUID) -> dict[str, int]:
    """Issued, unpaid invoice totals per currency (what the client owes now)."""
    rows = session.execute(select(Invoice.currency, func.sum(Invoice.total_minor))
                           .where(Invoice.client_id == client_id, Invoice.status == InvoiceStatus.issued)
                           .group_by(Invoice.currency)).all()
    return {currency: int(total) for currency, total in rows}


def chart_scale(values: list[int]) -> int:
    """The largest value, at least 1, so a chart can divide by it."""
    return max([1, *values])

