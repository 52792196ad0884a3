"""Payout faults with real processes: `flask worker` subprocesses (the production worker) paying
through the local fake Paystack over HTTP, against real PostgreSQL and Redis, with committed data.

- Workers are SIGKILLed between the gateway call and the commit (deterministically, while the fake
  holds the answer to a transfer it has already executed; once just before the transfer is sent;
  then at random moments), and restarted. After recovery (RQ's abandoned-job retry, fast-forwarded,
  then the periodic reconciliation) every payout has succeeded, the fake executed exactly one
  transfer per payout reference, and the books balance.
- Redis is down when a loan is accepted: the acceptance commits, the payout job stays in the
  outbox, the relay sends it once Redis is back, and one burst worker pays it once.

The fake gateway's own count of executed transfers is the truth throughout; duplicate webhook
deliveries are covered in test_payouts.py.
"""
from __future__ import annotations

import json
import os
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import text

from caas.core import jobs, tenant
from caas.core.extensions import db as database
from caas.events import outbox
from caas.ledger.reports import trial_balance
from caas.market import acceptance, bids
from caas.payments import payouts, service
from caas.payments.gateways import PaystackGateway
from caas.payments.routing import Router
from tests import factories
from tests.market.world import bid_input, lender, open_application
from tests.payments.conftest import SECRETS
from tests.worker_procs import WorkerProcesses, retry_abandoned_jobs as retry_abandoned, state_of, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

ACCOUNT = "0123456781"
PRINCIPAL = 250_000_00
GATEWAY_TIMEOUT = 10.0  # the workers' read timeout at the fake: longer than any hang used here
SEED = int(os.environ.get("PAYOUT_FAULTS_SEED", "0")) or random.randrange(1, 10**6)


# --- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture
def paystack_router(fake):
    """In this process (acceptance, reconciliation): NGN goes to the fake Paystack, as in the workers."""
    fake.outcome[ACCOUNT] = "success"  # a new transfer to this account succeeds at once
    gateway = PaystackGateway(secret_key=SECRETS["paystack"], base_url=fake.base_url("paystack"),
                              timeout=GATEWAY_TIMEOUT)
    router = Router({"paystack": gateway}, {"NGN": ["paystack"]})
    service.use(router)
    yield router
    service.use(None)
    gateway.close()


class Workers(WorkerProcesses):
    """`flask worker -q payouts` subprocesses with the test database and Redis, and the gateway
    configured through PAYMENT_GATEWAYS / PAYMENT_ROUTES as in production."""

    def __init__(self, app, fake, log_dir: Path):
        super().__init__(app, log_dir, ("payouts",), drop_env=("PAYMENT_GATEWAYS", "PAYMENT_ROUTES"), extra_env=dict(
            PAYMENT_GATEWAYS=json.dumps({"paystack": {"secret_key": SECRETS["paystack"],
                                                      "base_url": fake.base_url("paystack"),
                                                      "timeout": GATEWAY_TIMEOUT}}),
            PAYMENT_ROUTES=json.dumps({"NGN": ["paystack"]})))


@pytest.fixture
def workers(app, fake, tmp_path):
    made = Workers(app, fake, tmp_path)
    yield made
    made.stop_all()


# --- helpers ----------------------------------------------------------------------------------------

def accept_loans(session, clients: int, per_client: int) -> list[dict]:
    """Accepted NGN 250,000.00 loans through the real operations, committed; their payout jobs go to
    Redis after each commit. Returns one dict per payout."""
    made = []
    for _ in range(clients):
        client = factories.client(session)
        provider = lender(session, client, funds_minor=per_client * PRINCIPAL + 1_000_00)
        session.commit()
        for _ in range(per_client):
            now = datetime.now(timezone.utc)
            opened = open_application(session, client, now=now, bank_account=ACCOUNT)
            with tenant.provider_scope(provider.id, session):
                bid = bids.place(session, factories.SYSTEM, provider.id, opened.listing_id,
                                 bid_input(valid_until=now + timedelta(days=2)), now)
            with tenant.tenant_scope(client.id, session):
                loan = acceptance.accept(session, factories.SYSTEM, application_id=opened.application_id,
                                         bid_id=bid.id, typed_name="Adaeze Okoro", consent=True,
                                         agreement_sha256=None, channel="portal", ip_address=None, now=now,
                                         borrower_id=opened.borrower_id)
                payout = payouts.for_loan(session, loan.id)
                made.append({"id": payout.id, "client_id": client.id, "reference": payout.reference,
                             "loan_id": loan.id, "provider_id": provider.id})
                session.commit()
        tenant.reset()
    return made


def payout_rows(owner) -> dict[str, dict]:
    with owner.connect() as conn:
        rows = conn.execute(text("SELECT id, status, gateway, reference, mismatch FROM payouts")).mappings().all()
        calls = conn.execute(text("SELECT payout_id, operation, outcome FROM payout_calls")).all()
    by_id = {str(r["id"]): dict(r, calls=[]) for r in rows}
    for payout_id, operation, outcome in calls:
        by_id[str(payout_id)]["calls"].append((operation, outcome))
    return by_id


