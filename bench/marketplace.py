"""The provider's marketplace under load: GET /provider/market (first page, default sort "newest")
and the HTMX poll GET /provider/market/new, for one logged-in provider user, served by gunicorn
with 2 workers on loopback at 8 keep-alive clients, with /healthz in the same run as the baseline.
Target: p95 <= 15 ms and >= 1000 requests/s for /provider/market.

    python -m bench marketplace        (DURATION=10 to change the seconds per measurement)

Data (database `caas_bench_market`, Redis database 13): 20 clients (14 in Nigeria, 3 in Kenya, 3 in
Ghana, of different sizes), 50 providers, each in the network of 8 clients and with one or two sets
of lending criteria, and 100,000 borrowers with a profile and an application open for offers, each
with its anonymised listing (currency mostly NGN, some USD; amounts log-spread; terms from
3-24 months; grades A-E with a PD to match; opened over the last 72 hours, 3% with the bidding
window already past but not yet swept), and one open bid on about 5% of them. Clients, providers,
networks, criteria and the provider users go through the app's operations; the bulk rows are
set-based SQL (generate_series) run as the database owner, per client with `app.client_id` set so
row-level security is satisfied as it would be for the app. A second run finds the data in place
and only moves the listings' and bids' times forward to now (the figures depend on "open now").

The provider user logs in through the real /login form (CSRF token from the page); its session
cookie is sent on every request of the load. The app connects as the non-superuser app role, so
row-level security applies. After the load, the marketplace query the app ran is EXPLAINed
(ANALYZE, BUFFERS) as the app role inside the provider's scope, as a custom plan (the first
executions) and as a generic plan (what a prepared statement may switch to after psycopg's
prepare_threshold and PostgreSQL's five custom plans).
"""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from urllib.parse import urlencode

from bench._http import ROOT, drop_database, flush_redis, gunicorn, line, load, owner_dsn, prepare, vacuum_analyze

DATABASE = "caas_bench_market"
REDIS_DB = 13
DURATION = float(os.environ.get("DURATION", "10"))
WARM_UP = float(os.environ.get("WARM_UP", "2"))
CONCURRENCY = 8
TARGET_P95_MS, TARGET_RPS = 15.0, 1000.0

APPLICATIONS = 100_000
CLIENTS = 20
PROVIDERS = 50
NETWORK_SIZE = 8  # clients per provider
SEED = 20261122
CLIENT_SLUG = "mkt-{:02d}"
PROVIDER_NAME = "Bench Market Provider {:02d}"
LOGIN_EMAIL = "lender-01@bench-market.example.com"
LOGIN_PASSWORD = "bench-market-password-2026"
USER_AGENT = "caas-bench-marketplace/1"
STALE_AFTER_S = 300  # on a re-run, move the listings' times forward when the newest is older than this


# --- Seeding (child process with the bench environment) --------------------------------------------

