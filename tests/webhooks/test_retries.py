"""Retries by moving an injected clock (no sleeps): the schedule, giving up after 3 days, flagging
and disabling the endpoint with an e-mail; timeouts and connection errors; one endpoint being down
does not hold up another tenant; secret rotation signs with both secrets for 24 hours."""
from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, text

from caas.core import jobs as core_jobs
from caas.core import tenant
from caas.events import deliveries, jobs, mail, verify, webhooks
from caas.events.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests import factories
from tests.webhooks.conftest import load, make_endpoint, record


def only_delivery(db, client) -> WebhookDelivery:
    with tenant.tenant_scope(client.id, db):
        (row,) = db.scalars(select(WebhookDelivery).execution_options(populate_existing=True)).all()
        return row


def scheduled_ids() -> list[str]:
    return ScheduledJobRegistry(queue=core_jobs.queue("events")).get_job_ids()


# --- the schedule, pure -----------------------------------------------------------------------------

def test_schedule_backs_off_then_every_12_hours_and_ends_exactly_at_3_days():
    start = deliveries.utcnow()
    now, delays = start, []
    failed = 1
    while (at := deliveries.next_attempt_time("d-1", 0, failed, start, now)) is not None:
        delays.append((at - now).total_seconds())
        now, failed = at, failed + 1
    base = [60, 300, 1800, 7200, 18000, 36000] + [43200] * 4
    assert len(delays) == len(base) + 1  # ten backed-off retries, then one last try at the deadline
    for got, expected in zip(delays, base):
        assert expected <= got < expected * 1.1  # jitter: up to +10%
    assert now == start + timedelta(days=3)  # the last try is exactly 3 days after the first
    assert len({round(d / b, 6) for d, b in zip(delays, base)}) > 1  # jitter differs per attempt


def test_jitter_is_deterministic_per_attempt():
    assert deliveries.jitter("x", 0, 3) == deliveries.jitter("x", 0, 3)
    assert deliveries.jitter("x", 0, 3) != deliveries.jitter("y", 0, 3)


# --- the schedule, end to end -----------------------------------------------------------------------

def test_failing_endpoint_is_retried_on_schedule_then_failed_flagged_disabled_and_admin_emailed(
        db, receiver, run_events, clock, app):
    c = factories.client(db)
    admin = factories.client_admin(db, c)
    endpoint, _ = make_endpoint(db, c, receiver.plan("/down", [500], body=b"upstream exploded"))
    db.commit()
    record(db, c)
    start = clock.now
    run_events()
    times = [clock.now]
    while True:
        delivery = only_delivery(db, c)
        if delivery.status != DeliveryStatus.pending:
            break
        due = delivery.next_attempt_at
        assert due > clock.now
        clock.set(due - timedelta(seconds=1))
        assert jobs.release_due(clock.now) == 0  # not before it is due
        clock.set(due)
        assert jobs.release_due(clock.now) == 1
        run_events()
        times.append(clock.now)
        assert len(times) < 20

    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    base = [60, 300, 1800, 7200, 18000, 36000] + [43200] * 4
    assert len(gaps) == len(base) + 1
    assert all(expected <= got < expected * 1.1 for got, expected in zip(gaps, base))
    assert times[-1] == start + timedelta(days=3)
    assert len(receiver.at("/down")) == len(times) == 12
    assert delivery.status == DeliveryStatus.failed and delivery.attempts == 12 and delivery.last_status_code == 500
    with tenant.tenant_scope(c.id, db):
        log = deliveries.attempts_of(db, delivery.id)
        assert [a.attempt for a in log] == list(range(1, 13))
        assert all(a.status_code == 500 and a.response_body == "upstream exploded" and not a.succeeded for a in log)
        row = db.get(WebhookEndpoint, endpoint.id, populate_existing=True)
        assert row.flagged_at is not None and row.enabled is False
        assert "3 days" in row.disabled_reason
        assert db.execute(text("SELECT count(*) FROM audit_log WHERE action = 'webhook.auto_disable'")).scalar() == 1
    assert scheduled_ids() == []
    run_events()  # the e-mail job
    (message,) = mail.messages_to(admin.email, app.config["MAIL_DIR"])
    assert "disabled" in message["Subject"] and endpoint.url in message.get_body().get_content()


