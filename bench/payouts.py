"""Payouts: PAYOUTS (5,000) accepted loans paid by 2 RQ worker processes (`flask worker`'s code,
non-forking, one database connection each) through the sandbox gateway, with 10% duplicate job
deliveries and a few SIGKILLed workers. Prints payouts per second, duplicates (transfers executed
more than once per reference, or more than one transfer per payout: must be 0) and lost payouts
(not succeeded at the end: must be 0); the last line is one JSON object.

    python -m bench payouts      (PAYOUTS=500 WORKERS=2 DUPLICATES=0.1 KILLS=3 CLIENTS=5 to change it)

The gateway: the built-in sandbox with its Redis store shared by the processes (a reference is
created once, with SET NX, as a real gateway dedupes its idempotency key), wrapped to count, in the
same atomic step, every transfer it creates per reference, and every initiate call per reference
(a re-send the gateway absorbed). Accounts end in 1: every transfer succeeds at once.

Data (database caas_bench_payouts, dropped and rebuilt each run; Redis database 4, flushed): CLIENTS
clients, each with its own funded provider and one loan accepted through the app's operations (the
template); the template's application, listing, bid, loan, schedule, payout and payout event are
then cloned with set-based SQL as the database owner, per client with ``app.client_id`` set in the
transaction (row-level security is FORCEd), to PAYOUTS pending payouts in all. The clones' funds are
reserved with one ledger reservation per provider (the ledger keeps reservations per provider, not
per loan), so the books balance before and after.

The run: the workers start (queue ``payouts``, no cron), then every payout's job is enqueued as the
outbox would (job id ``payout-<id>-1``, same timeout and retry policy), plus a second delivery of
10% of them under another job id (half right behind the first, so two workers usually run them at
once; half at the end of the queue, after the first has paid). At random moments during the run a
busy worker is SIGKILLed and restarted; the job it was running is handed back to the queue at once
(what RQ does for an abandoned job after its timeout, fast-forwarded). The clock runs from the first
enqueue to the moment every payout is succeeded.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

DATABASE = "caas_bench_payouts"
REDIS_DB = 4
PREFIX = "bench-payouts-"
PAYOUTS = int(os.environ.get("PAYOUTS", "5000"))
WORKERS = int(os.environ.get("WORKERS", "2"))
DUPLICATES = float(os.environ.get("DUPLICATES", "0.10"))
KILLS = int(os.environ.get("KILLS", "3"))
CLIENTS = int(os.environ.get("CLIENTS", "5"))
SEED = int(os.environ.get("SEED", "20261122"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "1800"))
TARGET_PER_S = 500.0

PRINCIPAL = 250_000_00
FEE = 2_500_00
ACCOUNT = "0123456781"  # the sandbox pays accounts ending in 1 at once
SANDBOX_PREFIX = "bench-payouts:sandbox:"
EXECUTED = "bench-payouts:executed"  # hash: reference -> transfers created
CALLS = "bench-payouts:initiate-calls"  # hash: reference -> initiate calls
JOB = "caas.payments.jobs.process_payout"

# SET NX of the transfer and its count in one step: a kill cannot separate them.
CREATE_LUA = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
  return 1
end
return 0
"""


# --- the counting gateway (bench and worker processes) ---------------------------------------------

def counting_router(redis_url: str):
    import redis

    from caas.payments.gateways import RedisStore, SandboxGateway
    from caas.payments.routing import Router

    class CountingStore(RedisStore):
        def __init__(self, client):
            super().__init__(client, prefix=SANDBOX_PREFIX)
            self.create_script = client.register_script(CREATE_LUA)

        def create(self, reference, record):
            if self.create_script(keys=[self.prefix + reference, EXECUTED],
                                  args=[json.dumps(record), self.ttl, reference]):
                return dict(record), True
            return self.get(reference) or dict(record), False

    class CountingSandbox(SandboxGateway):
        def initiate_transfer(self, request):
            self.store.redis.hincrby(CALLS, request.reference, 1)
            return super().initiate_transfer(request)

    client = redis.Redis.from_url(redis_url, socket_timeout=5.0)
    return Router({"sandbox": CountingSandbox(store=CountingStore(client))}, {"NGN": ["sandbox"], "*": ["sandbox"]})


