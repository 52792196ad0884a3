"""Application submission through the API: POST /api/v1/applications (authenticate the key, rate
limit, validate, create the borrower, profile, consents and application, write the outbox, commit,
enqueue the scoring job) served by gunicorn with 2 workers on loopback, at 1 and at 8 concurrent
keep-alive clients, every request a fresh applicant. /healthz at 8 clients in the same run is the
baseline beside it. Target: p95 <= 30 ms at 8 clients and >= 400 requests/s.

    python -m bench submit        (DURATION=5 to change the seconds per measurement;
                                   GUNICORN_THREADS=4 to try gthread workers instead of sync ones)

Set-up: the `caas_bench` database (created and migrated by `flask setup-db`), a new client with the
default NGN credit policy and an hourly API quota high enough not to interfere, and a live key
with every scope, made through the app's operations and committed. Redis database 11 holds the
bench's queues and rate-limit counters and is emptied before and after the run (no worker runs, so
the scoring jobs wait there).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from bench._http import ROOT, flush_redis, gunicorn, line, load, prepare

DURATION = float(os.environ.get("DURATION", "5"))
WARM_UP = float(os.environ.get("WARM_UP", "2"))
THREADS = int(os.environ.get("GUNICORN_THREADS", "1"))
REDIS_DB = 11
TARGET_P95_MS, TARGET_RPS = 30.0, 400.0


def set_up_tenant() -> None:
    """Run in a child process with the bench environment: create the client and print its key."""
    from app import create_app
    from caas.audit.operations import Actor
    from caas.core import tenant
    from caas.core.extensions import db
    from caas.tenancy import apikeys, operations

    app = create_app()
    with app.app_context():
        actor = Actor.system("bench")
        suffix = uuid.uuid4().hex[:8]
        client = operations.create_client(db.session, actor, slug=f"bench-{suffix}", legal_name=f"Bench {suffix} Ltd",
                                          display_name=f"Bench {suffix}", country="NG", currency="NGN",
                                          quota_api_calls_per_hour=100_000_000)
        with tenant.tenant_scope(client.id, db.session):
            _, raw = apikeys.issue(db.session, actor, client.id, name="bench key", mode="live",
                                   scopes=list(apikeys.SCOPES))
        db.session.commit()
    print(raw)


def application_body(email: str) -> bytes:
    """A valid application (as tests/factories.application_body) for a new applicant."""
    return json.dumps({
        "applicant": {"email": email, "legal_name": "Adaeze Okoro", "date_of_birth": "1990-04-12",
                      "phone": "+2348031234567", "address": "12 Marina Road, Lagos", "national_id": "22345678901",
                      "employment_status": "employed", "employer": "Dangote Cement", "months_employed": 36,
                      "monthly_net_income": "450000.00", "monthly_expenses": "150000.00",
                      "existing_debt_payments": "20000.00", "housing": "rent"},
        "consents": {"data_processing": True, "credit_check": True},
        "amount": "250000.00", "currency": "NGN", "term_months": 12, "purpose": "business expansion",
    }).encode()


def submissions(key: str, phase: str):
    run = uuid.uuid4().hex[:8]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def make(client: int, n: int):
        return "POST", "/api/v1/applications", application_body(f"b-{run}-{phase}-{client}-{n}@example.com"), headers

    return make


def main() -> None:
    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    env, _services = prepare("caas_bench", redis_db=REDIS_DB)
    flush_redis(env["REDIS_URL"])
    made = subprocess.run([sys.executable, "-m", "bench.submit", "set-up"], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)
    key = made.stdout.strip().splitlines()[-1]
    results = {}
    try:
        with gunicorn(env, threads=THREADS) as port:
            load(port, "/healthz", duration=1, concurrency=8)
            warm = load(port, submissions(key, "warm"), duration=WARM_UP, concurrency=8, ok=(201,))
            if warm["errors"]:
                raise SystemExit(f"submission failed while warming up: {warm}")
            for name, concurrency in (("submit_c1", 1), ("submit_c8", 8)):
                results[name] = figures = load(port, submissions(key, name), duration=DURATION,
                                               concurrency=concurrency, ok=(201,))
                print(line(f"submit c={concurrency}", figures), flush=True)
            results["healthz_c8"] = figures = load(port, "/healthz", duration=DURATION, concurrency=8)
            print(line("/healthz c=8", figures), flush=True)
    finally:
        flush_redis(env["REDIS_URL"])
    c8 = results["submit_c8"]
    verdict = "meets" if c8["p95_ms"] <= TARGET_P95_MS and c8["rps"] >= TARGET_RPS else "MISSES"
    workers = "2 sync workers" if THREADS == 1 else f"2 gthread workers x {THREADS} threads"
    print(f"gunicorn {workers}, keep-alive clients, {DURATION:.0f} s per measurement, loopback; "
          f"target at 8 clients p95 <= {TARGET_P95_MS:.0f} ms and >= {TARGET_RPS:.0f} req/s: {verdict}")
    figures = {}
    for name in ("submit_c1", "submit_c8"):
        figures.update({f"{name}_p50_ms": results[name]["p50_ms"], f"{name}_p95_ms": results[name]["p95_ms"],
                        f"{name}_rps": results[name]["rps"]})
    figures.update({"healthz_c8_p50_ms": results["healthz_c8"]["p50_ms"],
                    "healthz_c8_p95_ms": results["healthz_c8"]["p95_ms"], "healthz_c8_rps": results["healthz_c8"]["rps"],
                    "errors": sum(r["errors"] for r in results.values())})
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:] == ["set-up"]:
        set_up_tenant()
    else:
        main()
