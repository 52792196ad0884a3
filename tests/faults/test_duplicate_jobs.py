"""Duplicate deliveries of EVERY job type: RQ delivers at least once (a retry after a lost
acknowledgement, an abandoned job re-run, the relay re-sending, a sweep re-queueing), so each job
must have one effect however often, and however concurrently, it runs.

The job types are found, not listed: every dotted ``caas.<area>.jobs.<name>`` the application
names (what it enqueues through the outbox, schedules, or runs periodically) and every public
function of a ``jobs`` module. A new job without a world here fails
``test_every_job_type_has_a_duplicate_delivery_case``.

For each job, in a world built through the real operations and committed:
1. it runs once (as the worker runs it: its own app context and session, the job's tenant set),
   and the effect is measured: every table's row count, status counts and money (``*_minor``)
   sums, the distinct jobs in the outbox and in Redis, e-mails written, transfers the gateway
   executed, requests a webhook receiver got;
2. it runs again: nothing more changes;
3. the same world is built afresh and the job runs twice at once, from two threads: the effect is
   exactly the effect of one run.
"""
from __future__ import annotations

import ast
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from caas.core import jobs, tenant, worker
from caas.core.extensions import db as database
from caas.events import outbox, webhooks
from caas.events.models import NotificationMessage, WebhookDelivery
from caas.market import bids
from caas.payments import service
from caas.payments.gateways import SandboxGateway
from caas.payments.routing import Router
from caas.tenancy import invitations
from tests import factories
from tests.billing.test_run import october_usage
from tests.billing.world import billed_client
from tests.credit.test_scoring_job import artifact, submit  # noqa: F401,F811 — the model fixture
from tests.helpers import LoopbackServer
from tests.loans.test_penalty_and_overpayment import _stale_pending_then_payoff
from tests.loans.test_servicing_stories import START, _active_loan
from tests.market.world import bid_input, lender, open_application
from tests.payments.test_payouts import accepted, run as run_payout

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
# Public functions of jobs modules that are not jobs: helpers the jobs and the views call.
NOT_JOBS = {"caas.billing.jobs.job_id", "caas.billing.jobs.queue_run", "caas.events.jobs.schedule",
            "caas.events.jobs.release_due"}
PING = "tests.foundation.jobs_for_tests.record_tenant"


def job_types() -> set[str]:
    """Every job function the application names or defines (see the module docstring)."""
    found: set[str] = set()
    for path in (ROOT / "caas").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                parts = node.value.split(".")
                if len(parts) == 4 and parts[0] == "caas" and parts[2] == "jobs" and parts[3].isidentifier():
                    found.add(node.value)
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if path.name == "jobs.py" and module != "caas.core.jobs":
            found |= {f"{module}.{node.name}" for node in tree.body
                      if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
    return found - NOT_JOBS


# --- running a job as the worker does ------------------------------------------------------------------

@dataclass
class Call:
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    client_id: uuid.UUID | None = None
    ignore: frozenset = frozenset()  # tables that log each run by design (a run record), not effects


def run_job(app, func: str, call: Call, barrier: threading.Barrier | None = None):
    fn = worker._resolve(func)
    with app.app_context():
        token = tenant.set_tenant(call.client_id)
        try:
            if barrier is not None:
                barrier.wait(30)
            return fn(*call.args, **call.kwargs)
        finally:
            database.session.remove()
            tenant.reset(token)


def run_concurrently(app, func: str, call: Call) -> list:
    barrier = threading.Barrier(2)
    results: list = []
    errors: list = []

    def one():
        try:
            results.append(run_job(app, func, call, barrier))
        except Exception as exc:  # a run may lose a race and fail; RQ would retry it
            errors.append(exc)
    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results + errors


# --- the effect ---------------------------------------------------------------------------------------

class Receiver(LoopbackServer):
    def __init__(self):
        super().__init__()
        self.hits = 0
        self.lock = threading.Lock()

    def _wsgi(self, environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with self.lock:
            self.hits += 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


@dataclass
class Ctx:
    app: object
    owner: object
    receiver: Receiver
    sandbox: SandboxGateway


def _queries(owner) -> list[tuple[str, str]]:
    with owner.connect() as conn:
        columns = conn.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns c "
            "JOIN pg_tables t ON t.tablename = c.table_name AND t.schemaname = 'public' "
            "WHERE c.table_schema = 'public' AND c.table_name NOT IN ('alembic_version', 'price_book') "
            "ORDER BY table_name, ordinal_position")).all()
    by_table: dict[str, list[str]] = {}
    for table, column in columns:
        by_table.setdefault(table, []).append(column)
    queries = []
    for table, cols in by_table.items():
        parts = ["count(*)"] + [f"coalesce(sum({c}), 0)" for c in cols if c.endswith("_minor")]
        if table == "outbox":
            parts += ["count(DISTINCT job_id)", "count(*) FILTER (WHERE sent_at IS NULL)"]
        queries.append((table, f"SELECT {', '.join(parts)} FROM {table}"))
        if "status" in cols:
            queries.append((f"{table}.status", f"SELECT status::text, count(*) FROM {table} GROUP BY 1"))
    return queries