def worker_main() -> None:
    from app import create_app
    from caas.core import worker
    from caas.payments import service

    app = create_app()
    service.use(counting_router(app.config["REDIS_URL"]))
    worker.run(app, ["payouts"], burst=False, with_cron=False)


# --- seeding ----------------------------------------------------------------------------------------

def make_templates(per_client: list[int]) -> list[dict]:
    """Per client, through the app's operations (app role, row-level security): a provider in its
    network funded for all its loans, a borrower with a bank account, an application approved and
    opened for offers, a bid, and its acceptance (the template loan and payout)."""
    from caas.audit.operations import Actor
    from caas.core import tenant
    from caas.core.extensions import db
    from caas.credit import applications, consents, profiles
    from caas.credit.applications import Terms
    from caas.credit.models import ApplicationStatus as S, CreditDecision
    from caas.ledger import operations as ledger
    from caas.market import acceptance, bids, criteria, listings
    from caas.payments import payouts
    from caas.tenancy import operations
    from caas.tenancy.models import Role

    session = db.session
    actor = Actor.system("bench")
    now = datetime.now(timezone.utc)
    made = []
    for index, count in enumerate(per_client):
        tag = f"{index + 1:02d}-{uuid.uuid4().hex[:6]}"
        client = operations.create_client(session, actor, slug=f"bench-po-{tag}", legal_name=f"Payout Client {tag} Ltd",
                                          display_name=f"Payout Client {tag}", country="NG", currency="NGN")
        provider = operations.create_provider(session, actor, legal_name=f"Payout Lender {tag}",
                                              licence_number=f"CBN-{tag}", country="NG", currencies=["NGN"])
        with tenant.tenant_scope(client.id, session):
            operations.set_provider_network(session, actor, client.id, [provider.id])
        ledger.fund_provider(session, actor, provider.id, count * PRINCIPAL + 1_000_00, "NGN", f"DEP-bench-{tag}")
        with tenant.provider_scope(provider.id, session):
            criteria.save(session, actor, provider.id, criteria.CriteriaInput(
                name="NGN book", currencies=["NGN"], min_amount_minor=1_000_00, max_amount_minor=10_000_000_00,
                min_term_months=1, max_term_months=36, worst_grade="E"))
        with tenant.tenant_scope(client.id, session):
            borrower = operations.create_user(session, role=Role.borrower, full_name="Adaeze Okoro", password=None,
                                              email=f"borrower-{tag}@bench-payouts.example.com", client_id=client.id)
            profiles.save(session, borrower, client, profiles.ProfileInput(
                legal_name="Adaeze Okoro", date_of_birth="1990-04-12", phone="+2348031234567",
                address="12 Marina Road, Lagos", national_id="22345678901", employment_status="employed",
                employer="Dangote Cement", months_employed=36, monthly_net_income="450000.00",
                monthly_expenses="150000.00", existing_debt_payments="20000.00", housing="rent"), now.date())
            application = applications.start(session, borrower.id, client.id)
            applications.set_terms(session, application, Terms(PRINCIPAL, "NGN", 12, "business expansion"), now.date())
            applications.confirm_income(session, application, True)
            consents.grant(session, borrower.id, client.id, ["data_processing", "credit_check"], "127.0.0.1")
            payouts.save_bank_account(session, borrower.id, client.id,
                                      payouts.BankDetails("NGN", "058", ACCOUNT, "Adaeze Okoro"))
            applications.submit(session, application)
            applications.transition(session, application, S.screening)
            decision = CreditDecision(id=uuid.uuid4(), client_id=client.id, application_id=application.id,
                                      outcome="approve", model_version="bench", pd=Decimal("0.045"), score=600,
                                      grade="B", reasons=[], rule_results=[], screening_hits=[], kyc_results=[],
                                      inputs={})
            session.add(decision)
            applications.transition(session, application, S.approved)
            listing = listings.open_for_offers(session, application, decision, now)
            session.flush()
        with tenant.provider_scope(provider.id, session):
            bid = bids.place(session, actor, provider.id, listing.id, bids.BidInput(
                annual_rate_percent=Decimal("30"), term_months=12, valid_until=now + timedelta(days=5),
                fee_minor=FEE), now)
        with tenant.tenant_scope(client.id, session):
            loan = acceptance.accept(session, actor, application_id=application.id, bid_id=bid.id,
                                     typed_name="Adaeze Okoro", consent=True, agreement_sha256=None, channel="api",
                                     ip_address=None, now=now, borrower_id=None)
            payout = payouts.for_loan(session, loan.id)
            if count > 1:  # the clones' funds, reserved in one entry (reservations are per provider)
                ledger.reserve(session, provider.id, (count - 1) * PRINCIPAL, "NGN", loan.id,
                               idempotency_key=f"bench-reserve:{provider.id}")
            made.append({"client_id": str(client.id), "application_id": str(application.id), "bid_id": str(bid.id),
                         "loan_id": str(loan.id), "payout_id": str(payout.id), "copies": count - 1})
        session.commit()
        tenant.reset()
    return made