def transfer_posts(fake) -> dict[str, int]:
    """How many times the workers asked the fake to create each reference (not how many it executed)."""
    counts: dict[str, int] = {}
    for request in list(fake.requests):
        if request["gateway"] == "paystack" and request["method"] == "POST" and request["path"].endswith("/transfer"):
            reference = json.loads(request["body"])["reference"]
            counts[reference] = counts.get(reference, 0) + 1
    return counts


def queue() -> Queue:
    return jobs.queue("payouts")


def retry_abandoned_jobs() -> int:
    return retry_abandoned(queue())


def assert_paid_exactly_once(owner, fake, made: list[dict]) -> dict[str, dict]:
    rows = payout_rows(owner)
    assert {r["status"] for r in rows.values()} == {"succeeded"}, \
        {k: (v["status"], v["calls"]) for k, v in rows.items() if v["status"] != "succeeded"}
    references = {p["reference"] for p in made}
    executed = {ref: n for (gw, ref), n in fake.executed.items() if gw == "paystack"}
    assert set(executed) == references  # nothing paid under another reference
    assert all(n == 1 for n in executed.values()), {r: n for r, n in executed.items() if n != 1}
    with owner.connect() as conn:
        settled = conn.execute(text("SELECT count(*), count(DISTINCT idempotency_key) FROM journal_entries "
                                    "WHERE idempotency_key LIKE 'payout:%'")).one()
        completed = conn.execute(text("SELECT count(*) FROM outbox WHERE event_type = "
                                      "'credit.disbursement.completed'")).scalar()
        active = conn.execute(text("SELECT count(*) FROM loans WHERE status = 'active'")).scalar()
        leftovers = conn.execute(text("""
            SELECT a.kind, sum(b.balance_minor) FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id
            WHERE a.kind IN ('borrower_payout_clearing', 'provider_reserved') GROUP BY a.kind""")).all()
    assert settled == (len(made), len(made))  # one settle_payout entry per payout, none twice
    assert completed == len(made) and active == len(made)
    assert all(total == 0 for _, total in leftovers), leftovers  # every reservation disbursed, nothing owed
    return rows


def assert_books_balance(session) -> None:
    balances = trial_balance(session)
    session.rollback()
    assert balances and all(tb.difference_minor == 0 for tb in balances), \
        [(tb.currency, tb.difference_minor) for tb in balances]


# --- SIGKILL between the gateway call and the commit ------------------------------------------------

def test_workers_killed_between_the_gateway_call_and_the_commit_pay_every_payout_exactly_once(
        app, committed, owner, fake, paystack_router, workers):
    rnd = random.Random(SEED)
    print(f"PAYOUT_FAULTS_SEED={SEED}")
    made = accept_loans(committed, clients=2, per_client=20)
    assert queue().count == len(made)  # one job each, sent by the outbox after each acceptance

    # 1. Deterministic: the fake executes the first transfer and holds its answer; the worker is
    #    killed while it waits, so the transfer exists at the gateway and nothing of it here.
    fake.hang("paystack", "POST", "/transfer", 4.0)
    first = workers.start()
    wait_for(lambda: fake.executed, 20, "the first transfer", step=0.005)
    workers.kill(first)
    [(_, reference)] = fake.executed
    [stuck] = [r for r in payout_rows(owner).values() if r["reference"] == reference]
    assert stuck["status"] == "submitted" and stuck["gateway"] == "paystack"  # the intent was committed
    assert ("initiate", "succeeded") not in stuck["calls"]  # the answer never was
    # The periodic reconciliation asks the gateway by reference and settles it without resending.
    counts = payouts.reconcile(committed, paystack_router, datetime.now(timezone.utc), older_than=timedelta(0))
    assert {k: counts[k] for k in ("checked", "resolved", "flagged")} == {"checked": 1, "resolved": 1, "flagged": 0}
    assert payout_rows(owner)[str(stuck["id"])]["status"] == "succeeded"
    assert fake.count("paystack", reference) == 1

    # Also deterministic, one step earlier: killed after the intent was committed, while the fake
    # holds its answer to the recipient call, so the transfer was never sent. The retried job must
    # find nothing at the gateway and send it then, once.
    fake.hang("paystack", "POST", "/transferrecipient", 4.0)
    asked = len(fake.requests)
    second = workers.start()
    wait_for(lambda: any(r["path"].endswith("/transferrecipient") for r in fake.requests[asked:]), 20,
             "the recipient call", step=0.005)
    workers.kill(second)
    [unsent] = [r for r in payout_rows(owner).values() if r["status"] == "submitted"]
    assert unsent["gateway"] == "paystack" and fake.count("paystack", unsent["reference"]) == 0

    # 2. Random: every transfer is executed and then answered late (most of a payout's time is
    #    spent in that window); two workers, a few SIGKILLs at random moments, each restarted.
    fake.hang("paystack", "POST", "/transfer", 0.25, times=10**6)
    pool = [workers.start(), workers.start()]
    kills = 0
    while kills < 4 and queue().count:
        time.sleep(rnd.uniform(0.1, 0.7))
        busy = [proc for proc in pool if state_of(proc) == "busy"]  # a worker in the middle of a payout
        if not busy:
            continue
        victim = rnd.choice(busy)
        workers.kill(victim)
        kills += 1
        pool.remove(victim)
        pool.append(workers.start())
    wait_for(lambda: queue().count == 0, 90, "the workers to drain the queue", step=0.2)
    workers.stop_all()
    # Where the random kills left their payouts: before the intent was committed (pending), after it
    # but before the gateway had the transfer, or in the window (executed there, unknown here).
    left = {"pending": 0, "submitted, not at the gateway": 0, "submitted, executed at the gateway": 0}
    for row in payout_rows(owner).values():
        if row["status"] == "pending":
            left["pending"] += 1
        elif row["status"] == "submitted":
            executed = fake.count("paystack", row["reference"])
            left["submitted, executed at the gateway" if executed else "submitted, not at the gateway"] += 1

    # 3. Recovery: the killed workers' jobs are retried (RQ's abandoned-job handling, fast-forwarded)
    #    and run by a burst worker; each asks the gateway before sending anything again.
    retried = retry_abandoned_jobs()
    assert retried >= 2  # at least the deterministic kills' jobs
    workers.burst()
    # The periodic reconciliation then finds every payout as the gateway has it.
    counts = payouts.reconcile(committed, paystack_router, datetime.now(timezone.utc), older_than=timedelta(0))
    assert counts["flagged"] == 0 and counts["checked"] == len(made), counts

    rows = assert_paid_exactly_once(owner, fake, made)
    assert ("verify", "not_found") in rows[str(unsent["id"])]["calls"]  # asked before sending it
    assert_books_balance(committed)
    resent = {ref: n for ref, n in transfer_posts(fake).items() if n > 1}
    print(f"seed {SEED}: {len(made)} payouts, {workers.killed} SIGKILLs ({kills} random; unfinished after "
          f"them: {left}), "
          f"{retried} abandoned jobs retried, {len(resent)} references sent twice (the gateway kept one), "
          f"{sum(1 for r in rows.values() if ('verify', 'succeeded') in r['calls'])} settled by a verify")