def snapshot(ctx: Ctx, queries) -> dict:
    from caas.events import mail

    found: dict = {}
    with ctx.owner.connect() as conn:
        for name, sql in queries:
            if name.endswith(".status"):
                for status, n in conn.execute(text(sql)):
                    found[(name, status)] = n
            else:
                row = conn.execute(text(sql)).one()
                if name == "outbox":
                    # one job id is one job: a re-queue of the same id is not a second job
                    found[("outbox", "jobs")], found[("outbox", "unsent")] = row[-2], row[-1]
                    row = row[1:-2]
                for n, value in enumerate(row):
                    found[(name, n)] = int(value)
    conn = jobs.connection()
    found[("redis", "jobs")] = sum(1 for _ in conn.scan_iter("rq:job:*"))
    found[("mail", "files")] = len(list(Path(mail.settings.directory).glob("*.eml")))
    found[("gateway", "transfers")] = sum(1 for k in ctx.sandbox.store._records if not k.startswith("charge:"))
    found[("receiver", "requests")] = ctx.receiver.hits
    return found


def delta(before: dict, after: dict, ignore: frozenset) -> dict:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)
            if after.get(k, 0) != before.get(k, 0) and k[0].split(".")[0] not in ignore}


# --- the worlds: one per job type ---------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(timezone.utc)


def w_run_billing(s, ctx):
    october_usage(s, billed_client(s, tax="0.075"))
    s.commit()
    return Call(["2026-10"], ignore=frozenset({"billing_runs"}))


def w_schedule_monthly(s, ctx):
    october_usage(s, billed_client(s))
    s.commit()
    return Call()


def w_score_application(s, ctx):
    from caas.credit import scoring_models
    from caas.screening import lists
    from tests.credit.test_scoring_job import ALT_TEXT, SDN_TEXT

    scoring_models.register(s, factories.SYSTEM, ctx.artifact)
    lists.import_list(s, factories.SYSTEM, SDN_TEXT, ALT_TEXT)
    client = factories.client(s)
    key = factories.api_key(s, client)
    s.commit()
    application_id = submit(ctx.app.test_client(), key)
    _forget_queued()
    return Call([application_id], client_id=client.id)


def _event_world(s, ctx, *, endpoint: bool = True):
    client = factories.client(s)
    factories.client_admin(s, client)
    with tenant.tenant_scope(client.id, s):
        if endpoint:
            webhooks.create(s, factories.SYSTEM, client.id, url=f"http://127.0.0.1:{ctx.receiver.port}/hook",
                            events=["billing.invoice.issued"], allow_http=True)
        message = outbox.record_event(s, client.id, "billing.invoice.issued", {
            "id": str(uuid.uuid4()), "number": "INV-2026-000001", "total_minor": 801_114, "currency": "NGN",
            "due_date": "2026-12-01", "period": "2026-10", "path": "/admin/billing"})
        s.commit()
    tenant.reset()
    return client, message.id


def w_dispatch_event(s, ctx):
    client, message_id = _event_world(s, ctx)
    _forget_queued()
    return Call([str(message_id)], client_id=client.id)


def w_notify_event(s, ctx):
    client, message_id = _event_world(s, ctx, endpoint=False)
    _forget_queued()
    return Call([str(message_id)], client_id=client.id)


def _delivery(s, ctx) -> tuple[uuid.UUID, uuid.UUID]:
    client, message_id = _event_world(s, ctx)
    run_job(ctx.app, "caas.events.jobs.dispatch_event", Call([str(message_id)], client_id=client.id))
    with tenant.tenant_scope(client.id, s):
        delivery_id = s.scalar(select(WebhookDelivery.id))
    s.rollback()
    tenant.reset()
    _forget_queued()
    return client.id, delivery_id


def w_deliver(s, ctx):
    client_id, delivery_id = _delivery(s, ctx)
    return Call([str(delivery_id), 1, 0], client_id=client_id)


def w_requeue_stalled(s, ctx):
    _delivery(s, ctx)  # and its job was lost
    with ctx.owner.begin() as conn:
        conn.execute(text("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 hour'"))
    return Call()


def _routed(s, ctx) -> uuid.UUID:
    client = factories.client(s)
    factories.client_admin(s, client)
    s.commit()
    from caas.events import notify

    notify.send(s, "quota.warning", client_id=client.id, key="dup-test", data={
        "quota": "applications this month", "used": 80, "limit": 100, "percent": 80, "period": "in November 2026"})
    s.commit()
    return client.id


