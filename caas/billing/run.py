"""The monthly billing run: every client's usage of a period becomes one draft invoice per client
(per currency moved, see below), exactly once.

Shape of a run (one transaction, set-based):
1. ``pg_advisory_xact_lock`` on the period, so concurrent runs of one period queue up; the second
   finds the first's invoices and creates nothing.
2. Network access for the period is recorded for every client with the marketplace switched on
   (one INSERT … SELECT, idempotent by its key ``provider_network_access:YYYY-MM``).
3. ONE aggregation query sums usage per client, metric and currency for the period, and, for
   earlier periods that were already invoiced and have usage recorded since shortly before this
   period (``LATE_OVERLAP``), the whole earlier period again.
4. In memory, pure pricing (caas.billing.pricing): lines for the period, and adjustment lines for
   late usage = the earlier period re-priced with everything known now, less what its invoices
   already billed. Nothing is billed twice, whenever a late event arrives.
5. Invoice numbers: a block from the per-year sequence row (gap-free: the row lock and the
   invoices commit or roll back together). Invoices and lines: one INSERT … unnest each.

Exactly once: a client that already has a (non-void) invoice for the period is skipped, so a
re-run leaves every invoice as it was: same numbers, same lines. Usage of the period that arrives
after its invoice was made is billed on the next period's invoice as an adjustment line.

Currencies: prices are in the client's billing currency (its default currency). A payment
transaction moved in another currency is priced in that currency and invoiced separately (the
platform does no FX), so a client has one invoice per period per currency it was charged in.
"""
from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from caas.billing import pricing
from caas.billing.models import BillingRun
from caas.billing.periods import Period
from caas.billing.prices import Book, book_for
from caas.core import tenant
from caas.core.errors import DomainError
from caas.tenancy.models import Client

LATE_OVERLAP = timedelta(days=7)

_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
# Runs of the period that started before this one and still say "running" once this one holds the
# period's lock: a live run holds that lock until it records its end, so these died (a SIGKILLed
# worker) and will never record one.
_ABANDON = text("""
UPDATE billing_runs SET status = 'abandoned', finished_at = now(),
       error = 'The process running it ended without finishing; a later run of the period took over.'
WHERE period = :period AND status = 'running' AND id <> :run_id AND started_at <= :started_at
""")
_MODE = text("SELECT set_config('app.billing_run', 'on', true), set_config('TimeZone', 'UTC', true)")

_NETWORK = text("""
INSERT INTO usage_events (id, client_id, metric, quantity, idempotency_key, occurred_at)
SELECT gen_random_uuid(), c.id, 'provider_network_access', 1, :key, :at
FROM clients c
WHERE 'provider_marketplace' = ANY(c.enabled_services) AND c.status = 'active' AND c.created_at < :end
  AND (CAST(:client AS uuid) IS NULL OR c.id = CAST(:client AS uuid))
ON CONFLICT (client_id, idempotency_key) DO NOTHING
""")

# The aggregation over usage_events: the period (a plain GROUP BY that PostgreSQL runs in parallel)…
_AGGREGATE = text("""
SELECT e.client_id, e.metric, e.currency, sum(e.quantity) AS quantity, coalesce(sum(e.amount_minor), 0) AS base
FROM usage_events e
WHERE e.occurred_at >= :start AND e.occurred_at < :end
  AND (CAST(:client AS uuid) IS NULL OR e.client_id = CAST(:client AS uuid))
GROUP BY e.client_id, e.metric, e.currency
""")

# … and whole earlier periods that were invoiced and have usage recorded since LATE_OVERLAP before
# the period began (found through the BRIN index on recorded_at: only what arrived lately is read).
_LATE = text("""
WITH late AS (
    SELECT DISTINCT client_id, date_trunc('month', occurred_at) AS month
    FROM usage_events
    WHERE recorded_at >= :late_from AND occurred_at < :start
      AND (CAST(:client AS uuid) IS NULL OR client_id = CAST(:client AS uuid))
), invoiced AS (
    SELECT DISTINCT l.client_id, l.month
    FROM late l
    JOIN invoices i ON i.client_id = l.client_id AND i.period = to_char(l.month, 'YYYY-MM') AND i.status <> 'void'
)
SELECT e.client_id, to_char(v.month, 'YYYY-MM') AS period, e.metric, e.currency,
       sum(e.quantity) AS quantity, coalesce(sum(e.amount_minor), 0) AS base
FROM invoiced v
JOIN usage_events e ON e.client_id = v.client_id AND e.occurred_at >= v.month
                   AND e.occurred_at < v.month + interval '1 month'
GROUP BY e.client_id, v.month, e.metric, e.currency
""")

