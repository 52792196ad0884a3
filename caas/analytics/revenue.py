"""Revenue: what the platform invoiced its clients per month and metric (billing), and the
commission it kept from borrowers' repayments (the ledger).

- Billing: lines of issued or paid invoices (drafts and voided ones are not revenue), before tax,
  by the invoice's month, for every month the window touches.
- Commissions: the ledger's credits to platform fee revenue posted for repayments
  (entries ``repayment:<reference>``), by the month the repayment was received, for repayments
  received in the window. The ledger is the platform's own books; the repayment (a tenant row)
  names the client, so the client filter and the tenant scope apply to it.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from caas.analytics import charts, tables
from caas.analytics.window import Window
from caas.billing import pricing
from caas.billing.models import Invoice, InvoiceLine, InvoiceStatus
from caas.ledger.models import Account, AccountKind, JournalEntry, JournalLine
from caas.loans.models import Repayment
from caas.money import describe
from caas.tenancy.models import Client

REVENUE_STATES = (InvoiceStatus.issued, InvoiceStatus.paid)


@dataclass(frozen=True)
class BillingMonth:
    month: str
    currency: str
    metric: str
    amount_minor: int


def billing_by_month(session: Session, window: Window, client_id: uuid.UUID | None = None) -> list[BillingMonth]:
    months = window.months()
    query = (select(Invoice.period, Invoice.currency, InvoiceLine.metric, func.sum(InvoiceLine.amount_minor))
             .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
             .where(Invoice.status.in_(REVENUE_STATES), Invoice.period >= months[0], Invoice.period <= months[-1])
             .group_by(Invoice.period, Invoice.currency, InvoiceLine.metric)
             .order_by(Invoice.currency, Invoice.period))
    if client_id:
        query = query.where(Invoice.client_id == client_id)
    order = {m: i for i, m in enumerate(pricing.METRICS)}
    rows = [BillingMonth(p, c, m, int(a)) for p, c, m, a in session.execute(query)]
    return sorted(rows, key=lambda r: (r.currency, r.month, order.get(r.metric, len(order))))


@dataclass(frozen=True)
class ClientRevenue:
    client: str
    currency: str
    invoiced_minor: int
    commission_minor: int


@dataclass(frozen=True)
class CommissionMonth:
    month: str
    currency: str
    repayments: int
    commission_minor: int


def _commissions(window: Window, client_id: uuid.UUID | None):
    """(client_id, month, currency, commission) per repayment: the ledger's platform revenue lines
    of the repayment's entry (reached by its unique idempotency key)."""
    key = literal("repayment:") + Repayment.reference
    query = (select(Repayment.client_id, func.to_char(Repayment.received_on, "YYYY-MM").label("month"),
                    JournalLine.currency, (JournalLine.credit_minor - JournalLine.debit_minor).label("amount"))
             .join(JournalEntry, JournalEntry.idempotency_key == key)
             .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
             .join(Account, Account.id == JournalLine.account_id)
             .where(Repayment.status == "succeeded", Repayment.received_on >= window.start,
                    Repayment.received_on <= window.end, Account.kind == AccountKind.platform_fee_revenue.value))
    if client_id:
        query = query.where(Repayment.client_id == client_id)
    return query.subquery()


def commissions_by_month(session: Session, window: Window, client_id: uuid.UUID | None = None
                         ) -> list[CommissionMonth]:
    sub = _commissions(window, client_id)
    return [CommissionMonth(m, c, n, int(a)) for m, c, n, a in session.execute(
        select(sub.c.month, sub.c.currency, func.count(), func.sum(sub.c.amount))
        .group_by(sub.c.month, sub.c.currency).order_by(sub.c.currency, sub.c.month))]


def by_client(session: Session, window: Window, client_id: uuid.UUID | None = None) -> list[ClientRevenue]:
    """Invoiced and commission per client and currency over the window."""
    months = window.months()
    invoiced = (select(Invoice.client_id, Invoice.currency, func.sum(InvoiceLine.amount_minor))
                .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
                .where(Invoice.status.in_(REVENUE_STATES), Invoice.period >= months[0], Invoice.period <= months[-1])
                .group_by(Invoice.client_id, Invoice.currency))
    if client_id:
        invoiced = invoiced.where(Invoice.client_id == client_id)
    sub = _commissions(window, client_id)
    totals: dict[tuple[uuid.UUID, str], list[int]] = defaultdict(lambda: [0, 0])
    for cid, currency, amount in session.execute(invoiced):
        totals[(cid, currency)][0] = int(amount)
    for cid, currency, amount in session.execute(select(sub.c.client_id, sub.c.currency, func.sum(sub.c.amount))
                                                 .group_by(sub.c.client_id, sub.c.currency)):
        totals[(cid, currency)][1] = int(amount)
    names = dict(session.execute(select(Client.id, Client.display_name)
                                 .where(Client.id.in_({cid for cid, _ in totals}))).all()) if totals else {}
    return sorted((ClientRevenue(names.get(cid, str(cid)), currency, *amounts)
                   for (cid, currency), amounts in totals.items()), key=lambda r: (r.client, r.currency))


def dashboard(session: Session, window: Window, client_id: uuid.UUID | None = None) -> tables.Dashboard:
    billing = billing_by_month(session, window, client_id)
    commissions = commissions_by_month(session, window, client_id)
    months = window.months()
    currencies = sorted({b.currency for b in billing} | {c.currency for c in commissions})
    grid: dict[tuple[str, str, str], int] = {(b.currency, b.month, b.metric): b.amount_minor for b in billing}
    kept = {(c.currency, c.month): c.commission_minor for c in commissions}
    revenue_charts = []
    for currency in currencies:
        series = [charts.Series(pricing.LABELS[m], tuple(grid.get((currency, month, m), 0) for month in months))
                  for m in pricing.METRICS if any((currency, month, m) in grid for month in months)]
        series.append(charts.Series("Commission on repayments",
                                    tuple(kept.get((currency, month), 0) for month in months)))
        revenue_charts.append(charts.bar_chart(f"Revenue per month, {currency}", months, series,
                                               fmt=lambda v, c=currency: describe(int(v), c, with_code=False)))
    return tables.Dashboard("revenue", "Revenue", (
        tables.Section("Invoiced per month and metric", tables.Table(
            "billing", "Issued and paid invoices, before tax, per month, currency and metric",
            ("Month", "Currency", "Metric", "Invoiced"),
            tuple((b.month, b.currency, pricing.LABELS.get(b.metric, b.metric),
                   tables.Amount(b.amount_minor, b.currency)) for b in billing)),
            revenue_charts or [charts.placeholder("Revenue per month")]),
        tables.Section("Commissions from repayments", tables.Table(
            "commissions", "The platform's commission on repayments received, per month and currency",
            ("Month", "Currency", "Repayments", "Commission"),
            tuple((c.month, c.currency, c.repayments, tables.Amount(c.commission_minor, c.currency))
                  for c in commissions))),
        tables.Section("Per client", tables.Table(
            "clients", "Invoiced and commission per client and currency over the period",
            ("Client", "Currency", "Invoiced", "Commission"),
            tuple((r.client, r.currency, tables.Amount(r.invoiced_minor, r.currency),
                   tables.Amount(r.commission_minor, r.currency)) for r in by_client(session, window, client_id)))),
    ))