def w_route_notification(s, ctx):
    client_id = _routed(s, ctx)
    with ctx.owner.connect() as conn:
        args, kwargs = conn.execute(text("SELECT args, kwargs FROM outbox WHERE func = :f"),
                                    {"f": "caas.events.jobs.route_notification"}).one()
    _forget_queued()
    return Call(args, kwargs, client_id=client_id)


def w_send_notification(s, ctx):
    client_id = _routed(s, ctx)
    with ctx.owner.connect() as conn:
        args, kwargs = conn.execute(text("SELECT args, kwargs FROM outbox WHERE func = :f"),
                                    {"f": "caas.events.jobs.route_notification"}).one()
    run_job(ctx.app, "caas.events.jobs.route_notification", Call(args, kwargs, client_id=client_id))
    with tenant.tenant_scope(client_id, s):
        message_id = s.scalar(select(NotificationMessage.id).where(NotificationMessage.channel == "email"))
    s.rollback()
    tenant.reset()
    _forget_queued()
    return Call([str(message_id)], client_id=client_id)


def w_notify_endpoint_disabled(s, ctx):
    client = factories.client(s)
    factories.client_admin(s, client)
    with tenant.tenant_scope(client.id, s):
        endpoint, _ = webhooks.create(s, factories.SYSTEM, client.id, url=f"http://127.0.0.1:{ctx.receiver.port}/h",
                                      events=["billing.invoice.issued"], allow_http=True)
        endpoint.enabled, endpoint.disabled_at = False, _now()
        endpoint.disabled_reason = "Every delivery failed for 3 days"
        s.commit()
    tenant.reset()
    return Call([str(endpoint.id)], client_id=client.id)


def w_relay_outbox(s, ctx):
    client = factories.client(s)
    real = jobs.settings.redis_url
    jobs.settings.redis_url = "redis://127.0.0.1:1/0"  # Redis down at the commit
    try:
        with tenant.tenant_scope(client.id, s):
            outbox.enqueue_job(s, PING, queue="default", args=["relayed"], job_id=f"relayed-{client.id}")
            s.commit()
    finally:
        jobs.settings.redis_url = real
        tenant.reset()
    with ctx.owner.begin() as conn:  # older than OUTBOX_RELAY_MIN_AGE
        conn.execute(text("UPDATE outbox SET created_at = now() - interval '1 hour'"))
    return Call()


def w_service_today(s, ctx):
    client, _, loan_id = _active_loan(s)
    with ctx.owner.begin() as conn:  # the first instalment is 40 days late today
        conn.execute(text("UPDATE loan_installments SET due_date = due_date - (SELECT min(due_date) FROM "
                          "loan_installments WHERE loan_id = :l) + CURRENT_DATE - 40 WHERE loan_id = :l"),
                     {"l": loan_id})
    _forget_queued()
    return Call()


def w_process_refund(s, ctx):
    from caas.loans.models import LoanRefund

    client, _, loan_id = _active_loan(s)
    _stale_pending_then_payoff(s, client, loan_id, START + timedelta(days=10))
    with tenant.tenant_scope(client.id, s):
        refund_id = s.scalar(select(LoanRefund.id))
    s.rollback()
    tenant.reset()
    _forget_queued()
    return Call([str(refund_id)], client_id=client.id)


def _expired_listing(s, ctx, hours: int = 80):
    client = factories.client(s)
    lender(s, client)
    opened = open_application(s, client, now=_now() - timedelta(hours=hours))
    s.commit()
    _forget_queued()
    return client, opened


def w_close_bidding(s, ctx):
    client, opened = _expired_listing(s, ctx)
    return Call([str(opened.listing_id)], client_id=client.id)


def w_sweep_deadlines(s, ctx):
    _expired_listing(s, ctx)
    return Call()


def w_end_acceptance(s, ctx):
    from caas.market import listings

    client = factories.client(s)
    provider = lender(s, client)
    opened = open_application(s, client, now=_now() - timedelta(hours=100))
    with tenant.provider_scope(provider.id, s):
        bids.place(s, factories.SYSTEM, provider.id, opened.listing_id,
                   bid_input(valid_until=_now() + timedelta(days=5)), _now() - timedelta(hours=99))
    s.commit()
    with tenant.tenant_scope(client.id, s):
        assert listings.close_bidding(s, opened.listing_id, _now()) == "awaiting"
        s.commit()
    tenant.reset()
    with ctx.owner.begin() as conn:
        conn.execute(text("UPDATE market_listings SET accept_until = now() - interval '1 hour'"))
    _forget_queued()
    return Call([str(opened.listing_id)], client_id=client.id)


# The log of gateway calls: a duplicate delivery may ask the gateway about the payout (verify by
# reference) and that question is logged; it never pays twice (the gateway's transfers are counted).
CALL_LOG = frozenset({"payout_calls"})


