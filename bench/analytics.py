"""The analytics dashboards over LOANS (100,000) loans: seconds per dashboard for a 90-day and a
365-day window, all clients and the largest client, in the platform admin's all-tenants read as
the app role (row-level security on), as the admin pages run them.

    python -m bench analytics      (LOANS=... to change the size)

Data (database caas_bench_analytics, Redis database 3): the servicing benchmark's book
(bench/servicing.py: 20 clients, 50 providers, LOANS loans of 6 or 12 instalments with their
applications, listings and accepted bids; 12% late, 1 in 500 180 days past due) plus, set-based as
the owner, what the analytics read beside it: the applications' timeline (submitted, approved,
offer accepted, active), one credit decision per application (the listing's grade), a succeeded
payout per loan settled on its start date, and a succeeded repayment per paid instalment (its
principal in the allocation). Ledger entries are not seeded: the commission query still looks each
repayment's entry up by its key. Seeding is skipped when the data is in place.
"""
from __future__ import annotations

import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import servicing  # noqa: E402
from bench._http import owner_dsn, prepare, vacuum_analyze  # noqa: E402

DATABASE = "caas_bench_analytics"
REDIS_DB = 3
END = servicing.ON  # 2026-12-01: the servicing book's "today"
BOARDS = ("funnel", "volumes", "revenue", "providers", "scoring")

EXTRA_SQL = [
    """INSERT INTO application_events (id, client_id, application_id, from_status, to_status, note, at)
       SELECT gen_random_uuid(), a.client_id, a.id, s.f, s.t, NULL, a.submitted_at + s.after
       FROM applications a
       CROSS JOIN (VALUES ('draft', 'submitted', interval '0'), ('screening', 'approved', interval '1 hour'),
                          ('open_for_offers', 'offer_accepted', interval '2 days'),
                          ('disbursing', 'active', interval '8 days')) AS s(f, t, after)""",
    """INSERT INTO credit_decisions (id, client_id, application_id, outcome, model_version, pd, score, grade,
                                     reasons, rule_results, screening_hits, kyc_results, inputs, decided_at)
       SELECT gen_random_uuid(), m.client_id, m.application_id, 'approve', 'bench', m.pd, 600, m.grade,
              '[]', '[]', '[]', '[]', '{}', m.opened_at - interval '1 hour'
       FROM market_listings m""",
    """INSERT INTO payouts (id, client_id, loan_id, provider_id, status, currency, amount_minor, fee_minor, attempt,
                            reference, gateway, recipient, routing, submitted_at, settled_at, created_at, updated_at)
       SELECT gen_random_uuid(), l.client_id, l.id, l.provider_id, 'succeeded', l.currency,
              l.principal_minor - l.fee_minor, l.fee_minor, 1, 'bench-po-' || l.id, 'sandbox', '{}', '[]',
              l.start_date, l.start_date, l.start_date, l.start_date
       FROM loans l""",
    """INSERT INTO repayments (id, client_id, loan_id, reference, source, status, currency, amount_minor, gateway,
                               allocation, received_on, created_at, updated_at)
       SELECT gen_random_uuid(), i.client_id, i.loan_id, 'bench-rp-' || i.loan_id || '-' || i.number, 'portal',
              'succeeded', l.currency, i.total_minor, 'sandbox',
              jsonb_build_object('principal_minor', i.principal_minor, 'interest_minor', i.interest_minor,
                                 'fees_minor', 0, 'commission_minor', i.interest_minor / 10, 'credit_minor', 0),
              i.paid_on, i.paid_on, i.paid_on
       FROM loan_installments i JOIN loans l ON l.id = i.loan_id
       WHERE i.paid_on IS NOT NULL""",
]
EXTRA_TABLES = ("application_events", "credit_decisions", "payouts", "repayments")


def extra_in_place(dsn: str) -> bool:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT set_config('app.all_tenants', 'on', true)")
        return conn.execute("SELECT (SELECT count(*) FROM payouts) = (SELECT count(*) FROM loans)"
                            " AND (SELECT count(*) FROM payouts) > 0").fetchone()[0]


def seed_extra(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")  # the owner: rows consistent by construction
        for statement in EXTRA_SQL:
            conn.execute(statement)
        conn.commit()


def time_boards(app, client_id) -> list[dict]:
    from caas.analytics import funnel, providers, revenue, scoring, volumes
    from caas.analytics.window import Window
    from caas.core import tenant
    from caas.core.extensions import db

    builders = {"funnel": funnel.dashboard, "volumes": volumes.dashboard, "revenue": revenue.dashboard,
                "providers": providers.dashboard, "scoring": scoring.dashboard}
    out = []
    with app.app_context():
        session = db.session
        for days in (90, 365):
            window = Window(END - timedelta(days=days - 1), END)
            for scope, cid in (("all", None), ("largest", client_id)):
                for name in BOARDS:
                    session.rollback()
                    with tenant.all_tenants_scope(session):
                        started = time.perf_counter()
                        board = builders[name](session, window, cid)
                        seconds = time.perf_counter() - started
                    rows = sum(len(s.table.rows) for s in board.sections)
                    out.append({"board": name, "days": days, "scope": scope, "seconds": round(seconds, 3),
                                "rows": rows})
                    print(f"{name:<10} {days:>3} days  {scope:<8} {seconds:7.3f} s  {rows:>5} table rows", flush=True)
        session.rollback()
    return out


def main() -> None:
    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    env, _services = prepare(DATABASE, redis_db=REDIS_DB)
    env.pop("APP_DATABASE_URL", None)
    os.environ.pop("APP_DATABASE_URL", None)
    os.environ.update(env)
    dsn = owner_dsn(env["DATABASE_URL"])
    started = time.perf_counter()
    found = servicing.state(dsn)
    if not servicing.complete(found):
        if found["loans"]:
            raise SystemExit(f"{DATABASE} holds a different book {found}: drop it and run again")
        plan = servicing.set_up_entities()
        servicing.bulk_insert(dsn, plan)
        vacuum_analyze(dsn, servicing.TABLES)
    if not extra_in_place(dsn):
        seed_extra(dsn)
        vacuum_analyze(dsn, EXTRA_TABLES)
        action = "seeded"
    else:
        action = "found"
    found = servicing.state(dsn)
    print(f"data: {action} in {time.perf_counter() - started:.1f} s: {found['loans']} loans, "
          f"{found['instalments']} instalments", flush=True)

    from app import create_app

    app = create_app()
    largest = servicing.book(dsn)["largest_client"]
    timings = time_boards(app, largest)
    slowest = max(timings, key=lambda t: t["seconds"])
    print(f"slowest: {slowest['board']} over {slowest['days']} days ({slowest['scope']}): {slowest['seconds']:.2f} s")
    print(json.dumps({"loans": found["loans"], "end": END.isoformat(), "seed_action": action,
                      "seconds": {f"{t['board']}_{t['days']}d_{t['scope']}": t["seconds"] for t in timings},
                      "slowest_s": slowest["seconds"], "today": date.today().isoformat()}))


if __name__ == "__main__":
    main()