def test_a_success_during_retries_ends_them_and_clears_the_endpoints_failure(db, receiver, run_events, clock):
    c = factories.client(db)
    endpoint, _ = make_endpoint(db, c, receiver.plan("/flaky", [500, 503, 200]))
    db.commit()
    record(db, c)
    run_events()
    assert load(db, c, WebhookEndpoint, endpoint.id).failing_since == clock.now
    for _ in range(2):
        clock.set(only_delivery(db, c).next_attempt_at)
        jobs.release_due(clock.now)
        run_events()
    delivery = only_delivery(db, c)
    assert delivery.status == DeliveryStatus.succeeded and delivery.attempts == 3
    assert [r.headers["CaaS-Delivery-Attempt"] for r in receiver.at("/flaky")] == ["1", "2", "3"]
    assert len(receiver.unique_events("/flaky")) == 1
    row = load(db, c, WebhookEndpoint, endpoint.id)
    assert row.failing_since is None and row.flagged_at is None and row.enabled


def test_endpoint_failing_for_3_days_across_deliveries_is_disabled(db, receiver, run_events, clock):
    """Continuous failure is per endpoint: events arriving over 3 days, all failing."""
    c = factories.client(db)
    endpoint, _ = make_endpoint(db, c, receiver.plan("/dead", [503]))
    db.commit()
    record(db, c)
    run_events()
    clock.advance(days=3)
    record(db, c)
    run_events()
    row = load(db, c, WebhookEndpoint, endpoint.id)
    assert row.enabled is False and row.disabled_at == clock.now
    # what still waited for a retry fails at once (an admin can replay it), and its scheduled
    # retry, when it comes, sends nothing
    assert {(d.status, d.last_error) for d in _all(db, c)} == {(DeliveryStatus.failed, "endpoint disabled"),
                                                                (DeliveryStatus.failed, "HTTP 503")}
    sent = len(receiver.at("/dead"))
    assert jobs.release_due(clock.now) == 1
    run_events()
    assert len(receiver.at("/dead")) == sent


def _all(db, c):
    with tenant.tenant_scope(c.id, db):
        return db.scalars(select(WebhookDelivery).execution_options(populate_existing=True)).all()


def test_re_enabled_endpoint_gets_a_fresh_3_days(db, receiver, run_events, clock):
    c = factories.client(db)
    endpoint, _ = make_endpoint(db, c, receiver.plan("/again", [500]))
    db.commit()
    record(db, c)
    run_events()
    clock.advance(days=3, seconds=1)
    record(db, c)
    run_events()
    assert load(db, c, WebhookEndpoint, endpoint.id).enabled is False
    with tenant.tenant_scope(c.id, db):
        webhooks.set_enabled(db, factories.SYSTEM, endpoint.id, True)
        db.commit()
    clock.advance(minutes=5)
    record(db, c)
    run_events()
    row = load(db, c, WebhookEndpoint, endpoint.id)
    assert row.enabled is True and row.failing_since == clock.now and row.disabled_reason is None


# --- timeouts, connection errors, isolation -----------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_timeout_and_connection_error_are_recorded_and_retried(db, receiver, run_events, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT", 0.3)
    slow_client, refused_client = factories.client(db), factories.client(db)
    make_endpoint(db, slow_client, receiver.plan("/slow", [200], delay=2))
    make_endpoint(db, refused_client, f"http://127.0.0.1:{closed_port()}/nobody")
    db.commit()
    record(db, slow_client)
    record(db, refused_client)
    run_events()
    slow, refused = only_delivery(db, slow_client), only_delivery(db, refused_client)
    assert slow.status == refused.status == DeliveryStatus.pending
    assert slow.last_error == "timeout after 0.3 s" and slow.last_status_code is None
    assert refused.last_error.startswith("ConnectError")
    for d in (slow, refused):
        assert timedelta(seconds=59) < d.next_attempt_at - d.last_attempt_at < timedelta(seconds=67)
    with tenant.tenant_scope(slow_client.id, db):
        (attempt,) = deliveries.attempts_of(db, slow.id)
        assert 250 <= attempt.latency_ms < 1500
    assert len(scheduled_ids()) == 2