# (table, {column: expression over the clone map m}, which template rows): every other column is copied.
CLONES = [
    ("applications", {"id": "m.application_id"}, "t.id = %(application_id)s"),
    ("market_listings", {"id": "m.listing_id", "application_id": "m.application_id", "accepted_bid_id": "m.bid_id"},
     "t.application_id = %(application_id)s"),
    ("bids", {"id": "m.bid_id", "listing_id": "m.listing_id", "application_id": "m.application_id"},
     "t.id = %(bid_id)s"),
    ("loans", {"id": "m.loan_id", "application_id": "m.application_id", "bid_id": "m.bid_id"}, "t.id = %(loan_id)s"),
    ("loan_installments", {"loan_id": "m.loan_id"}, "t.loan_id = %(loan_id)s"),
    ("payouts", {"id": "m.payout_id", "loan_id": "m.loan_id",
                 "reference": "'caas-po-' || left(replace(m.loan_id::text, '-', ''), 24) || '-1'"},
     "t.id = %(payout_id)s"),
    ("payout_events", {"id": "gen_random_uuid()", "payout_id": "m.payout_id"}, "t.payout_id = %(payout_id)s"),
]


def clone(dsn: str, templates: list[dict]) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        columns = {table: [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
            "ORDER BY ordinal_position", (table,))] for table, _, _ in CLONES}
        for template in templates:
            if not template["copies"]:
                continue
            # As the tenant, in this transaction only: row-level security admits the client's rows.
            conn.execute("SELECT set_config('app.client_id', %s, true)", (template["client_id"],))
            conn.execute("""CREATE TEMP TABLE clone_map ON COMMIT DROP AS
                            SELECT g AS n, gen_random_uuid() AS application_id, gen_random_uuid() AS listing_id,
                                   gen_random_uuid() AS bid_id, gen_random_uuid() AS loan_id,
                                   gen_random_uuid() AS payout_id
                            FROM generate_series(1, %(copies)s) AS g""", template)
            for table, overrides, where in CLONES:
                names = columns[table]
                select = ", ".join(overrides.get(c, f"t.{c}") for c in names)
                conn.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {select} "
                             f"FROM {table} t CROSS JOIN clone_map m WHERE {where}", template)
            conn.commit()
        conn.execute("SELECT set_config('app.all_tenants', 'on', false)")
        for table in ("applications", "market_listings", "bids", "loans", "loan_installments", "payouts",
                      "payout_events"):
            conn.execute(f"ANALYZE {table}")
        conn.commit()


# --- the run ----------------------------------------------------------------------------------------

def fresh_database(owner_url: str) -> None:
    import psycopg

    from config import psycopg_url
    from sqlalchemy.engine import make_url

    url = make_url(psycopg_url(owner_url))
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


