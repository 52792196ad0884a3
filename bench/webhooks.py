"""Webhook deliveries: EVENTS (20,000) domain events of one client, fanned out and delivered by 2
RQ workers (`flask worker`'s code, with RQ's scheduler) to a local receiver on 127.0.0.1 that
answers every 10th request with a 500. Prints deliveries per second, the delay from an event to
its first attempt (p50/p95), retries, duplicates and lost events (must be 0); the last line is one
JSON object.

    python -m bench webhooks     (EVENTS=2000 WORKERS=2 FAIL_EVERY=10 STEADY=300 RATE=10 to change it)

The EVENTS are recorded as one burst (batches of 200 through the outbox, as the app does), so their
delay figures are mostly the queue the burst builds up. Then STEADY more events are recorded one per
transaction at RATE per second, which gives the delay of a platform that keeps up. The database
caas_bench_hooks is dropped and rebuilt at the start of each run. Retries run on a compressed
schedule (1, 2, 4, 8, 16, 32 s, then every minute, instead of 1 min … 12 h) so the run ends in
minutes, and the first worker runs the periodic ``requeue_stalled`` safety net every 30 s;
everything else is the production code path.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

EVENTS = int(os.environ.get("EVENTS", "20000"))
WORKERS = int(os.environ.get("WORKERS", "2"))
FAIL_EVERY = int(os.environ.get("FAIL_EVERY", "10"))
STEADY = int(os.environ.get("STEADY", "300"))  # then this many more, one per transaction, at RATE/s
RATE = float(os.environ.get("RATE", "10"))
BATCH = 200
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "5400"))
REDIS_DB = 12  # its own Redis database (flushed at the start): 11 is bench/submit's
PREFIX = "bench-hooks-"
OVERRIDES = {"ALLOW_PRIVATE_WEBHOOK_TARGETS": True,  # the receiver is on loopback
             "WEBHOOK_REQUEUE_INTERVAL": 30}


def compress_retry_schedule() -> None:
    from caas.events import deliveries

    deliveries.RETRY_DELAYS = (1, 2, 4, 8, 16, 32)
    deliveries.RETRY_EVERY = 60
    # Long enough that a retry waiting behind the burst in the queue is not the last one.
    deliveries.RETRY_WINDOW = timedelta(hours=3)


def worker_main(with_cron: bool) -> None:
    from app import create_app
    from caas.core import worker

    compress_retry_schedule()
    # The safety net runs as in production: pending deliveries whose job was lost get it again.
    worker.PERIODIC.append(("caas.events.jobs.requeue_stalled", "events", "WEBHOOK_REQUEUE_INTERVAL"))
    app = create_app(OVERRIDES)
    worker.run(app, ["events"], burst=False, with_cron=with_cron)


class Receiver:
    """Counts answers; every FAIL_EVERY-th request gets a 500. Verifies every 50th signature."""

    def __init__(self, secret_box: dict):
        self.lock = threading.Lock()
        self.requests = 0
        self.failed = 0
        self.acked: dict[str, float] = {}  # event id -> first 2xx time
        self.duplicates = 0
        self.first_at: float | None = None
        self.last_ok_at = 0.0
        self.bad_signatures = 0
        self.secret_box = secret_box

    def handler(self):
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                from caas.events.verify import SignatureVerificationError, verify_header

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.time()
                with state.lock:
                    state.requests += 1
                    n = state.requests
                    state.first_at = state.first_at or now
                fail = FAIL_EVERY and n % FAIL_EVERY == 0
                if n % 50 == 0:
                    try:
                        verify_header(body, self.headers.get("CaaS-Signature"), state.secret_box["secret"])
                    except SignatureVerificationError:
                        with state.lock:
                            state.bad_signatures += 1
                if not fail:
                    event_id = json.loads(body)["id"]
                    with state.lock:
                        if event_id in state.acked:
                            state.duplicates += 1
                        else:
                            state.acked[event_id] = now
                        state.last_ok_at = now
                else:
                    with state.lock:
                        state.failed += 1
                answer = b"boom" if fail else b"ok"
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        return Handler


def fresh_database(owner_url: str) -> None:
    """Start from an empty database: a previous run's pending deliveries would otherwise be picked
    up by the safety net and compete with this run."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from config import psycopg_url

    url = make_url(psycopg_url(owner_url))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": url.database})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
    admin.dispose()