def client_plan() -> list[dict]:
    """20 clients: country, currency and how many applications each has (sums to APPLICATIONS)."""
    homes = [("NG", "NGN")] * 14 + [("KE", "KES")] * 3 + [("GH", "GHS")] * 3
    weights = [3, 1, 2, 5, 1, 2, 4, 1, 3, 2, 6, 1, 2, 3, 2, 1, 1, 2, 1, 1]
    sizes = [APPLICATIONS * w // sum(weights) for w in weights]
    sizes[0] += APPLICATIONS - sum(sizes)
    return [{"index": i, "slug": CLIENT_SLUG.format(i + 1), "country": homes[i][0], "currency": homes[i][1],
             "size": sizes[i]} for i in range(CLIENTS)]


def networks(rng: random.Random) -> list[list[int]]:
    """For each provider, the indexes of the clients whose network it is in."""
    return [sorted(rng.sample(range(CLIENTS), NETWORK_SIZE)) for _ in range(PROVIDERS)]


def criteria_for(index: int, rng: random.Random, network_ids: list[uuid.UUID]):
    """One or two criteria sets. Provider 01 (the one that logs in) has a broad, typical pair."""
    from decimal import Decimal

    from caas.credit.applications import PURPOSES
    from caas.market.criteria import CriteriaInput

    if index == 0:
        return [CriteriaInput(name="Naira consumer and SME", currencies=["NGN"], min_amount_minor=50_000_00,
                              max_amount_minor=3_000_000_00, min_term_months=3, max_term_months=24, worst_grade="D"),
                CriteriaInput(name="Hard currency SME", currencies=["USD", "KES", "GHS"], min_amount_minor=100_00,
                              max_amount_minor=20_000_00, min_term_months=3, max_term_months=18, worst_grade="C",
                              max_pd=Decimal("0.15"), purposes=["business expansion", "working capital", "vehicle"])]
    sets = [CriteriaInput(
        name="Core book", currencies=["NGN"] if rng.random() < 0.7 else ["NGN", "USD"],
        min_amount_minor=rng.choice([20_000, 50_000, 100_000]) * 100,
        max_amount_minor=rng.choice([1_000_000, 2_000_000, 5_000_000]) * 100,
        min_term_months=rng.choice([3, 3, 6]), max_term_months=rng.choice([12, 18, 24, 24]),
        worst_grade=rng.choice("BCCDDE"), max_pd=rng.choice([None, None, Decimal("0.25")]),
        purposes=[] if rng.random() < 0.6 else sorted(rng.sample(list(PURPOSES), 4)))]
    if rng.random() < 0.5:
        sets.append(CriteriaInput(
            name="Focus", currencies=rng.choice([["KES"], ["GHS"], ["USD"], ["KES", "GHS", "USD"]]),
            min_amount_minor=100_00, max_amount_minor=rng.choice([10_000_00, 50_000_00, 500_000_00]),
            min_term_months=3, max_term_months=24, worst_grade=rng.choice("BCD"),
            purposes=sorted(rng.sample(list(PURPOSES), 3)),
            client_ids=sorted(rng.sample(network_ids, 2)) if rng.random() < 0.5 else []))
    return sets


def set_up_entities() -> dict:
    """Clients, providers, networks, criteria and provider users through the app's operations (as
    the app role, under row-level security). Returns ids for the bulk SQL."""
    from app import create_app
    from caas.audit.operations import Actor
    from caas.core import tenant
    from caas.core.extensions import db
    from caas.market import criteria
    from caas.tenancy import operations
    from caas.tenancy.models import Role

    rng = random.Random(SEED)
    plan = client_plan()
    nets = networks(rng)
    app = create_app()
    with app.app_context():
        session = db.session
        actor = Actor.system("bench")
        clients = [operations.create_client(session, actor, slug=c["slug"], legal_name=f"Market Client {c['index'] + 1:02d} Ltd",
                                            display_name=f"Market Client {c['index'] + 1:02d}", country=c["country"],
                                            currency=c["currency"]) for c in plan]
        providers = [operations.create_provider(session, actor, legal_name=PROVIDER_NAME.format(p + 1),
                                                licence_number=f"CBN-MFB-{1000 + p}", country="NG",
                                                currencies=["NGN", "USD"] if p % 3 == 0 else ["NGN"])
                     for p in range(PROVIDERS)]
        for ci, client in enumerate(clients):
            members = [providers[p].id for p in range(PROVIDERS) if ci in nets[p]]
            with tenant.tenant_scope(client.id, session):
                operations.set_provider_network(session, actor, client.id, members)
        for p, provider in enumerate(providers):
            with tenant.provider_scope(provider.id, session):
                for values in criteria_for(p, rng, [clients[ci].id for ci in nets[p]]):
                    criteria.save(session, actor, provider.id, values)
            operations.create_user(session, role=Role.provider_user,
                                   email=LOGIN_EMAIL if p == 0 else f"lender-{p + 1:02d}@bench-market.example.com",
                                   full_name=f"Lender {p + 1:02d}", password=LOGIN_PASSWORD if p == 0 else None,
                                   provider_id=provider.id)
        session.commit()
        for c, client in zip(plan, clients):
            c["id"] = str(client.id)
            c["network"] = [str(providers[p].id) for p in range(PROVIDERS) if c["index"] in nets[p]]
    return {"clients": plan, "provider_id": str(providers[0].id)}


INCOME_BANDS = (0, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
                2_500_000, 10_000_000)  # as caas.market.listings.INCOME_BANDS

# Every row's random draws, once, in a temporary table; the inserts below read it per client.
SEED_SQL = """
CREATE TEMP TABLE mkt_seed ON COMMIT DROP AS
WITH base AS (
    SELECT c.client_id::uuid AS client_id, c.ccy AS client_ccy, c.country, c.network, g AS n,
           random() AS r_ccy, random() AS r_amt, random() AS r_grade, random() AS r_pd, random() AS r_open,
           random() AS r_inc, random() AS r_dti, random() AS r_bid, random() AS r_bidder, random() AS r_late,
           random() AS r_purpose, random() AS r_term, random() AS r_emp
    FROM jsonb_to_recordset(%(clients)s::jsonb) AS c(client_id text, ccy text, country text, network jsonb,
                                                       lo int, hi int)
    CROSS JOIN LATERAL generate_series(c.lo, c.hi) AS g
), shaped AS (
    SELECT b.*,
           CASE WHEN b.r_ccy < 0.07 THEN 'USD' ELSE b.client_ccy END AS currency,
           (ARRAY[3, 6, 9, 12, 18, 24])[1 + floor(b.r_term * 6)::int] AS term_months,
           (%(purposes)s::text[])[1 + floor(b.r_purpose * cardinality(%(purposes)s::text[]))::int] AS purpose,
           CASE WHEN b.r_grade < 0.15 THEN 'A' WHEN b.r_grade < 0.40 THEN 'B' WHEN b.r_grade < 0.70 THEN 'C'
                WHEN b.r_grade < 0.90 THEN 'D' ELSE 'E' END AS grade,
           CASE WHEN b.r_late < 0.03 THEN now() - interval '72 hours' - b.r_open * interval '3 hours'
                ELSE now() - b.r_open * interval '72 hours' END AS opened_at,
           round(inc.base * exp(b.r_inc * ln(50)))::bigint AS income_major
    FROM base b
    JOIN (VALUES ('NGN', 60000), ('KES', 15000), ('GHS', 2000), ('USD', 300)) AS inc(ccy, base)
      ON inc.ccy = b.client_ccy
), priced AS (
    SELECT s.*,
           (round(unit.min_major * exp(s.r_amt * ln(250)) / 100) * 100 * 100)::bigint AS amount_minor,
           width_bucket(s.income_major, %(bands)s::bigint[]) AS band
    FROM shaped s
    JOIN (VALUES ('NGN', 20000), ('KES', 2000), ('GHS', 500), ('USD', 100)) AS unit(ccy, min_major)
      ON unit.ccy = s.currency
)
SELECT p.*,
       gen_random_uuid() AS user_id, gen_random_uuid() AS application_id, gen_random_uuid() AS listing_id,
       round(CASE p.grade WHEN 'A' THEN 0.005 + p.r_pd * 0.025 WHEN 'B' THEN 0.03 + p.r_pd * 0.03
                          WHEN 'C' THEN 0.06 + p.r_pd * 0.06 WHEN 'D' THEN 0.12 + p.r_pd * 0.08
                          ELSE 0.20 + p.r_pd * 0.15 END::numeric, 6) AS pd,
       round((0.05 + p.r_dti * 0.5)::numeric, 4) AS debt_to_income,
       CASE WHEN p.band >= cardinality(%(labels)s::text[])
            THEN 'over ' || (%(labels)s::text[])[p.band] || ' ' || p.client_ccy
            ELSE (%(labels)s::text[])[p.band] || '–' || (%(labels)s::text[])[p.band + 1] || ' ' || p.client_ccy
       END AS income_band,
       (p.amount_minor * 0.025 / (1 - power(1.025, -p.term_months)))::bigint AS instalment_minor,
       CASE WHEN p.r_bid < 0.05 AND p.r_late >= 0.03
            THEN (p.network ->> floor(p.r_bidder * jsonb_array_length(p.network))::int)::uuid END AS bidder,
       p.opened_at + (now() - p.opened_at) * 0.5 AS bid_at
FROM priced p
"""

INSERT_SQL = [
    """INSERT INTO users (id, client_id, provider_id, email, full_name, password_hash, role, status,
                          created_at, updated_at)
       SELECT user_id, client_id, NULL, 'borrower-' || n || '@bench-market.example.com', 'Bench Borrower ' || n,
              '!invited', 'borrower', 'active', opened_at - interval '30 minutes', opened_at - interval '30 minutes'
       FROM mkt_seed WHERE client_id = %(cid)s""",
    """INSERT INTO borrower_profiles (user_id, client_id, legal_name, date_of_birth, phone, address, country,
                                      national_id, employment_status, employer, months_employed, currency,
                                      monthly_net_income_minor, monthly_expenses_minor, existing_debt_payments_minor,
                                      housing, created_at, updated_at)
       SELECT user_id, client_id, 'Bench Borrower ' || n, date '1965-01-01' + (r_emp * 13000)::int,
              '+234800' || lpad(n::text, 7, '0'), n || ' Bench Street', country, lpad(n::text, 11, '0'),
              CASE WHEN r_emp < 0.7 THEN 'employed' ELSE 'self_employed' END,
              CASE WHEN r_emp < 0.7 THEN 'Employer ' || mod(n, 500) END, 6 + (r_emp * 120)::int, client_ccy,
              income_major * 100, (income_major * 35)::bigint, (income_major * 10)::bigint,
              CASE WHEN r_emp < 0.6 THEN 'rent' ELSE 'own' END,
              opened_at - interval '30 minutes', opened_at - interval '30 minutes'
       FROM mkt_seed WHERE client_id = %(cid)s""",
    """INSERT INTO applications (id, client_id, borrower_id, status, amount_minor, currency, term_months, purpose,
                                 income_confirmed, indicative_instalment_minor, indicative_apr, channel,
                                 submitted_at, decision_reasons, created_at, updated_at)
       SELECT application_id, client_id, user_id, 'open_for_offers', amount_minor, currency, term_months, purpose,
              r_emp < 0.6, instalment_minor, 34.488882, CASE WHEN mod(n, 3) = 0 THEN 'portal' ELSE 'api' END,
              opened_at - interval '10 minutes', '[]'::jsonb, opened_at - interval '20 minutes', opened_at
       FROM mkt_seed WHERE client_id = %(cid)s""",
    """INSERT INTO market_listings (id, client_id, application_id, status, currency, amount_minor, term_months,
                                    purpose, grade, pd, debt_to_income, income_band, country, allowed_terms,
                                    opened_at, closes_at, bid_count, first_bid_at)
       SELECT listing_id, client_id, application_id, 'open', currency, amount_minor, term_months, purpose, grade,
              pd, debt_to_income, income_band, country,
              ARRAY(SELECT t FROM unnest('{3,6,9,12,18,24}'::int[]) AS t WHERE t <= term_months),
              opened_at, opened_at + interval '72 hours', (bidder IS NOT NULL)::int,
              CASE WHEN bidder IS NOT NULL THEN bid_at END
       FROM mkt_seed WHERE client_id = %(cid)s""",
    """INSERT INTO bids (id, client_id, listing_id, application_id, provider_id, status, currency, amount_minor,
                         annual_rate, fee_minor, fee_percent, term_months, valid_until, instalment_minor,
                         total_repayable_minor, total_cost_minor, apr, created_at, updated_at)
       SELECT gen_random_uuid(), client_id, listing_id, application_id, bidder, 'open', currency, amount_minor,
              0.300000, amount_minor / 100, 1.0000, term_months, opened_at + interval '120 hours', instalment_minor,
              instalment_minor * term_months, instalment_minor * term_months - amount_minor + amount_minor / 100,
              36.250000, bid_at, bid_at
       FROM mkt_seed WHERE client_id = %(cid)s AND bidder IS NOT NULL""",
]

TABLES = ("users", "borrower_profiles", "applications", "market_listings", "bids", "client_providers",
          "lending_criteria", "clients", "providers")


def bulk_insert(dsn: str, entities: dict) -> None:
    import psycopg

    from caas.credit.applications import PURPOSES

    ranges, start = [], 1
    for c in entities["clients"]:
        ranges.append({"client_id": c["id"], "ccy": c["currency"], "country": c["country"], "network": c["network"],
                       "lo": start, "hi": start + c["size"] - 1})
        start += c["size"]
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            # Skip the foreign-key triggers for this transaction (halves the load time); the rows
            # reference each other by construction and are checked below.
            conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("SELECT setseed(0.4242)")
        conn.execute(SEED_SQL, {"clients": json.dumps(ranges), "purposes": list(PURPOSES),
                                "bands": list(INCOME_BANDS), "labels": [f"{b:,}" for b in INCOME_BANDS]})
        conn.execute("CREATE INDEX ON mkt_seed (client_id)")
        conn.execute("ANALYZE mkt_seed")
        for c in entities["clients"]:
            # As the tenant, in this transaction only: row-level security admits the client's rows.
            conn.execute("SELECT set_config('app.client_id', %s, true)", (c["id"],))
            for statement in INSERT_SQL:
                conn.execute(statement, {"cid": c["id"]})
        conn.execute("SELECT set_config('app.client_id', '', true), set_config('app.all_tenants', 'on', true)")
        linked = conn.execute(
            "SELECT count(*) FROM market_listings l JOIN applications a ON a.id = l.application_id"
            " AND a.client_id = l.client_id JOIN users u ON u.id = a.borrower_id AND u.client_id = a.client_id"
            " JOIN borrower_profiles p ON p.user_id = u.id JOIN clients c ON c.id = l.client_id").fetchone()[0]
        if linked != APPLICATIONS:
            raise SystemExit(f"seed check: {linked} linked listings, expected {APPLICATIONS}")
        conn.commit()


def state(dsn: str) -> dict:
    """What the database holds, read in the explicit all-tenants mode (works for any owner role)."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT set_config('app.all_tenants', 'on', true)")
        row = conn.execute(
            "SELECT (SELECT count(*) FROM clients WHERE slug LIKE 'mkt-%'),"
            " (SELECT count(*) FROM providers WHERE legal_name LIKE 'Bench Market Provider %'),"
            " (SELECT count(*) FROM market_listings), (SELECT count(*) FROM applications),"
            " (SELECT count(*) FROM lending_criteria),"
            " extract(epoch FROM now() - (SELECT max(opened_at) FROM market_listings))").fetchone()
        provider = conn.execute("SELECT id FROM providers WHERE legal_name = %s",
                                (PROVIDER_NAME.format(1),)).fetchone()
    return {"clients": row[0], "providers": row[1], "listings": row[2], "applications": row[3],
            "criteria": row[4], "age_s": float(row[5]) if row[5] is not None else None,
            "provider_id": str(provider[0]) if provider else None}


def complete(found: dict) -> bool:
    return (found["clients"] == CLIENTS and found["providers"] == PROVIDERS and found["listings"] == APPLICATIONS
            and found["applications"] == APPLICATIONS and found["provider_id"] is not None)


def refresh_times(dsn: str, age_s: float) -> None:
    """Move the listings and bids forward so the newest listing opened now, as at seeding."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        clients = [r[0] for r in conn.execute("SELECT id::text FROM clients WHERE slug LIKE 'mkt-%'")]
        shift = f"{age_s:.3f} seconds"
        for cid in clients:
            conn.execute("SELECT set_config('app.client_id', %s, true)", (cid,))
            conn.execute("UPDATE market_listings SET opened_at = opened_at + %s::interval,"
                         " closes_at = closes_at + %s::interval, first_bid_at = first_bid_at + %s::interval"
                         " WHERE client_id = %s", (shift, shift, shift, cid))
            conn.execute("UPDATE bids SET valid_until = valid_until + %s::interval, created_at = created_at + %s::interval,"
                         " updated_at = updated_at + %s::interval WHERE client_id = %s", (shift, shift, shift, cid))
        conn.commit()


def set_up() -> None:
    """Child process: seed (or find, or refresh) the data; print one JSON line for the parent."""
    dsn = owner_dsn(os.environ["DATABASE_URL"])
    found = state(dsn)
    started = time.perf_counter()
    if complete(found):
        action = "found"
        if found["age_s"] is not None and found["age_s"] > STALE_AFTER_S:
            refresh_times(dsn, found["age_s"])
            vacuum_analyze(dsn, ("market_listings", "bids"))
            action = f"found; times moved forward {found['age_s'] / 3600:.1f} h"
    elif found["clients"] or found["providers"] or found["listings"]:
        print(json.dumps({"partial": found}))
        return
    else:
        action = "seeded"
        entities = set_up_entities()
        t_entities = time.perf_counter() - started
        bulk_insert(dsn, entities)
        t_bulk = time.perf_counter() - started - t_entities
        vacuum_analyze(dsn, TABLES)
        action = (f"seeded: entities through the operations {t_entities:.1f} s, bulk SQL {t_bulk:.1f} s, "
                  f"VACUUM ANALYZE {time.perf_counter() - started - t_entities - t_bulk:.1f} s")
    found = state(dsn)
    print(json.dumps({"action": action, "seconds": round(time.perf_counter() - started, 2), **found}))


# --- EXPLAIN (child process): the app's own query, as the app role, in the provider's scope ----------

def _pg_placeholders(statement: str, params: dict) -> tuple[str, list]:
    """%(name)s → $n for PREPARE, with the values in order."""
    names: list[str] = []

    def swap(match: re.Match) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    text = re.sub(r"%\((\w+)\)s", swap, statement).replace("%%", "%")
    return text, [params[n] for n in names]


def explain(provider_id: str) -> None:
    from datetime import datetime, timezone

    import psycopg
    from sqlalchemy import event

    from app import create_app
    from caas.core import tenant
    from caas.core.extensions import db
    from caas.market import board

    app = create_app()
    captured: list[tuple[str, dict]] = []

    with app.app_context():
        engine = db.engine

        def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            if "FROM market_listings" in statement:
                captured.append((statement, dict(parameters or {})))

        pid = uuid.UUID(provider_id)
        session = db.session
        with tenant.provider_scope(pid, session):
            event.listen(engine, "before_cursor_execute", capture)
            try:
                now = datetime.now(timezone.utc)
                rows, _ = board.page(session, pid, board.Filters(), now)
                board.new_since(session, pid, now, now)
            finally:
                event.remove(engine, "before_cursor_execute", capture)
            raw = session.connection().connection.driver_connection
            who = raw.execute("SELECT current_user, current_setting('app.provider_id', true),"
                              " (SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user)").fetchone()
            print(f"EXPLAIN as role {who[0]} (bypasses RLS: {who[2]}), app.provider_id = {who[1]}; "
                  f"the page query returned {len(rows)} rows")
            cursor = psycopg.ClientCursor(raw)
            plans = {}
            for label, (statement, params) in zip(("market page", "market/new poll"), captured):
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plans[label] = [r[0] for r in cursor.fetchall()]
                if label == "market page":
                    print("-- the page query as the app sent it:")
                    print(cursor.mogrify(statement, params))
                print(f"-- EXPLAIN (ANALYZE, BUFFERS), {label}, custom plan:")
                print("\n".join(plans[label]))
            # The generic plan a prepared statement may switch to (psycopg prepares after 5 runs).
            page_sql, page_params = captured[0]
            text, values = _pg_placeholders(page_sql, page_params)
            raw.execute("PREPARE mkt_page AS " + text)
            raw.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            placeholders = ", ".join(["%s"] * len(values))
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE mkt_page({placeholders})", values)
            plans["market page generic"] = [r[0] for r in cursor.fetchall()]
            print("-- EXPLAIN (ANALYZE, BUFFERS), market page, generic plan (force_generic_plan):")
            print("\n".join(plans["market page generic"]))
            session.rollback()
    print(json.dumps({label: summarise(lines) for label, lines in plans.items()}))


def summarise(lines: list[str]) -> dict:
    plan = "\n".join(lines)
    timing = re.search(r"Execution Time: ([\d.]+) ms", plan)
    removed = re.findall(r"Rows Removed by Filter: (\d+)", plan)
    access = re.search(r"((?:Bitmap Heap Scan|Seq Scan|Index Only Scan Backward|Index Only Scan|Index Scan Backward"
                       r"|Index Scan)(?: using (\S+))? on market_listings)", plan)
    index_cond = re.search(r"using ix_market_listings_open on market_listings[^\n]*\n\s+Index Cond: ([^\n]+)", plan)
    return {"execution_ms": float(timing.group(1)) if timing else None,
            "listings_access": access.group(1) if access else "?",
            "uses_ix_market_listings_open": "ix_market_listings_open" in plan,
            "ix_market_listings_open_cond": index_cond.group(1) if index_cond else None,
            "rls_subquery": ("hashed SubPlan" if "hashed SubPlan" in plan else
                             "semi join" if "Semi Join" in plan else
                             "SubPlan (not hashed)" if "SubPlan" in plan else "other"),
            "seq_scan_listings": bool(re.search(r"Seq Scan on market_listings", plan)),
            "rows_removed_by_filter": sum(int(r) for r in removed),
            "buffers": re.findall(r"Buffers: ([^\n]+)", plan)[:1]}


# --- The run (parent) --------------------------------------------------------------------------------

def request(port: int, method: str, path: str, *, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict, list[str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": USER_AGENT, **(headers or {})})
        response = conn.getresponse()
        payload = response.read().decode("utf-8", "replace")
        return response.status, dict(response.getheaders()), response.headers.get_all("Set-Cookie") or [], payload
    finally:
        conn.close()


SESSION_COOKIES = ("__Host-caas_session", "caas_session")  # config.SESSION_COOKIE_NAME, secure or not


def session_cookie(set_cookies: list[str], current: str | None) -> str | None:
    for header in set_cookies:
        pair = header.split(";", 1)[0]
        if pair.split("=", 1)[0] in SESSION_COOKIES:
            return pair
    return current


def log_in(port: int) -> str:
    """The real log-in form: GET /login for the CSRF token and the session cookie, POST it back."""
    status, _, cookies, page = request(port, "GET", "/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page)
    cookie = session_cookie(cookies, None)
    if status != 200 or not token or not cookie:
        raise SystemExit(f"log-in page: status {status}, token {bool(token)}, cookie {bool(cookie)}")
    body = urlencode({"csrf_token": token.group(1), "email": LOGIN_EMAIL, "password": LOGIN_PASSWORD}).encode()
    status, headers, cookies, page = request(port, "POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    cookie = session_cookie(cookies, None)
    if status != 302 or not cookie or "/provider" not in headers.get("Location", ""):
        raise SystemExit(f"log-in failed: status {status}, location {headers.get('Location')!r}, {page[:300]!r}")
    return cookie


def fetch(cookie: str, path: str, extra: dict[str, str] | None = None):
    headers = {"Cookie": cookie, "User-Agent": USER_AGENT, **(extra or {})}
    return lambda _client, _n: ("GET", path, None, headers)


def child(env: dict, *args: str) -> subprocess.CompletedProcess:
    made = subprocess.run([sys.executable, "-m", "bench.marketplace", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if made.returncode != 0:
        sys.stderr.write(made.stderr[-4000:])
        raise SystemExit(f"bench.marketplace {' '.join(args)} failed with exit code {made.returncode}")
    return made


def main() -> None:
    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    env, _services = prepare(DATABASE, redis_db=REDIS_DB)
    seeded = json.loads(child(env, "set-up").stdout.strip().splitlines()[-1])
    if "partial" in seeded:
        print(f"incomplete earlier seed {seeded['partial']}: dropping {DATABASE} and seeding again", flush=True)
        drop_database(env["DATABASE_URL"], DATABASE)
        env, _services = prepare(DATABASE, redis_db=REDIS_DB)
        seeded = json.loads(child(env, "set-up").stdout.strip().splitlines()[-1])
    print(f"data: {seeded['action']} ({seeded['seconds']} s); {seeded['clients']} clients, {seeded['providers']} "
          f"providers, {seeded['applications']} applications, {seeded['listings']} listings, "
          f"{seeded['criteria']} criteria sets", flush=True)
    provider_id = seeded["provider_id"]
    flush_redis(env["REDIS_URL"])
    results: dict[str, dict] = {}
    try:
        with gunicorn(env) as port:
            cookie = log_in(port)
            status, _, cookies, page = request(port, "GET", "/provider/market", headers={"Cookie": cookie})
            rows = page.count('data-testid="listing-row"')
            if status != 200 or rows == 0:
                raise SystemExit(f"/provider/market answered {status} with {rows} listing rows; refusing to measure "
                                 f"an empty or broken page: {page[:500]!r}")
            # The page records "seen at" in the session; the poll counts what opened after that.
            cookie = session_cookie(cookies, cookie)
            status, _, _, poll = request(port, "GET", "/provider/market/new",
                                         headers={"Cookie": cookie, "HX-Request": "true"})
            if status != 200:
                raise SystemExit(f"/provider/market/new answered {status}: {poll[:300]!r}")
            print(f"first page: {rows} listing rows, {len(page):,} bytes; poll answer {len(poll)} bytes", flush=True)
            market = fetch(cookie, "/provider/market")
            poll_request = fetch(cookie, "/provider/market/new", {"HX-Request": "true"})
            load(port, "/healthz", duration=1, concurrency=CONCURRENCY)
            warm = load(port, market, duration=WARM_UP, concurrency=CONCURRENCY)
            if warm["errors"]:
                raise SystemExit(f"/provider/market failed while warming up: {warm}")
            for name, label, make in (("healthz", "/healthz", "/healthz"), ("market", "/provider/market", market),
                                      ("market_new", "/provider/market/new", poll_request)):
                results[name] = figures = load(port, make, duration=DURATION, concurrency=CONCURRENCY)
                print(line(label, figures), flush=True)
    finally:
        flush_redis(env["REDIS_URL"])
    explained = child(env, "explain", provider_id).stdout.strip().splitlines()
    print("\n".join(explained[:-1]))
    summary = json.loads(explained[-1])
    for label, s in summary.items():
        print(f"plan summary, {label}: {s['execution_ms']} ms; {s['listings_access']}; ix_market_listings_open used: "
              f"{s['uses_ix_market_listings_open']} (index cond: {s['ix_market_listings_open_cond']}); RLS network "
              f"subquery: {s['rls_subquery']}; rows removed by filter: {s['rows_removed_by_filter']}; "
              f"buffers {', '.join(s['buffers'])}")
    m = results["market"]
    errors = sum(r["errors"] for r in results.values())
    met = m["p95_ms"] <= TARGET_P95_MS and m["rps"] >= TARGET_RPS and errors == 0
    print(f"gunicorn 2 sync workers, {CONCURRENCY} keep-alive clients, {DURATION:.0f} s per path, loopback, "
          f"row-level security on (app role)")
    print(f"target: p95 <= {TARGET_P95_MS:.0f} ms and >= {TARGET_RPS:.0f} rps for /provider/market: "
          f"{'met' if met else 'NOT met'}")
    figures = {"seed_action": seeded["action"].split(":")[0].split(";")[0], "seed_s": seeded["seconds"],
               "listings": seeded["listings"]}
    for name in ("market", "market_new", "healthz"):
        figures.update({f"{name}_p50_ms": results[name]["p50_ms"], f"{name}_p95_ms": results[name]["p95_ms"],
                        f"{name}_rps": results[name]["rps"]})
    figures.update({"market_plan_ms": summary["market page"]["execution_ms"],
                    "market_generic_plan_ms": summary["market page generic"]["execution_ms"],
                    "errors": errors, "met": met})
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:] == ["set-up"]:
        set_up()
    elif sys.argv[1:2] == ["explain"]:
        explain(sys.argv[2])
    else:
        main()