class Pool:
    """The worker processes; a killed one is restarted at once."""

    def __init__(self, env: dict, log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        self.started = 0

    def start(self) -> subprocess.Popen:
        self.started += 1
        log = open(self.log_dir / f"payout-worker-{self.started}.log", "wb")
        # Its own process group: RQ forks its scheduler from the worker holding the scheduler lock,
        # and a kill must take that child too, as when a container is killed.
        proc = subprocess.Popen([sys.executable, "-c", "import bench.payouts as b; b.worker_main()"], cwd=ROOT,
                                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def rq_worker(self, proc: subprocess.Popen):
        from rq import Worker

        from caas.core import jobs

        return next((w for w in Worker.all(connection=jobs.connection()) if w.pid == proc.pid), None)

    def wait_registered(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.rq_worker(p) is not None for p in self.procs):
                return
            dead = [p for p in self.procs if p.poll() is not None]
            if dead:
                raise SystemExit(f"a worker exited with {dead[0].returncode}; see {self.log_dir}")
            time.sleep(0.1)
        raise SystemExit("the workers did not start")

    def kill(self, proc: subprocess.Popen) -> None:
        signal_group(proc, signal.SIGKILL)
        proc.wait(10)
        self.procs.remove(proc)

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
            signal_group(proc, signal.SIGKILL)  # what is left of it, its scheduler included
            proc.wait(10)
        self.procs.clear()


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def enqueue_all(payout_rows: list[tuple[str, str]], rng: random.Random) -> tuple[int, int]:
    """Every payout's job as the outbox sends it, plus the duplicate deliveries; one pipeline."""
    from rq import Queue, Retry

    from caas.core import jobs

    q = jobs.queue("payouts")

    def data(payout_id: str, client_id: str, job_id: str):
        return Queue.prepare_data(JOB, args=(payout_id,), kwargs={}, timeout=120, job_id=job_id,
                                  retry=Retry(max=3, interval=[10, 60, 300]), result_ttl=24 * 3600,
                                  failure_ttl=7 * 24 * 3600, meta={"client_id": client_id, "outbox_id": None})

    order = list(payout_rows)
    rng.shuffle(order)
    duplicated = set(rng.sample(range(len(order)), int(len(order) * DUPLICATES)))
    batch, late = [], []
    for i, (payout_id, client_id) in enumerate(order):
        batch.append(data(payout_id, client_id, f"payout-{payout_id}-1"))
        if i in duplicated:
            again = data(payout_id, client_id, f"payout-{payout_id}-1-dup")
            (batch if i % 2 else late).append(again)  # right behind the first, or after everything
    batch.extend(late)
    for first in range(0, len(batch), 1000):
        with q.connection.pipeline() as pipe:
            q.enqueue_many(batch[first:first + 1000], pipeline=pipe)
            pipe.execute()
    return len(batch), len(duplicated)


def hand_back(job_id: str | None) -> bool:
    """The abandoned job of a killed worker, back on the queue (RQ's abandoned-job retry, without
    waiting for the job timeout and the next maintenance run)."""
    from rq.job import Job
    from rq.registry import StartedJobRegistry

    from caas.core import jobs

    if not job_id:
        return False
    q = jobs.queue("payouts")
    job = Job.fetch(job_id, connection=q.connection)
    StartedJobRegistry(queue=q).remove_executions(job)
    q.enqueue_job(job, at_front=True)
    return True


def sweep_leftovers(pool: Pool) -> int:
    """At the end, with the queue empty and the workers idle: a job a killed worker had dequeued but
    not yet registered as started (RQ's intermediate list) goes back to the queue."""
    from rq.registry import StartedJobRegistry

    from caas.core import jobs

    q = jobs.queue("payouts")
    live = {w.get_current_job_id() for p in pool.procs if (w := pool.rq_worker(p)) is not None}
    started = set(StartedJobRegistry(queue=q).get_job_ids())
    moved = 0
    for job_id in q.intermediate_queue.get_job_ids():
        if job_id not in live and job_id not in started and (job := q.fetch_job(job_id)) is not None:
            q.intermediate_queue.remove(job_id)
            q.enqueue_job(job)
            moved += 1
    return moved


def main() -> None:
    import psycopg
    import services

    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    found = services.resolve(DATABASE, probe_local=True, instance=ROOT / "instance" / "bench", redis_db=REDIS_DB)
    env = dict(os.environ, CAAS_ENV="production", DATABASE_URL=found.database_url, REDIS_URL=found.redis_url,
               SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret"), FLASK_APP="app.py", LOG_LEVEL="WARNING",
               RQ_QUEUE_PREFIX=PREFIX, PYTHONPATH=str(ROOT))
    env.pop("APP_DATABASE_URL", None)
    os.environ.update(env)  # config reads the environment when it is imported, below
    fresh_database(found.database_url)
    subprocess.run([sys.executable, "-m", "flask", "setup-db"], cwd=ROOT, env=env, check=True, capture_output=True)

    from app import create_app
    from caas.core import jobs
    from caas.core.extensions import db
    from caas.ledger.reports import trial_balance
    from caas.payments import service

    app = create_app()
    ctx = app.app_context()
    ctx.push()
    jobs.connection().flushdb()  # this benchmark's own Redis database
    router = counting_router(app.config["REDIS_URL"])
    service.use(router)
    rng = random.Random(SEED)
    from bench._http import owner_dsn

    dsn = owner_dsn(found.database_url)

    seeding = time.monotonic()
    sizes = [PAYOUTS // CLIENTS + (1 if i < PAYOUTS % CLIENTS else 0) for i in range(CLIENTS)]
    templates = make_templates(sizes)
    clone(dsn, templates)
    jobs.connection().flushdb()  # the templates' own jobs: the run enqueues every job itself
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT set_config('app.all_tenants', 'on', false)")
        rows = conn.execute("SELECT id::text, client_id::text FROM payouts WHERE status = 'pending'").fetchall()
    if len(rows) != PAYOUTS:
        raise SystemExit(f"seed check: {len(rows)} pending payouts, expected {PAYOUTS}")
    seed_s = time.monotonic() - seeding
    print(f"seeded {PAYOUTS} pending payouts for {CLIENTS} clients in {seed_s:.1f} s", flush=True)

    log_dir = ROOT / "instance" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    pool = Pool(env, log_dir)
    for _ in range(WORKERS):
        pool.start()
    pool.wait_registered()

    def succeeded() -> int:
        with psycopg.connect(dsn) as conn:
            conn.execute("SELECT set_config('app.all_tenants', 'on', false)")
            return conn.execute("SELECT count(*) FROM payouts WHERE status = 'succeeded'").fetchone()[0]

    kill_at = sorted(rng.uniform(0.1, 0.85) for _ in range(KILLS))
    kills, handed_back, swept = [], 0, 0
    started = time.monotonic()
    deliveries, duplicated = enqueue_all(rows, rng)
    enqueued_s = time.monotonic() - started
    deadline = started + TIMEOUT
    done = 0
    try:
        while time.monotonic() < deadline:
            done = succeeded()
            if done >= PAYOUTS:
                break
            if kill_at and done >= kill_at[0] * PAYOUTS:
                busy = [(p, w) for p in pool.procs if (w := pool.rq_worker(p)) is not None
                        and w.get_state() == "busy"]
                if busy:
                    proc, rq_worker = rng.choice(busy)
                    pool.kill(proc)
                    rq_worker.refresh()
                    job_id = rq_worker.get_current_job_id()
                    kills.append({"at_done": done, "job": job_id})
                    handed_back += hand_back(job_id)
                    kill_at.pop(0)
                    pool.start()
            elif not kill_at and jobs.queue("payouts").count == 0:
                idle = all((w := pool.rq_worker(p)) is not None and w.get_state() == "idle" for p in pool.procs)
                if idle and succeeded() < PAYOUTS:
                    swept += sweep_leftovers(pool)
            time.sleep(0.25)
        finished = time.monotonic()
    finally:
        pool.stop()

    elapsed = finished - started
    redis = jobs.connection()
    executed = {k.decode(): int(v) for k, v in redis.hgetall(EXECUTED).items()}
    calls = {k.decode(): int(v) for k, v in redis.hgetall(CALLS).items()}
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT set_config('app.all_tenants', 'on', false)")
        statuses = dict(conn.execute("SELECT status::text, count(*) FROM payouts GROUP BY 1").fetchall())
        references = {r[0]: r[1] for r in conn.execute("SELECT reference, loan_id::text FROM payouts")}
        flagged = conn.execute("SELECT count(*) FROM payouts WHERE mismatch IS NOT NULL").fetchone()[0]
        settle_entries = conn.execute("SELECT count(*) FROM journal_entries WHERE idempotency_key LIKE 'payout:%'"
                                      ).fetchone()[0]
        completed = conn.execute("SELECT count(*) FROM outbox WHERE event_type = 'credit.disbursement.completed'"
                                 ).fetchone()[0]
        initiate_calls = conn.execute("SELECT count(*) FROM payout_calls WHERE operation = 'initiate'").fetchone()[0]
        verify_calls = conn.execute("SELECT count(*) FROM payout_calls WHERE operation = 'verify'").fetchone()[0]
    balances = trial_balance(db.session)
    db.session.rollback()
    books_balance = all(tb.difference_minor == 0 for tb in balances)

    per_reference_dupes = sum(1 for n in executed.values() if n > 1)
    by_payout: dict[str, int] = {}
    for reference, n in executed.items():
        loan_part = reference.rsplit("-", 1)[0]  # every attempt of a payout shares caas-po-<loan>-
        by_payout[loan_part] = by_payout.get(loan_part, 0) + n
    per_payout_dupes = sum(1 for n in by_payout.values() if n > 1)
    strays = sum(1 for reference in executed if reference not in references)
    duplicates = per_reference_dupes + per_payout_dupes + strays
    lost = PAYOUTS - statuses.get("succeeded", 0)
    resent = sum(n - 1 for n in calls.values() if n > 1)
    per_s = round(statuses.get("succeeded", 0) / elapsed, 1) if elapsed else 0.0
    met = per_s >= TARGET_PER_S and duplicates == 0 and lost == 0

    print(f"{PAYOUTS} payouts by {WORKERS} worker processes on {os.cpu_count()} CPUs: {deliveries} job deliveries "
          f"({duplicated} duplicates), {len(kills)} workers SIGKILLed and restarted ({handed_back} abandoned jobs "
          f"handed back, {swept} swept from RQ's intermediate list); enqueued in {enqueued_s:.2f} s, all paid after "
          f"{elapsed:.1f} s")
    print(f"payouts/s {per_s}")
    print(f"duplicates {duplicates} (references executed more than once {per_reference_dupes}, payouts with more "
          f"than one transfer {per_payout_dupes}, transfers under unknown references {strays})")
    print(f"lost payouts {lost} (statuses {statuses})")
    print(f"initiate calls the gateway absorbed as re-sends of an existing reference {resent}; payout_calls: "
          f"{initiate_calls} initiate, {verify_calls} verify; flagged {flagged}; settle entries {settle_entries}; "
          f"completed events {completed}; trial balance zero per currency: {books_balance}")
    print(f"target: >= {TARGET_PER_S:.0f} payouts/s: {'met' if met else 'NOT met'}")
    print(json.dumps({
        "payouts": PAYOUTS, "workers": WORKERS, "payouts_per_s": per_s, "elapsed_s": round(elapsed, 1),
        "deliveries": deliveries, "duplicate_deliveries": duplicated, "kills": len(kills),
        "abandoned_jobs_handed_back": handed_back, "swept": swept, "duplicates": duplicates, "lost": lost,
        "resent_absorbed": resent, "flagged": flagged, "settle_entries": settle_entries,
        "completed_events": completed, "books_balance": books_balance, "seed_s": round(seed_s, 1),
        "target_per_s": TARGET_PER_S, "met": met}))
    if duplicates or lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