def main() -> None:
    import services

    found = services.resolve("caas_bench_hooks", probe_local=True, instance=ROOT / "instance" / "bench",
                             redis_db=REDIS_DB)
    env = dict(os.environ, CAAS_ENV="production", DATABASE_URL=found.database_url, REDIS_URL=found.redis_url,
               SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret"), FLASK_APP="app.py", LOG_LEVEL="WARNING",
               RQ_QUEUE_PREFIX=PREFIX, PYTHONPATH=str(ROOT))
    os.environ.update(env)  # config reads the environment when it is imported, below
    fresh_database(found.database_url)
    subprocess.run([sys.executable, "-m", "flask", "setup-db"], cwd=ROOT, env=env, check=True, capture_output=True)

    from sqlalchemy import create_engine, text

    from app import create_app
    from caas.audit.operations import Actor
    from caas.core import jobs, tenant
    from caas.core.extensions import db
    from caas.events import outbox, webhooks
    from caas.tenancy import operations
    from config import psycopg_url

    app = create_app(OVERRIDES)
    ctx = app.app_context()
    ctx.push()
    jobs.connection().flushdb()  # this benchmark's own Redis database

    secret_box: dict = {}
    receiver = Receiver(secret_box)
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    actor = Actor.system("bench")
    client = operations.create_client(db.session, actor, slug=f"bench-{uuid.uuid4().hex[:8]}",
                                      legal_name="Bench Ltd", display_name="Bench", country="NG", currency="NGN",
                                      brand_colour="#123456")
    db.session.flush()
    client_id = client.id
    with tenant.tenant_scope(client_id, db.session):
        _, secret_box["secret"] = webhooks.create(
            db.session, actor, client_id, url=f"http://127.0.0.1:{server.server_port}/hook",
            events=["credit.application.submitted"], allow_http=True)
    db.session.commit()

    workers = [subprocess.Popen([sys.executable, "-c", f"import bench.webhooks as b; b.worker_main({i == 0})"],
                                cwd=ROOT, env=env) for i in range(WORKERS)]
    owner = create_engine(psycopg_url(found.database_url))
    try:
        started = time.time()
        for first in range(0, EVENTS, BATCH):
            with tenant.tenant_scope(client_id, db.session):
                for n in range(first, min(first + BATCH, EVENTS)):
                    outbox.record_event(db.session, client_id, "credit.application.submitted",
                                        {"id": f"app_{n}", "object": "application", "status": "submitted",
                                         "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
                db.session.commit()  # after commit the dispatch jobs go to Redis
        recorded = time.time()
        deadline = started + TIMEOUT
        while time.time() < deadline:
            with receiver.lock:
                done = len(receiver.acked)
            if done >= EVENTS:
                break
            time.sleep(0.5)
        finished = time.time()
        # Steady state: events one at a time at RATE/s, as a running platform produces them.
        steady_started = time.time()
        for n in range(STEADY):
            time.sleep(max(0.0, steady_started + n / RATE - time.time()))
            with tenant.tenant_scope(client_id, db.session):
                outbox.record_event(db.session, client_id, "credit.application.submitted",
                                    {"id": f"steady_{n}", "object": "application", "status": "submitted",
                                     "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
                db.session.commit()
        while time.time() < deadline + 600:
            with receiver.lock:
                done = len(receiver.acked)
            if done >= EVENTS + STEADY:
                break
            time.sleep(0.2)
        with owner.connect() as conn:
            row = conn.execute(text("""
                SELECT count(*) FILTER (WHERE d.status = 'succeeded') AS succeeded,
                       count(*) FILTER (WHERE d.status = 'failed') AS failed,
                       count(*) FILTER (WHERE d.status = 'pending') AS pending,
                       coalesce(sum(d.attempts), 0) AS attempts
                FROM webhook_deliveries d WHERE d.client_id = :c"""), {"c": client_id}).one()
            first_attempt = """
                SELECT extract(epoch FROM a.at - d.event_created_at) FROM webhook_delivery_attempts a
                JOIN webhook_deliveries d ON d.id = a.delivery_id
                WHERE d.client_id = :c AND a.attempt = 1 AND (d.data->>'id' LIKE 'steady_%') = :steady"""
            delays = [r[0] for r in conn.execute(text(first_attempt), {"c": client_id, "steady": False})]
            steady_delays = [r[0] for r in conn.execute(text(first_attempt), {"c": client_id, "steady": True})]
            unsent = conn.execute(text("SELECT count(*) FROM outbox WHERE client_id = :c AND sent_at IS NULL"),
                                  {"c": client_id}).scalar()
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.shutdown()
        owner.dispose()

    def percentiles(values) -> list[float]:
        values = sorted(float(v) for v in values)
        return statistics.quantiles(values, n=100) if len(values) >= 2 else [0.0] * 99

    q, qs = percentiles(delays), percentiles(steady_delays)
    lost = EVENTS + STEADY - len(receiver.acked)
    window = (receiver.last_ok_at - receiver.first_at) if receiver.first_at else 0
    figures = {
        "events": EVENTS, "workers": WORKERS, "fail_every": FAIL_EVERY,
        "deliveries_per_s": round(len(receiver.acked) / window, 1) if window else 0.0,
        "attempts_per_s": round(receiver.requests / window, 1) if window else 0.0,
        "end_to_end_per_s": round(EVENTS / (finished - started), 1),
        "delay_first_attempt_p50_s": round(q[49], 2), "delay_first_attempt_p95_s": round(q[94], 2),
        "steady_rate_per_s": RATE, "steady_events": STEADY,
        "steady_delay_p50_s": round(qs[49], 3), "steady_delay_p95_s": round(qs[94], 3),
        "answers_500": receiver.failed, "duplicates": receiver.duplicates, "bad_signatures": receiver.bad_signatures,
        "lost_events": lost, "deliveries_succeeded": row.succeeded, "deliveries_failed": row.failed,
        "deliveries_pending": row.pending, "outbox_unsent": unsent,
        "record_s": round(recorded - started, 1), "total_s": round(finished - started, 1),
    }
    print(f"{EVENTS} events recorded in {figures['record_s']} s; all delivered after {figures['total_s']} s "
          f"with {WORKERS} workers on {os.cpu_count()} CPUs")
    print(f"deliveries/s {figures['deliveries_per_s']} (end to end {figures['end_to_end_per_s']})  "
          f"attempts/s {figures['attempts_per_s']}  "
          f"500s {receiver.failed}  retried attempts {row.attempts - row.succeeded - row.failed - row.pending}")
    print(f"event -> first attempt: p50 {figures['delay_first_attempt_p50_s']} s  "
          f"p95 {figures['delay_first_attempt_p95_s']} s (a burst of {EVENTS}: mostly time in the queue)")
    print(f"steady {RATE:g} events/s ({STEADY} events): event -> first attempt p50 {figures['steady_delay_p50_s']} s  "
          f"p95 {figures['steady_delay_p95_s']} s")
    print(f"lost events {lost}  duplicates {receiver.duplicates}  bad signatures {receiver.bad_signatures}  "
          f"failed {row.failed}  pending {row.pending}  outbox unsent {unsent}")
    print(json.dumps(figures))
    if lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
