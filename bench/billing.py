"""Usage ingestion and the monthly billing run.

    python -m bench billing        (EVENTS=1000000 CLIENTS=2000 BATCH=5000 to change it)

Data (database caas_bench_billing, Redis database 5): CLIENTS clients (made once through the app's
operations, kept between runs; half with the marketplace switched on, a third on each tier), then
every run empties the usage, invoice and run tables and:

1. Ingestion: EVENTS usage events for October 2026, in time order as they would arrive, through the
   batched ingestion path (caas.billing.usage.ingest: one INSERT … SELECT FROM unnest per batch of
   BATCH events of many tenants, one transaction each) as the app role under row-level security. Mix: 35% application_processed, 30% risk_assessment, 20%
   payment_transaction (amounts 1,000.00-500,000.00), 15% api_call rows (1-400 calls each).
   Prints events per second. Target: at least 20,000 per second.
2. The bare aggregation over the same table (SELECT client_id, metric, sum(quantity) … GROUP BY),
   as the owner, timed warm (best of 3).
3. The billing run for 2026-10 (caas.billing.run.execute, the app role, the same code as
   ``flask billing run``), then a re-run (must create nothing). Target: at most 10 s, and at most
   5 times the bare aggregation.
4. Checks: one invoice per client and currency with usage; the lines' quantities per metric equal
   the bare aggregation's sums.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._http import owner_dsn, prepare, vacuum_analyze  # noqa: E402

DATABASE = "caas_bench_billing"
REDIS_DB = 5
EVENTS = int(os.environ.get("EVENTS", "1000000"))
CLIENTS = int(os.environ.get("CLIENTS", "2000"))
BATCH = int(os.environ.get("BATCH", "5000"))
PERIOD = "2026-10"
START = datetime(2026, 10, 1, tzinfo=timezone.utc)
SLUG = "bill-{:04d}"
SEED = 20261031
TARGETS = {"events_per_s": 20_000, "run_s": 10.0, "ratio": 5.0}
TABLES = ("usage_events", "invoice_lines", "invoices", "billing_runs", "invoice_sequences")


def set_up_clients(app) -> list[tuple[uuid.UUID, str]]:
    """CLIENTS clients through the operations (once); returns (id, currency) in slug order."""
    from sqlalchemy import select

    from caas.audit.operations import Actor
    from caas.core.extensions import db
    from caas.tenancy import operations
    from caas.tenancy.models import Client

    with app.app_context():
        session = db.session
        have = {slug for slug in session.scalars(select(Client.slug).where(Client.slug.like("bill-%")))}
        actor = Actor.system("bench")
        made = 0
        for n in range(CLIENTS):
            slug = SLUG.format(n)
            if slug in have:
                continue
            services = ["borrower_portal", "client_api"] + (["provider_marketplace"] if n % 2 == 0 else [])
            operations.create_client(session, actor, slug=slug, legal_name=f"Billing Client {n:04d} Ltd",
                                     display_name=f"Billing Client {n:04d}", country="NG", currency="NGN",
                                     tier=("starter", "professional", "enterprise")[n % 3], services=services)
            made += 1
            if made % 200 == 0:
                session.commit()
        session.commit()
        rows = session.execute(select(Client.id, Client.default_currency).where(Client.slug.like("bill-%"))
                               .order_by(Client.slug)).all()
        session.remove()
    return [(r.id, r.default_currency) for r in rows][:CLIENTS]


def reset(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")
        # the clients existed before October (the run bills network access only to clients that did)
        conn.execute("UPDATE clients SET created_at = '2026-09-01' WHERE slug LIKE 'bill-%'")


def events(clients: list[tuple[uuid.UUID, str]]):
    """EVENTS uses spread over the clients and over October, in time order (as they arrive)."""
    from caas.billing.usage import UsageInput

    rng = random.Random(SEED)
    seconds = 31 * 24 * 3600
    step = seconds / EVENTS
    items = []
    for k in range(EVENTS):
        client_id, currency = clients[rng.randrange(len(clients))]
        at = START + timedelta(seconds=int(k * step))
        key = f"bench:{k}"
        roll = rng.random()
        if roll < 0.35:
            items.append(UsageInput(client_id, "application_processed", key, occurred_at=at))
        elif roll < 0.65:
            items.append(UsageInput(client_id, "risk_assessment", key, occurred_at=at))
        elif roll < 0.85:
            items.append(UsageInput(client_id, "payment_transaction", key,
                                    amount_minor=rng.randrange(1_000_00, 500_000_00), currency=currency, occurred_at=at))
        else:
            items.append(UsageInput(client_id, "api_call", key, quantity=rng.randrange(1, 401), occurred_at=at))
    return items


def ingest(app, clients) -> tuple[int, float]:
    """Returns (events inserted, seconds): batches of BATCH through caas.billing.usage.ingest, one
    transaction each, as the app role."""
    from caas.billing import usage
    from caas.core.extensions import db

    items = events(clients)  # built before the clock starts: we time ingestion, not random()
    with app.app_context():
        session = db.session
        t0 = time.perf_counter()
        inserted = 0
        for i in range(0, len(items), BATCH):
            inserted += usage.ingest(session, items[i:i + BATCH])
            session.commit()
        elapsed = time.perf_counter() - t0
        session.remove()
    return inserted, elapsed


BARE = ("SELECT client_id, metric, sum(quantity) FROM usage_events "
        "WHERE occurred_at >= '2026-10-01' AND occurred_at < '2026-11-01' GROUP BY client_id, metric")


def bare_aggregation(dsn: str) -> tuple[float, dict]:
    import psycopg

    best, sums = None, {}
    with psycopg.connect(dsn) as conn:
        for _ in range(3):
            t0 = time.perf_counter()
            rows = conn.execute(BARE).fetchall()
            took = time.perf_counter() - t0
            best = took if best is None else min(best, took)
        for _client, metric, quantity in rows:
            sums[metric] = sums.get(metric, 0) + int(quantity)
    return best, sums


def billing_run(app) -> tuple[float, dict, float, dict]:
    from caas.billing import run
    from caas.core.extensions import db

    with app.app_context():
        t0 = time.perf_counter()
        first = run.execute(db.session, PERIOD, triggered_by="bench")
        first_s = time.perf_counter() - t0
        one = {"invoices_created": first.invoices_created, "lines": first.lines_created,
               "duration_ms": first.duration_ms}
        t0 = time.perf_counter()
        again = run.execute(db.session, PERIOD, triggered_by="bench")
        again_s = time.perf_counter() - t0
        two = {"invoices_created": again.invoices_created, "invoices_existing": again.invoices_existing}
        db.session.remove()
    return first_s, one, again_s, two


def check(dsn: str, sums: dict) -> dict:
    import psycopg

    with psycopg.connect(dsn) as conn:
        billed = dict(conn.execute("SELECT metric, sum(quantity) FROM invoice_lines WHERE usage_period = %s "
                                   "GROUP BY metric", (PERIOD,)).fetchall())
        invoices = conn.execute("SELECT count(*), count(DISTINCT client_id), sum(total_minor) FROM invoices "
                                "WHERE period = %s", (PERIOD,)).fetchone()
        network = conn.execute("SELECT count(*) FROM usage_events WHERE metric = 'provider_network_access'").fetchone()[0]
    mismatched = {m: (int(billed.get(m, 0)), sums.get(m, 0)) for m in sums if m != "provider_network_access"
                  and int(billed.get(m, 0)) != sums.get(m, 0)}
    return {"invoices": invoices[0], "clients_invoiced": invoices[1], "total_minor": int(invoices[2] or 0),
            "network_access_recorded": network, "quantities_mismatched": mismatched}


def main() -> None:
    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    env, _services = prepare(DATABASE, redis_db=REDIS_DB)
    os.environ.update(env)
    dsn = owner_dsn(env["DATABASE_URL"])
    from app import create_app

    app = create_app()
    t0 = time.perf_counter()
    clients = set_up_clients(app)
    print(f"clients: {len(clients)} ready in {time.perf_counter() - t0:.1f} s", flush=True)
    reset(dsn)

    inserted, ingest_s = ingest(app, clients)
    rate = inserted / ingest_s
    print(f"ingestion: {inserted:,} events in {ingest_s:.2f} s = {rate:,.0f} events/s "
          f"(batches of {BATCH:,} across tenants; target >= {TARGETS['events_per_s']:,}/s)", flush=True)
    vacuum_analyze(dsn, ["usage_events"])

    bare_s, sums = bare_aggregation(dsn)
    print(f"bare aggregation (GROUP BY client_id, metric over {inserted:,} rows, best of 3): {bare_s * 1000:.0f} ms",
          flush=True)
    run_s, first, again_s, second = billing_run(app)
    ratio = run_s / bare_s
    print(f"billing run {PERIOD}: {run_s:.2f} s ({first}); ratio to the bare aggregation {ratio:.2f} "
          f"(targets <= {TARGETS['run_s']} s, ratio <= {TARGETS['ratio']})", flush=True)
    print(f"re-run: {again_s:.2f} s, {second}", flush=True)
    checks = check(dsn, sums)
    print(f"checks: {checks}", flush=True)
    ok = (rate >= TARGETS["events_per_s"] and run_s <= TARGETS["run_s"] and ratio <= TARGETS["ratio"]
          and second["invoices_created"] == 0 and not checks["quantities_mismatched"])
    print(json.dumps({"bench": "billing", "events": inserted, "events_per_s": round(rate),
                      "bare_aggregation_ms": round(bare_s * 1000), "run_s": round(run_s, 2), "ratio": round(ratio, 2),
                      "rerun_s": round(again_s, 2), "invoices": checks["invoices"], "targets_met": ok}))


if __name__ == "__main__":
    main()
