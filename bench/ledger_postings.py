"""Ledger throughput: balanced postings per second on ONE connection, as the application role.

Each posting is a provider reservation or release (2 lines, 2 balance rows locked and updated,
idempotency key checked, deferred balance check at commit). Figures:
- commit each: one posting per transaction, as a job or request posts one business event;
- batch of 100: a hundred postings per transaction (a billing or import run);
- p50/p95 latency of one posting plus its commit.

    python -m bench ledger_postings      (DURATION=3 to change the seconds per figure)

Runs on the bench database (``flask setup-db``), and removes its own ledger rows afterwards.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from config import app_url_from_owner, psycopg_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import services  # noqa: E402

DURATION = float(os.environ.get("DURATION", "3"))


def prepare(database: str) -> tuple[dict, object]:
    """Find or start PostgreSQL, run `flask setup-db` on ``database`` (migrations and the app role)."""
    found = services.resolve(database, probe_local=True, instance=ROOT / "instance" / "bench")
    env = dict(os.environ, CAAS_ENV="production", DATABASE_URL=found.database_url, REDIS_URL=found.redis_url,
               SECRET_KEY="bench-secret", FLASK_APP="app.py", LOG_LEVEL="WARNING")
    subprocess.run([str(Path(sys.executable).parent / "flask"), "setup-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    return env, found


def main() -> None:
    from caas import ledger
    from caas.ledger import AccountKind, account_key

    env, _services = prepare("caas_bench")
    owner_url = psycopg_url(env["DATABASE_URL"])
    app_url = app_url_from_owner(owner_url, os.environ.get("DB_APP_ROLE", "caas_app"),
                                 os.environ.get("DB_APP_PASSWORD", "caas_app_dev_password"))
    engine = create_engine(app_url, pool_size=1, max_overflow=0)
    provider, gateway = str(uuid.uuid4()), "bench" + uuid.uuid4().hex[:8]
    counter = iter(range(10**9))

    def one(session: Session) -> None:
        # Alternate reserve and release so the funds never run out however long the run.
        n = next(counter)
        loan = f"bench-{provider}-{n // 2}"
        if n % 2 == 0:
            ledger.reserve(session, provider, 1_000, "NGN", loan)
        else:
            ledger.release_reservation(session, provider, 1_000, "NGN", loan)

    try:
        with Session(bind=engine) as session:
            ledger.post(session, memo="bench funding", idempotency_key=f"bench-fund-{provider}", lines=[
                ledger.debit(account_key(AccountKind.gateway_clearing, gateway, "NGN"), 10**12),
                ledger.credit(account_key(AccountKind.provider_available, provider, "NGN"), 10**12)])
            session.commit()

            for _ in range(50):  # warm up: connection, statement cache, mapper configuration
                one(session)
                session.commit()

            latencies: list[float] = []
            started = time.perf_counter()
            while time.perf_counter() - started < DURATION:
                t0 = time.perf_counter()
                one(session)
                session.commit()
                latencies.append(time.perf_counter() - t0)
            each_rate = len(latencies) / (time.perf_counter() - started)

            batches, started = 0, time.perf_counter()
            while time.perf_counter() - started < DURATION:
                for _ in range(100):
                    one(session)
                session.commit()
                batches += 1
            batch_rate = batches * 100 / (time.perf_counter() - started)

            funds = ledger.provider_funds(session, provider, "NGN")
            assert funds.available_minor + funds.reserved_minor == 10**12, funds  # nothing lost on the way
            mismatches = [m for m in ledger.verify_balances(session)]
            assert not mismatches, mismatches[:3]
    finally:
        engine.dispose()
        purge(owner_url, [provider, gateway])

    quantiles = statistics.quantiles(latencies, n=100)
    figures = {"postings_per_s_commit_each": round(each_rate, 1), "postings_per_s_batch100": round(batch_rate, 1),
               "posting_commit_p50_ms": round(quantiles[49] * 1000, 3),
               "posting_commit_p95_ms": round(quantiles[94] * 1000, 3)}
    print(f"one posting per commit:    {figures['postings_per_s_commit_each']:>9} postings/s  "
          f"(p50 {figures['posting_commit_p50_ms']} ms, p95 {figures['posting_commit_p95_ms']} ms)")
    print(f"100 postings per commit:   {figures['postings_per_s_batch100']:>9} postings/s")
    print(f"single connection as the app role, {DURATION:.0f} s per figure, 2-line entries")
    print(json.dumps(figures))


def purge(owner_url: str, owner_ids: list[str]) -> None:
    """The journal is append-only; the owner removes the bench's rows with triggers off."""
    engine = create_engine(owner_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            accounts = [r[0] for r in conn.execute(
                text("SELECT id FROM ledger_accounts WHERE owner_id = ANY(:o)"), {"o": owner_ids})]
            entries = [r[0] for r in conn.execute(
                text("SELECT DISTINCT entry_id FROM journal_lines WHERE account_id = ANY(:a)"), {"a": accounts})]
            conn.execute(text("DELETE FROM journal_lines WHERE entry_id = ANY(:e)"), {"e": entries})
            conn.execute(text("DELETE FROM journal_entries WHERE id = ANY(:e)"), {"e": entries})
            conn.execute(text("DELETE FROM ledger_balances WHERE account_id = ANY(:a)"), {"a": accounts})
            conn.execute(text("DELETE FROM ledger_accounts WHERE id = ANY(:a)"), {"a": accounts})
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