_BILLED = text("""
SELECT l.client_id, l.usage_period, l.metric, i.currency, sum(l.quantity) AS quantity, sum(l.base_minor) AS base
FROM invoice_lines l
JOIN invoices i ON i.id = l.invoice_id AND i.status <> 'void'
JOIN unnest(CAST(:clients AS uuid[]), CAST(:periods AS varchar[])) AS c(client_id, period)
  ON c.client_id = l.client_id AND c.period = l.usage_period
GROUP BY l.client_id, l.usage_period, l.metric, i.currency
""")

_EXISTING = text("""
SELECT client_id, currency FROM invoices
WHERE period = :period AND status <> 'void' AND (CAST(:client AS uuid) IS NULL OR client_id = CAST(:client AS uuid))
""")

_NUMBERS = text("""
INSERT INTO invoice_sequences (year, last_number) VALUES (:year, :n)
ON CONFLICT (year) DO UPDATE SET last_number = invoice_sequences.last_number + :n
RETURNING last_number
""")

_INSERT_INVOICES = text("""
INSERT INTO invoices (id, client_id, period, currency, number, year, sequence, status, invoice_date, due_date,
                      tax_rate, subtotal_minor, tax_minor, total_minor, run_id)
SELECT id, client_id, :period, currency, number, :year, sequence, 'draft', :invoice_date, due_date, tax_rate,
       subtotal, tax, subtotal + tax, :run_id
FROM unnest(CAST(:ids AS uuid[]), CAST(:clients AS uuid[]), CAST(:currencies AS varchar[]),
            CAST(:numbers AS varchar[]), CAST(:sequences AS int[]), CAST(:due AS date[]),
            CAST(:rates AS numeric[]), CAST(:subtotals AS bigint[]), CAST(:taxes AS bigint[]))
     AS t(id, client_id, currency, number, sequence, due_date, tax_rate, subtotal, tax)
""")

_INSERT_LINES = text("""
INSERT INTO invoice_lines (id, client_id, invoice_id, position, metric, kind, usage_period, quantity, base_minor,
                           included_units, billable_units, unit_price, per_units, percent, amount_minor, tax_minor,
                           description)
SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:clients AS uuid[]), CAST(:invoices AS uuid[]),
                     CAST(:positions AS int[]), CAST(:metrics AS varchar[]), CAST(:kinds AS varchar[]),
                     CAST(:periods AS varchar[]), CAST(:quantities AS bigint[]), CAST(:bases AS bigint[]),
                     CAST(:included AS bigint[]), CAST(:billable AS bigint[]), CAST(:prices AS numeric[]),
                     CAST(:per AS int[]), CAST(:percents AS numeric[]), CAST(:amounts AS bigint[]),
                     CAST(:line_taxes AS bigint[]), CAST(:descriptions AS text[]))
""")


@dataclass
class DraftLine:
    metric: str
    kind: str
    usage_period: str
    price: pricing.Price
    charge: pricing.Charge
    tax_minor: int

    def description(self, currency: str) -> str:
        label = pricing.LABELS[self.metric]
        if self.kind == "adjustment":
            label = f"{label}: late usage of {Period.parse(self.usage_period).label()}"
        return f"{label} ({pricing.unit_price_text(self.price, currency)})"


@dataclass
class DraftInvoice:
    client: Client
    currency: str
    lines: list[DraftLine] = field(default_factory=list)

    @property
    def subtotal(self) -> int:
        return sum(line.charge.amount_minor for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax_minor for line in self.lines)


@dataclass(frozen=True)
class Totals:
    quantity: int
    base: int


def _usage_key(row) -> tuple[uuid.UUID, str, str, str | None]:  # noqa: ANN001
    return row.client_id, row.period, row.metric, row.currency


