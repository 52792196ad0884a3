"""The outbox: nothing reaches Redis before commit; commits do; the relay re-sends what was missed."""
from __future__ import annotations

import uuid

from rq import Queue
from rq.job import Job, JobStatus
from sqlalchemy import select, text

from caas.core import jobs, tenant, worker
from caas.events import outbox
from caas.events.models import OutboxMessage
from tests import factories

PING = "tests.foundation.jobs_for_tests.record_tenant"


def queued_ids(name: str) -> list[str]:
    return jobs.queue(name).job_ids


def test_rolled_back_transaction_enqueues_nothing(db, redis_conn):
    message = outbox.enqueue_job(db, PING, queue="scoring", args=["x"])
    db.flush()
    db.rollback()
    assert queued_ids("scoring") == []
    assert not Job.exists(message.job_id, connection=redis_conn)
    assert db.scalar(select(OutboxMessage).where(OutboxMessage.id == message.id)) is None


def test_rolled_back_request_enqueues_nothing(app, db, client):
    """A view that writes to the outbox and then fails: the request rolls back, Redis stays empty."""
    a = factories.client(db)
    admin = factories.client_admin(db, a)
    db.commit()
    from tests import helpers

    helpers.login(client, admin.email, factories.PASSWORD)
    response = helpers.post_form(client, "/_test/enqueue-then-fail", {}, token_from="/admin/")
    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    assert queued_ids("default") == []
    with tenant.tenant_scope(a.id, db):
        assert db.execute(text("SELECT count(*) FROM outbox WHERE func = :f"), {"f": PING}).scalar_one() == 0


def test_committed_job_reaches_redis_with_deterministic_id(db, redis_conn):
    c = factories.client(db)
    with tenant.tenant_scope(c.id, db):
        message = outbox.enqueue_job(db, PING, queue="scoring", args=["a-1"], job_id=f"score-{c.id}",
                                     client_id=c.id)
        db.commit()
    assert queued_ids("scoring") == [f"score-{c.id}"]
    job = Job.fetch(f"score-{c.id}", connection=redis_conn)
    assert job.args == ("a-1",)
    assert job.meta["client_id"] == str(c.id)
    with tenant.tenant_scope(c.id, db):
        db.refresh(message)
        assert message.sent_at is not None


def test_relay_resends_after_redis_comes_back(db, redis_conn, monkeypatch):
    c = factories.client(db)
    real_url = jobs.settings.redis_url
    jobs.settings.redis_url = "redis://127.0.0.1:1/0"  # Redis "down": nothing listens there
    try:
        with tenant.tenant_scope(c.id, db):
            message = outbox.enqueue_job(db, PING, queue="default", args=["late"], client_id=c.id)
            db.commit()  # the commit succeeds although Redis is down
    finally:
        jobs.settings.redis_url = real_url
    assert queued_ids("default") == []
    with tenant.tenant_scope(c.id, db):
        row = db.get(OutboxMessage, message.id)
        db.refresh(row)
        assert row.sent_at is None and "ConnectionError" in (row.last_error or "")

    sent = outbox.relay(db.connection(), min_age_seconds=0)

    assert sent == 1
    assert queued_ids("default") == [message.job_id]
    assert outbox.relay(db.connection(), min_age_seconds=0) == 0  # nothing left to send
    with tenant.tenant_scope(c.id, db):
        row = db.get(OutboxMessage, message.id)
        db.refresh(row)
        assert row.sent_at is not None and row.attempts == 1


def test_relay_skips_rows_younger_than_min_age(db):
    c = factories.client(db)
    real_url = jobs.settings.redis_url
    jobs.settings.redis_url = "redis://127.0.0.1:1/0"
    try:
        with tenant.tenant_scope(c.id, db):
            outbox.enqueue_job(db, PING, queue="default", client_id=c.id)
            db.commit()
    finally:
        jobs.settings.redis_url = real_url
    assert outbox.relay(db.connection(), min_age_seconds=3600) == 0
    assert queued_ids("default") == []


def test_worker_runs_job_under_its_tenant_and_cleans_up(app, db, redis_conn):
    a, b = factories.client(db), factories.client(db)
    mine = factories.borrower(db, a)
    factories.borrower(db, b)
    with tenant.tenant_scope(a.id, db):
        message = outbox.enqueue_job(db, PING, queue="default", args=[str(mine.id)], client_id=a.id)
        db.commit()
    worker.run(app, ["default"], burst=True, with_cron=False)
    job = Job.fetch(message.job_id, connection=redis_conn)
    assert job.get_status() == JobStatus.FINISHED
    # The job saw exactly tenant A's borrower, and nothing of tenant B.
    assert job.return_value() == {"tenant": str(a.id), "borrowers": [str(mine.id)]}
    assert tenant.current_client_id() is None


def test_domain_event_is_recorded_and_dispatched(app, db, redis_conn):
    c = factories.client(db)
    with tenant.tenant_scope(c.id, db):
        event = outbox.record_event(db, c.id, "credit.application.submitted", {"application_id": "app_1"})
        db.commit()
    assert queued_ids("events") == [f"event-{event.id}"]
    worker.run(app, ["events"], burst=True, with_cron=False)
    job = Job.fetch(f"event-{event.id}", connection=redis_conn)
    assert job.return_value() == "credit.application.submitted"


def test_unknown_queue_or_bad_job_id_is_refused_before_commit(db):
    import pytest

    with pytest.raises(ValueError, match="unknown queue"):
        outbox.enqueue_job(db, PING, queue="nope")
    with pytest.raises(ValueError, match="job id"):
        outbox.enqueue_job(db, PING, job_id="billing:2026-10")


def test_queue_names_match_the_design():
    assert jobs.QUEUES == ("scoring", "payouts", "billing", "events", "default")
    assert isinstance(jobs.queue("payouts"), Queue)


def test_a_savepoint_neither_sends_the_transactions_jobs_early_nor_forgets_them(db, redis_conn):
    """SQLAlchemy fires after_commit / after_soft_rollback for a SAVEPOINT too (``begin_nested``):
    releasing one sends nothing yet, rolling one back forgets only the jobs written inside it, and
    the commit sends the rest. (Before this, a released savepoint sent the pending jobs before the
    commit, which another connection could not see, so they waited for the relay: every webhook
    delivery of an event that also notifies people.)"""
    c = factories.client(db)
    with tenant.tenant_scope(c.id, db):
        before = outbox.enqueue_job(db, PING, queue="scoring", args=["before"], job_id=f"before-{c.id}")
        with db.begin_nested():
            inside = outbox.enqueue_job(db, PING, queue="scoring", args=["inside"], job_id=f"inside-{c.id}")
        assert queued_ids("scoring") == []  # released, not committed: nothing in Redis
        try:
            with db.begin_nested():
                outbox.enqueue_job(db, PING, queue="scoring", args=["undone"], job_id=f"undone-{c.id}")
                raise RuntimeError("the savepoint rolls back")
        except RuntimeError:
            pass
        after = outbox.enqueue_job(db, PING, queue="scoring", args=["after"], job_id=f"after-{c.id}")
        assert queued_ids("scoring") == []
        db.commit()
    assert sorted(queued_ids("scoring")) == sorted(m.job_id for m in (before, inside, after))
    assert not Job.exists(f"undone-{c.id}", connection=redis_conn)
