"""Scoring throughput: decisions per second for one worker, end to end from enqueue to committed
decision (KYC, sanctions screening against the full OFAC SDN + ALT list, policy rules, scorecard,
decision record, events, usage), beside an empty job's rate measured in the same run.

    python -m bench scoring_throughput        (N=1000 to change the number of applications)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import services  # noqa: E402

N = int(os.environ.get("N", "1000"))
BIN = Path(sys.executable).parent


def noop(_: str) -> str:
    return "ok"


def main() -> None:
    found = services.resolve("caas_bench_scoring", probe_local=True, instance=ROOT / "instance" / "bench",
                             redis_db=14)
    env = dict(os.environ, CAAS_ENV="production", DATABASE_URL=found.database_url, REDIS_URL=found.redis_url,
               SECRET_KEY="bench-secret", FLASK_APP="app.py", LOG_LEVEL="WARNING")
    subprocess.run([str(BIN / "flask"), "setup-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    os.environ.update(env)

    from app import create_app
    from caas import demo
    from caas.core import jobs, tenant, worker
    from caas.core.extensions import db
    from caas.credit import applications, consents, profiles
    from caas.credit.applications import Terms
    from caas.events import outbox
    from caas.tenancy import operations
    from caas.tenancy.models import Role

    app = create_app({"LOG_LEVEL": "WARNING", "LOG_JSON": False})
    import logging
    logging.getLogger("rq").setLevel(logging.WARNING)
    with app.app_context():
        jobs.connection().flushdb()
        demo.load()
        client = operations.get_client_by_slug(db.session, "demo")
        today = date.today()

        def make(count: int, tag: str) -> None:
            with tenant.tenant_scope(client.id, db.session):
                for n in range(count):
                    user = operations.create_user(db.session, role=Role.borrower, email=f"{tag}-{n}@bench.example.com",
                                                  full_name=f"Bench Applicant {n}", password=None, client_id=client.id)
                    profiles.save(db.session, user, client, profiles.ProfileInput(
                        legal_name=f"Chinedu Bench Okafor {n}", date_of_birth="1988-02-03", phone="+2348030000000",
                        address="1 Bench Street, Lagos", national_id="12345678901", employment_status="employed",
                        employer="Bench Ltd", months_employed=40, monthly_net_income="500000",
                        monthly_expenses="150000", existing_debt_payments="0", housing="rent"), today)
                    consents.grant(db.session, user.id, client.id, list(consents.REQUIRED), "127.0.0.1")
                    application = applications.start(db.session, user.id, client.id)
                    applications.set_terms(db.session, application, Terms(20_000_000, "NGN", 12, "working capital"),
                                           today)
                    applications.confirm_income(db.session, application, True)
                    applications.submit(db.session, application)
                db.session.commit()

        stamp = str(int(time.time()))
        make(1, f"warm-{stamp}")  # builds the sanctions index once, as a long-running worker does
        worker.run(app, ["scoring"], burst=True, with_cron=False)
        make(N, f"run-{stamp}")
        started = time.perf_counter()
        worker.run(app, ["scoring"], burst=True, with_cron=False)
        scoring_seconds = time.perf_counter() - started
        decided = jobs.queue("scoring").finished_job_registry.count

        with tenant.tenant_scope(client.id, db.session):
            for n in range(N):
                outbox.enqueue_job(db.session, "bench.scoring_throughput.noop", queue="scoring", args=[str(n)])
            db.session.commit()
        started = time.perf_counter()
        worker.run(app, ["scoring"], burst=True, with_cron=False)
        empty_seconds = time.perf_counter() - started

    decisions_per_s = round(N / scoring_seconds, 1)
    empty_per_s = round(N / empty_seconds, 1)
    print(f"{N} applications: {scoring_seconds:.2f} s, {decisions_per_s} decisions/s with one worker "
          f"(jobs finished: {decided})")
    print(f"{N} empty jobs: {empty_seconds:.2f} s, {empty_per_s} jobs/s (the worker's own ceiling)")
    print(json.dumps({"decisions_per_s": decisions_per_s, "empty_jobs_per_s": empty_per_s, "n": N}))


if __name__ == "__main__":
    main()