def plan_invoices(period: Period, clients: dict[uuid.UUID, Client], book: Book,
                  usage: dict[tuple[uuid.UUID, str, str, str], Totals],
                  billed: dict[tuple[uuid.UUID, str, str, str], Totals],
                  skip: set[tuple[uuid.UUID, str]]) -> list[DraftInvoice]:
    """Pure: the draft invoices for ``period`` from summed usage (keys: client, usage period, metric,
    invoice currency) and what earlier invoices billed. Deterministic order: client slug, currency."""
    drafts: dict[tuple[uuid.UUID, str], DraftInvoice] = {}
    prices_cache: dict[uuid.UUID, dict[str, pricing.Price]] = {}
    this = str(period)
    rank = {metric: n for n, metric in enumerate(pricing.METRICS)}
    ordered = sorted(usage.items(), key=lambda kv: (kv[0][1] != this, kv[0][1], rank.get(kv[0][2], 99)))
    for (client_id, usage_period, metric, currency), totals in ordered:
        client = clients.get(client_id)
        if client is None or (client_id, currency) in skip or metric not in pricing.METRICS:
            continue
        prices = prices_cache.get(client_id)
        if prices is None:
            prices = prices_cache[client_id] = book.for_client(client_id, client.tier.value)
        price = prices.get(metric)
        if price is None:
            continue  # no price in force: nothing to charge (the run report counts clients, not this)
        if usage_period == this:
            kind, result = "usage", pricing.charge(price, pricing.Usage(totals.quantity, totals.base), currency)
        else:
            before = billed.get((client_id, usage_period, metric, currency), Totals(0, 0))
            if totals.quantity <= before.quantity and totals.base <= before.base:
                continue
            kind = "adjustment"
            result = pricing.adjustment(price, pricing.Usage(before.quantity, before.base),
                                        pricing.Usage(totals.quantity, totals.base), currency)
        draft = drafts.setdefault((client_id, currency), DraftInvoice(client, currency))
        draft.lines.append(DraftLine(metric, kind, usage_period, price, result,
                                     pricing.tax(result.amount_minor, Decimal(client.billing_tax_rate))))
    return sorted(drafts.values(), key=lambda d: (d.client.slug, d.currency))


def record_network_access(session: Session, period: Period, client: Client | None = None) -> int:
    """One ``provider_network_access`` use per client per month while its marketplace is switched on
    (idempotent by key). The run records its own period; the monthly schedule records the new one."""
    with tenant.all_tenants_scope(session):
        session.execute(_MODE)
        result = session.execute(_NETWORK, {"key": f"provider_network_access:{period}", "at": period.starts_at,
                                            "end": period.ends_at, "client": str(client.id) if client else None})
    return result.rowcount


def bill_period(session: Session, period: Period, run: BillingRun, *, client: Client | None = None,
                now: datetime | None = None) -> BillingRun:
    """Steps 1–5 above, in the caller's transaction (the caller commits). Updates ``run``'s counts."""
    period.require_over(now or datetime.now(timezone.utc))
    client_param = str(client.id) if client else None
    with tenant.all_tenants_scope(session):
        session.execute(_LOCK, {"key": f"billing:{period}"})
        if run.id is not None:
            session.execute(_ABANDON, {"period": str(period), "run_id": run.id, "started_at": run.started_at})
        record_network_access(session, period, client)
        params = {"start": period.starts_at, "end": period.ends_at, "client": client_param}
        rows = [(r.client_id, str(period), r.metric, r.currency, r.quantity, r.base)
                for r in session.execute(_AGGREGATE, params)]
        rows += [tuple(r) for r in session.execute(_LATE, {**params, "late_from": period.starts_at - LATE_OVERLAP})]
        client_rows = session.scalars(select(Client).where(Client.id.in_({r[0] for r in rows}))).all() \
            if rows else []
        clients = {c.id: c for c in client_rows}
        usage: dict = defaultdict(lambda: Totals(0, 0))
        for client_id, usage_period, metric, currency, quantity, base in rows:
            c = clients.get(client_id)
            if c is None:
                continue
            key = (client_id, usage_period, metric, currency or c.default_currency)
            prior = usage[key]
            usage[key] = Totals(prior.quantity + int(quantity), prior.base + int(base))
        earlier = sorted({(k[0], k[1]) for k in usage if k[1] != str(period)})
        billed = {}
        if earlier:
            for row in session.execute(_BILLED, {"clients": [c for c, _ in earlier],
                                                 "periods": [p for _, p in earlier]}):
                billed[(row.client_id, row.usage_period, row.metric, row.currency)] = Totals(int(row.quantity),
                                                                                             int(row.base))
        existing = {(r.client_id, r.currency) for r in session.execute(
            _EXISTING, {"period": str(period), "client": client_param})}
        drafts = plan_invoices(period, clients, book_for(session, period), dict(usage), billed, existing)
        _insert(session, period, run, drafts)
    run.clients = len({d.client.id for d in drafts} | {c for c, _ in existing})
    run.invoices_existing = len(existing)
    run.invoices_created = len(drafts)
    run.lines_created = sum(len(d.lines) for d in drafts)
    return run


