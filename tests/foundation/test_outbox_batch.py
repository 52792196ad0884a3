"""The outbox pushes in batches: many jobs after one commit, Redis failing part way, ids sent twice."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from caas.core import jobs, tenant
from caas.events import outbox
from caas.events.models import OutboxMessage
from tests import factories

PING = "tests.foundation.jobs_for_tests.record_tenant"
N = 25


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 10, so that 25 messages take three; counts the pushes."""
    monkeypatch.setattr(outbox, "BATCH", 10)
    calls = []
    real = jobs.push_many

    def counting(specs):
        calls.append(len(specs))
        return real(specs)

    monkeypatch.setattr(jobs, "push_many", counting)
    return calls


def enqueue_n(db, client_id, n=N, **options):
    with tenant.tenant_scope(client_id, db):
        messages = [outbox.enqueue_job(db, PING, queue="scoring", args=[f"a-{i}"], job_id=f"batch-{i}",
                                       client_id=client_id, **options) for i in range(n)]
        db.commit()
    return messages


def rows(db, client_id):
    with tenant.tenant_scope(client_id, db):
        found = db.scalars(select(OutboxMessage).where(OutboxMessage.func == PING)).all()
        for row in found:
            db.refresh(row)
        return {row.job_id: row for row in found}


def test_many_jobs_after_one_commit_are_pushed_in_batches_with_their_ids_and_meta(db, redis_conn, small_batches):
    c = factories.client(db)
    messages = enqueue_n(db, c.id)

    assert small_batches == [10, 10, 5]
    assert sorted(jobs.queue("scoring").job_ids) == sorted(f"batch-{i}" for i in range(N))
    for i, message in enumerate(messages):
        job = Job.fetch(f"batch-{i}", connection=redis_conn)
        assert job.func_name == PING and job.args == (f"a-{i}",) and job.timeout == 300
        assert job.meta == {"client_id": str(c.id), "outbox_id": str(message.id)}
        assert job.retries_left == 3
    assert all(row.sent_at is not None for row in rows(db, c.id).values())


def test_redis_down_during_the_push_leaves_every_row_unsent_and_the_relay_sends_each_once(db, redis_conn,
                                                                                          small_batches):
    c = factories.client(db)
    real_url = jobs.settings.redis_url
    jobs.settings.redis_url = "redis://127.0.0.1:1/0"  # Redis "down": nothing listens there
    try:
        enqueue_n(db, c.id)  # the commit succeeds although Redis is down
    finally:
        jobs.settings.redis_url = real_url

    assert small_batches == [10]  # the first batch failed: the others were not tried
    assert jobs.queue("scoring").job_ids == []
    unsent = rows(db, c.id)
    assert len(unsent) == N
    assert all(row.sent_at is None and "ConnectionError" in row.last_error for row in unsent.values())

    assert outbox.relay(db.connection(), min_age_seconds=0) == N
    assert outbox.relay(db.connection(), min_age_seconds=0) == 0  # nothing left to send
    assert sorted(jobs.queue("scoring").job_ids) == sorted(f"batch-{i}" for i in range(N))  # each once
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows(db, c.id).values())


def test_a_batch_whose_reply_is_lost_stays_unsent_and_its_resend_queues_nothing_twice(db, redis_conn, monkeypatch):
    """The second batch reaches Redis but its acknowledgement does not: the first batch is marked
    sent, the second and third are not; the relay sends them and skips the ids Redis already has."""
    monkeypatch.setattr(outbox, "BATCH", 10)
    real = jobs.push_many
    calls = []

    def reply_lost_on_second(specs):
        calls.append(len(specs))
        pushed = real(specs)
        if len(calls) == 2:
            raise RedisConnectionError("Connection reset by peer")
        return pushed

    monkeypatch.setattr(jobs, "push_many", reply_lost_on_second)
    c = factories.client(db)
    enqueue_n(db, c.id)

    assert calls == [10, 10]
    sent = {job_id for job_id, row in rows(db, c.id).items() if row.sent_at is not None}
    queued = jobs.queue("scoring").job_ids
    assert len(sent) == 10 and len(queued) == len(set(queued)) == 20 and sent < set(queued)

    monkeypatch.setattr(jobs, "push_many", real)
    assert outbox.relay(db.connection(), min_age_seconds=0) == 15
    # The relay claims rows of one commit in no particular order; each id is queued once.
    assert sorted(jobs.queue("scoring").job_ids) == sorted(f"batch-{i}" for i in range(N))
    assert all(row.sent_at is not None for row in rows(db, c.id).values())


def test_a_job_id_pushed_twice_is_queued_once(db, redis_conn):
    c = factories.client(db)
    with tenant.tenant_scope(c.id, db):
        outbox.enqueue_job(db, PING, queue="scoring", args=["first"], job_id="once", client_id=c.id)
        outbox.enqueue_job(db, PING, queue="scoring", args=["same commit"], job_id="once", client_id=c.id)
        db.commit()
        outbox.enqueue_job(db, PING, queue="scoring", args=["next commit"], job_id="once", client_id=c.id)
        db.commit()

    assert jobs.queue("scoring").job_ids == ["once"]
    assert Job.fetch("once", connection=redis_conn).args == ("first",)
    state = rows(db, c.id)
    assert all(row.sent_at is not None for row in state.values())  # "already there" counts as sent


def test_a_scheduled_job_goes_to_the_scheduled_registry_once(db, redis_conn):
    c = factories.client(db)
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    enqueue_n(db, c.id, n=3, run_at=later)
    enqueue_n(db, c.id, n=3, run_at=later)  # the same ids again

    queue = jobs.queue("scoring")
    assert queue.job_ids == []
    registry = ScheduledJobRegistry(queue=queue)
    assert sorted(registry.get_job_ids()) == ["batch-0", "batch-1", "batch-2"]
    assert int(registry.get_scheduled_time("batch-0").timestamp()) == int(later.timestamp())
    assert Job.fetch("batch-0", connection=redis_conn).meta["client_id"] == str(c.id)


def test_a_zero_timeout_is_refused_before_commit(db):
    with pytest.raises(ValueError, match="timeout"):
        outbox.enqueue_job(db, PING, queue="scoring", timeout=0)