def test_an_endpoint_that_is_down_does_not_hold_up_another_tenant(db, receiver, run_events, app, monkeypatch):
    """Tenant A's endpoint hangs; B's events, queued behind A's, go out after at most A's timeout
    per job ahead of them (not A's hang, not A's retry schedule), and A's retries wait in the
    scheduler instead of the queue."""
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT", 0.3)
    a, b = factories.client(db), factories.client(db)
    make_endpoint(db, a, receiver.plan("/hangs", [200], delay=5))
    make_endpoint(db, b, receiver.plan("/healthy"))
    db.commit()
    for n in range(3):
        record(db, a, data={"id": f"a{n}"})
    record(db, b, data={"id": "b0"})
    queued_at = time.time()
    run_events()
    (got,) = receiver.at("/healthy")
    assert got.at - queued_at < 3 * 0.3 + 1.5  # three A jobs ahead, each bounded by the timeout
    assert only_delivery(db, b).status == DeliveryStatus.succeeded
    with tenant.tenant_scope(a.id, db):
        states = db.scalars(select(WebhookDelivery.status)).all()
    assert states == [DeliveryStatus.pending] * 3
    assert len(scheduled_ids()) == 3 and core_jobs.queue("events").count == 0
    # and B keeps flowing while A's retries are due
    record(db, b, data={"id": "b1"})
    run_events()
    assert [r.event["data"]["id"] for r in receiver.at("/healthy")] == ["b0", "b1"]


# --- secret rotation -----------------------------------------------------------------------------------

def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new_one(db, receiver, run_events, clock):
    c = factories.client(db)
    endpoint, old = make_endpoint(db, c, receiver.plan("/rotating"))
    db.commit()
    with tenant.tenant_scope(c.id, db):
        _, new = webhooks.rotate_secret(db, factories.SYSTEM, endpoint.id, now=clock.now)
        db.commit()
        action = db.execute(text("SELECT after::text FROM audit_log WHERE action = 'webhook.rotate_secret'")).scalar()
    assert new != old and new not in action and old not in action

    record(db, c)
    run_events()
    first = receiver.at("/rotating")[-1]
    header = first.headers["CaaS-Signature"]
    assert header.count("v1=") == 2
    now = clock.now.timestamp()
    for secret in (new, old, [old, "whsec_other"]):
        verify.construct_event(first.body, header, secret, now=now)

    clock.advance(hours=24, seconds=1)
    record(db, c)
    run_events()
    later = receiver.at("/rotating")[-1]
    header = later.headers["CaaS-Signature"]
    assert header.count("v1=") == 1
    verify.construct_event(later.body, header, new, now=clock.now.timestamp())
    with pytest.raises(verify.SignatureVerificationError):
        verify.construct_event(later.body, header, old, now=clock.now.timestamp())
    # the receiver's own 5-minute tolerance refuses a replay of the first delivery now
    with pytest.raises(verify.SignatureVerificationError, match="tolerance"):
        verify.construct_event(first.body, first.headers["CaaS-Signature"], new, now=clock.now.timestamp())


# --- the safety net -----------------------------------------------------------------------------------

def test_lost_jobs_and_dead_workers_are_picked_up_by_requeue_stalled(db, receiver, run_events, clock, redis_conn):
    c = factories.client(db)
    make_endpoint(db, c, receiver.plan("/late"))
    db.commit()
    record(db, c, data={"id": "lost-job"})
    record(db, c, data={"id": "dead-worker"})
    with tenant.tenant_scope(c.id, db):
        from caas.events.models import OutboxMessage

        for message in db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "event")):
            jobs.dispatch_event(str(message.id))
    redis_conn.flushdb()  # every delivery job is lost
    lost, dead = sorted(_all(db, c), key=lambda d: d.data["id"] != "lost-job")
    with tenant.tenant_scope(c.id, db):
        assert deliveries.claim(db, dead.id, 1, 0)  # a worker took attempt 1 and died before recording it
        db.commit()
    assert jobs.requeue_stalled() == 0  # nothing overdue yet
    clock.advance(minutes=3)
    assert jobs.requeue_stalled() == 1  # the lost job; the dead worker's lease still runs
    clock.advance(minutes=5)
    assert jobs.requeue_stalled() == 1  # the lease ran out: attempt 2 (the lost job is queued already)
    run_events()
    assert sorted(r.event["data"]["id"] for r in receiver.at("/late")) == ["dead-worker", "lost-job"]
    by_id = {d.data["id"]: d for d in _all(db, c)}
    assert by_id["lost-job"].attempts == 1 and by_id["dead-worker"].attempts == 2
    assert {d.status for d in by_id.values()} == {DeliveryStatus.succeeded}
    assert jobs.requeue_stalled() == 0