def _insert(session: Session, period: Period, run: BillingRun, drafts: list[DraftInvoice]) -> None:
    if not drafts:
        return
    invoice_date = period.end
    year = invoice_date.year
    last = session.execute(_NUMBERS, {"year": year, "n": len(drafts)}).scalar_one()
    first = last - len(drafts) + 1
    ids = [uuid.uuid4() for _ in drafts]
    sequences = list(range(first, last + 1))
    session.execute(_INSERT_INVOICES, {
        "period": str(period), "year": year, "invoice_date": invoice_date, "run_id": run.id,
        "ids": ids, "clients": [d.client.id for d in drafts], "currencies": [d.currency for d in drafts],
        "numbers": [f"INV-{year}-{n:06d}" for n in sequences], "sequences": sequences,
        "due": [invoice_date + timedelta(days=d.client.payment_terms_days) for d in drafts],
        "rates": [Decimal(d.client.billing_tax_rate) for d in drafts],
        "subtotals": [d.subtotal for d in drafts], "taxes": [d.tax for d in drafts]})
    cols: dict[str, list] = defaultdict(list)
    for invoice_id, draft in zip(ids, drafts):
        for position, line in enumerate(draft.lines, start=1):
            cols["ids"].append(uuid.uuid4())
            cols["clients"].append(draft.client.id)
            cols["invoices"].append(invoice_id)
            cols["positions"].append(position)
            cols["metrics"].append(line.metric)
            cols["kinds"].append(line.kind)
            cols["periods"].append(line.usage_period)
            cols["quantities"].append(line.charge.quantity)
            cols["bases"].append(line.charge.base_minor)
            cols["included"].append(line.charge.included_units)
            cols["billable"].append(line.charge.billable_units)
            cols["prices"].append(line.price.unit_price)
            cols["per"].append(line.price.per_units)
            cols["percents"].append(line.price.percent)
            cols["amounts"].append(line.charge.amount_minor)
            cols["line_taxes"].append(line.tax_minor)
            cols["descriptions"].append(line.description(draft.currency))
    session.execute(_INSERT_LINES, dict(cols))


def execute(session: Session, period: Period | str, *, client_slug: str | None = None,
            triggered_by: str = "system") -> BillingRun:
    """Run the billing of a period and commit: a ``running`` row first (so admins see it), then the
    run in its own transaction; a failure rolls the run back and marks the row ``failed``."""
    period = Period.parse(period) if isinstance(period, str) else period
    client = None
    if client_slug:
        client = session.scalar(select(Client).where(Client.slug == client_slug))
        if client is None:
            raise DomainError("unknown_client", f"No client with slug {client_slug!r}.", "client")
    period.require_over(datetime.now(timezone.utc))
    run = BillingRun(period=str(period), scope_client_id=client.id if client else None, status="running",
                     triggered_by=triggered_by[:80], clients=0, invoices_created=0, invoices_existing=0,
                     lines_created=0)
    session.add(run)
    session.commit()
    run_id = run.id
    started = time.monotonic()
    try:
        run = session.get(BillingRun, run_id)
        bill_period(session, period, run, client=client)
        run.status = "completed"
        run.finished_at = datetime.now(timezone.utc)
        run.duration_ms = int((time.monotonic() - started) * 1000)
        session.commit()
    except Exception as exc:
        session.rollback()
        failed = session.get(BillingRun, run_id)
        failed.status = "failed"
        failed.error = f"{type(exc).__name__}: {exc}"[:2000]
        failed.finished_at = datetime.now(timezone.utc)
        failed.duration_ms = int((time.monotonic() - started) * 1000)
        session.commit()
        raise
    return run


def previous_period(now: datetime | None = None) -> Period:
    return Period.of(now or datetime.now(timezone.utc)).previous()

