"""Queues and the one place that pushes a job to Redis.

Nothing here is called by business code directly: business code writes to the outbox
(``caas.events.outbox.enqueue_job``) and the outbox calls ``push`` after commit.
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


def push(*, queue_: str, func: str, args: list, kwargs: dict, job_id: str, timeout: int,
         client_id: str | None, outbox_id: str | None = None, run_at: datetime | None = None) -> bool:
    """Push one job to Redis. Returns False when the job id is already there (sent before).

    The job id is deterministic, so a re-send by the relay after a lost acknowledgement does not
    queue the same job twice while the first copy is still known to Redis.
    """
    conn = connection()
    if Job.exists(job_id, connection=conn):
        return False
    options = dict(
        args=tuple(args),
        kwargs=kwargs,
        job_id=job_id,
        job_timeout=timeout,
        retry=Retry(max=3, interval=[10, 60, 300]),
        meta={"client_id": client_id, "outbox_id": outbox_id},
        result_ttl=24 * 3600,
        failure_ttl=7 * 24 * 3600,
    )
    if run_at is not None and run_at > datetime.now(timezone.utc):
        queue(queue_).enqueue_at(run_at, func, **options)
    else:
        queue(queue_).enqueue(func, **options)
    return True
