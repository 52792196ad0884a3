"""Queues and the one place that pushes a job to Redis.

Nothing here is called by business code directly: business code writes to the outbox
(``caas.events.outbox.enqueue_job``) and the outbox calls ``push_many`` after commit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from redis import Redis
from rq import Queue, Retry
from rq.job import Job

from caas.core import redis as redis_conn

log = logging.getLogger(__name__)

QUEUES = ("scoring", "payouts", "billing", "events", "default")


@dataclass
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    socket_timeout: float = 2.0
    prefix: str = ""


settings = Settings()


def configure(redis_url: str, socket_timeout: float = 2.0, prefix: str = "") -> None:
    settings.redis_url = redis_url
    settings.socket_timeout = socket_timeout
    settings.prefix = prefix


def connection() -> Redis:
    return redis_conn.connect(settings.redis_url, settings.socket_timeout)


def queue_name(name: str) -> str:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; queues are {', '.join(QUEUES)}")
    return f"{settings.prefix}{name}"


def queue(name: str) -> Queue:
    return Queue(queue_name(name), connection=connection())


@dataclass(frozen=True)
class JobSpec:
    """One job to push: what the outbox row says (ids as arguments, never objects)."""

    queue: str
    func: str
    args: list
    kwargs: dict
    job_id: str
    timeout: int
    client_id: str | None
    outbox_id: str | None = None
    run_at: datetime | None = None


def push(*, queue_: str, func: str, args: list, kwargs: dict, job_id: str, timeout: int,
         client_id: str | None, outbox_id: str | None = None, run_at: datetime | None = None) -> bool:
    """Push one job to Redis. Returns False when the job id is already there (sent before)."""
    spec = JobSpec(queue_, func, args, kwargs, job_id, timeout, client_id, outbox_id, run_at)
    return bool(push_many([spec]))


def push_many(specs: list[JobSpec]) -> list[str]:
    """Push jobs to Redis in two round trips; returns the ids pushed, leaving out those already there.

    Job ids are deterministic, so a re-send after a lost acknowledgement skips the ids Redis
    already knows (twice in ``specs``: the first wins) instead of queueing the same job twice.
    The new jobs go in one MULTI/EXEC: when this raises, none of them may count as sent (some
    may be in Redis all the same, if only the reply was lost; a re-send then skips those ids).
    """
    conn = connection()
    with conn.pipeline(transaction=False) as pipe:
        for spec in specs:
            pipe.exists(Job.key_for(spec.job_id))
        known = pipe.execute()
    seen = {spec.job_id for spec, there in zip(specs, known) if there}
    queues: dict[str, Queue] = {}
    now = datetime.now(timezone.utc)
    pushed = []
    with conn.pipeline() as pipe:
        pipe.multi()  # explicit now: RQ's enqueue calls multi() itself on a pipeline that has none
        for spec in specs:
            if spec.job_id in seen:
                continue
            seen.add(spec.job_id)
            if spec.queue not in queues:
                queues[spec.queue] = queue(spec.queue)
            options = dict(
                args=tuple(spec.args),
                kwargs=spec.kwargs,
                job_id=spec.job_id,
                job_timeout=spec.timeout,
                retry=Retry(max=3, interval=[10, 60, 300]),
                meta={"client_id": spec.client_id, "outbox_id": spec.outbox_id},
                result_ttl=24 * 3600,
                failure_ttl=7 * 24 * 3600,
                pipeline=pipe,
            )
            if spec.run_at is not None and spec.run_at > now:
                queues[spec.queue].enqueue_at(spec.run_at, spec.func, **options)
            else:
                queues[spec.queue].enqueue(spec.func, **options)
            pushed.append(spec.job_id)
        pipe.execute()
    return pushed