def w_process_payout(s, ctx):
    client, _, _, payout = accepted(s)
    _forget_queued()
    return Call([str(payout.id)], client_id=client.id, ignore=CALL_LOG)


def w_reconcile_payouts(s, ctx):
    client, _, _, payout = accepted(s, account="0123456789")  # pending at the gateway
    assert run_payout(s, client, payout) == "submitted"
    s.commit()
    tenant.reset()
    with ctx.owner.begin() as conn:
        conn.execute(text("UPDATE payouts SET updated_at = now() - interval '1 hour'"))
    _forget_queued()
    return Call(ignore=CALL_LOG)  # and each run asks again about recent successes


def w_send_invitation(s, ctx):
    client = factories.client(s)
    user = factories.client_admin(s, client)
    with tenant.tenant_scope(client.id, s):
        invitation = invitations.invite(s, user)
        s.commit()
    tenant.reset()
    return Call([str(invitation.id)], client_id=client.id)


def _forget_queued() -> None:
    """Nothing a world queued runs here: only the job under test does."""
    jobs.connection().flushdb()


WORLDS = {
    "caas.billing.jobs.run_billing": w_run_billing,
    "caas.billing.jobs.schedule_monthly": w_schedule_monthly,
    "caas.credit.jobs.score_application": w_score_application,
    "caas.events.jobs.relay_outbox": w_relay_outbox,
    "caas.events.jobs.dispatch_event": w_dispatch_event,
    "caas.events.jobs.notify_event": w_notify_event,
    "caas.events.jobs.route_notification": w_route_notification,
    "caas.events.jobs.send_notification": w_send_notification,
    "caas.events.jobs.deliver": w_deliver,
    "caas.events.jobs.requeue_stalled": w_requeue_stalled,
    "caas.events.jobs.notify_endpoint_disabled": w_notify_endpoint_disabled,
    "caas.loans.jobs.service_today": w_service_today,
    "caas.loans.jobs.process_refund": w_process_refund,
    "caas.market.jobs.close_bidding": w_close_bidding,
    "caas.market.jobs.end_acceptance": w_end_acceptance,
    "caas.market.jobs.sweep_deadlines": w_sweep_deadlines,
    "caas.payments.jobs.process_payout": w_process_payout,
    "caas.payments.jobs.reconcile_payouts": w_reconcile_payouts,
    "caas.tenancy.jobs.send_invitation": w_send_invitation,
}


def test_every_job_type_has_a_duplicate_delivery_case():
    found = job_types()
    assert "caas.events.jobs.deliver" in found and "caas.billing.jobs.run_billing" in found  # the finder works
    assert set(WORLDS) == found, {"without a case": sorted(found - set(WORLDS)),
                                  "not a job": sorted(set(WORLDS) - found)}
    for func in found:
        assert callable(worker._resolve(func)), func


# --- the test -----------------------------------------------------------------------------------------

@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def ctx(app, owner, receiver, artifact, tmp_path, monkeypatch):  # noqa: F811
    from caas.events import mail

    monkeypatch.setattr(mail.settings, "directory", str(tmp_path))  # the shared mail folder is not ours alone
    sandbox = SandboxGateway(settle_after=0)
    service.use(Router({"sandbox": sandbox}))
    made = Ctx(app, owner, receiver, sandbox)
    made.artifact = artifact
    yield made
    service.use(None)


def _fresh(committed, ctx) -> None:
    """Everything the previous world committed goes (as the ``committed`` fixture does after a test)."""
    from tests.browser.conftest import truncate_all

    committed.rollback()
    committed.remove()
    tenant.reset()
    truncate_all(ctx.owner)
    jobs.connection().flushdb()
    ctx.sandbox.store._records.clear()


@pytest.mark.parametrize("func", sorted(WORLDS))
def test_a_job_delivered_twice_or_twice_at_once_has_one_effect(app, committed, ctx, func):
    queries = _queries(ctx.owner)
    build = WORLDS[func]

    call = build(committed, ctx)
    committed.rollback()
    tenant.reset()
    before = snapshot(ctx, queries)
    run_job(app, func, call)
    once = snapshot(ctx, queries)
    effect = delta(before, once, call.ignore)
    assert effect, f"{func} did nothing in its world: the world does not test it"
    run_job(app, func, call)
    assert delta(once, snapshot(ctx, queries), call.ignore) == {}, "a second delivery changed something"

    _fresh(committed, ctx)
    call = build(committed, ctx)
    committed.rollback()
    tenant.reset()
    before = snapshot(ctx, queries)
    outcomes = run_concurrently(app, func, call)
    assert len(outcomes) == 2
    assert delta(before, snapshot(ctx, queries), call.ignore) == effect, \
        f"two deliveries at once: {outcomes}"