# --- Redis down while a loan is accepted ------------------------------------------------------------

def test_a_loan_accepted_while_redis_is_down_is_paid_once_after_the_relay(
        app, committed, owner, fake, paystack_router, workers):
    client = factories.client(committed)
    provider = lender(committed, client, funds_minor=PRINCIPAL + 1_000_00)
    now = datetime.now(timezone.utc)
    opened = open_application(committed, client, now=now, bank_account=ACCOUNT)
    with tenant.provider_scope(provider.id, committed):
        bid = bids.place(committed, factories.SYSTEM, provider.id, opened.listing_id,
                         bid_input(valid_until=now + timedelta(days=2)), now)
    committed.commit()
    tenant.reset()

    real_url = jobs.settings.redis_url
    jobs.settings.redis_url = "redis://127.0.0.1:1/0"  # Redis "down": nothing listens there
    try:
        with tenant.tenant_scope(client.id, committed):
            loan = acceptance.accept(committed, factories.SYSTEM, application_id=opened.application_id,
                                     bid_id=bid.id, typed_name="Adaeze Okoro", consent=True, agreement_sha256=None,
                                     channel="portal", ip_address=None, now=now, borrower_id=opened.borrower_id)
            payout = payouts.for_loan(committed, loan.id)
            payout_id, reference = payout.id, payout.reference
            committed.commit()  # the acceptance commits although Redis is down
    finally:
        jobs.settings.redis_url = real_url
        tenant.reset()

    job_id = f"payout-{payout_id}-1"
    with owner.connect() as conn:
        row = conn.execute(text("SELECT sent_at, last_error FROM outbox WHERE job_id = :j"), {"j": job_id}).one()
    assert row.sent_at is None and "ConnectionError" in row.last_error
    assert not Job.exists(job_id, connection=jobs.connection()) and queue().count == 0

    workers.burst()  # Redis is back but nothing is queued: a worker alone pays nothing
    assert fake.executed == {} and payout_rows(owner)[str(payout_id)]["status"] == "pending"

    assert outbox.relay(database.engine, min_age_seconds=0) >= 1
    assert queue().job_ids == [job_id]
    assert outbox.relay(database.engine, min_age_seconds=0) == 0  # nothing left to send
    workers.burst()

    [paid] = payout_rows(owner).values()
    assert paid["status"] == "succeeded" and fake.count("paystack", reference) == 1
    assert transfer_posts(fake) == {reference: 1}
    assert outbox.relay(database.engine, min_age_seconds=0) == 0
    workers.burst()  # nothing more to do: still one transfer
    assert fake.executed == {("paystack", reference): 1}
    assert_books_balance(committed)
