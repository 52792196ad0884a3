"""Failed jobs made for real: a job that raises is run by a burst worker and lands in RQ's failed
registry, exactly as in production (no retries configured, so the first failure is final)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from caas.audit.models import AuditEntry
from caas.core import jobs

FLAKY = "tests.ops.jobs_for_tests.flaky"


def make_failed(app, queue: str = "default", label: str = "") -> str:
    """Enqueue the flaky job on ``queue`` and let a burst worker fail it; returns its id."""
    from caas.core import worker

    job_id = f"ops-test-{uuid.uuid4().hex[:10]}"
    jobs.queue(queue).enqueue(FLAKY, args=(label or job_id,), job_id=job_id, meta={"client_id": None},
                              failure_ttl=3600)
    worker.run(app, [queue], burst=True, with_cron=False)
    assert job_id in jobs.queue(queue).failed_job_registry
    return job_id


def run_worker(app, *queues: str) -> None:
    from caas.core import worker

    worker.run(app, list(queues) or None, burst=True, with_cron=False)


def audit(db, action: str) -> list[AuditEntry]:
    """Platform rows (client_id NULL) are visible to a transaction with no tenant."""
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.chain_seq)))


@pytest.fixture
def failed_job(app, db):
    def make(queue: str = "default", label: str = "") -> str:
        return make_failed(app, queue, label)
    return make


@pytest.fixture
def registered_worker(app, db):
    """A worker registered in Redis with a fresh heartbeat, as ``flask worker`` leaves it while idle."""
    from rq import SimpleWorker

    w = SimpleWorker([jobs.queue_name("default"), jobs.queue_name("events")], connection=jobs.connection(),
                     name=f"test-worker-{uuid.uuid4().hex[:6]}")
    w.register_birth()
    w.heartbeat()
    yield w
    w.register_death()
