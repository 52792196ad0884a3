"""The jobs console: what RQ's own registries say about our queues, and the actions on failed jobs.

Everything here reads Redis through RQ (queues, ``Worker.all``, the started, scheduled, finished and
failed registries, the cron schedulers our workers run); nothing is copied into PostgreSQL. The
outbox side (rows not yet sent) lives with the outbox, in ``caas.events.backlog``.

Retry and delete are audited: the audit row is flushed in the caller's transaction first, then the
Redis change is made, and the boundary commits. When Redis refuses, the ``DomainError`` makes the
boundary roll the audit row back, so the log never names an action that did not happen.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.cron import CronScheduler
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.results import Result
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core import jobs
from caas.core.errors import DomainError, NotFound

JOB_ID_RE = re.compile(r"^[A-Za-z0-9_:.-]{1,200}$")
EXC_LINES = 6  # the last lines of a traceback say what went wrong; the full text is one click away
BULK_LIMIT = 5000  # one bulk action touches at most this many jobs (run it again for more)


class JobsUnavailable(DomainError):
    """Redis did not answer; the console shows this instead of its tables."""

    status = 503

    def __init__(self, exc: Exception):
        super().__init__("redis_unavailable", f"Redis is unreachable ({type(exc).__name__}).")


def _redis(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except RedisError as exc:
        raise JobsUnavailable(exc) from exc


def now() -> datetime:
    return datetime.now(timezone.utc)


def _age(moment: datetime | None, at: datetime) -> float | None:
    return None if moment is None else max(0.0, (at - moment).total_seconds())


def short_name(prefixed: str) -> str:
    """``staging-events`` → ``events`` (queue names carry RQ_QUEUE_PREFIX in Redis)."""
    prefix = jobs.settings.prefix
    return prefixed[len(prefix):] if prefix and prefixed.startswith(prefix) else prefixed


def check_queue(name: str | None) -> str | None:
    """A queue name from outside (form, CLI) or None for all; unknown names are refused."""
    if name in (None, ""):
        return None
    if name not in jobs.QUEUES:
        raise DomainError("unknown_queue", f"unknown queue {name!r}; queues are {', '.join(jobs.QUEUES)}", "queue")
    return name


def _queues(name: str | None = None) -> list[Queue]:
    return [jobs.queue(q) for q in ([name] if name else jobs.QUEUES)]


# --- Queues, workers, schedules -------------------------------------------------------------------

@dataclass(frozen=True)
class QueueCounts:
    name: str
    queued: int
    started: int
    scheduled: int
    failed: int
    finished: int


def queue_counts() -> list[QueueCounts]:
    """Depth and registry sizes of every queue, in one pipeline (cheap enough for each scrape).

    Plain ZCARDs, without RQ's registry clean-up: a read never moves jobs around."""
    def read() -> list[QueueCounts]:
        queues = _queues()
        with jobs.connection().pipeline(transaction=False) as pipe:
            for q in queues:
                pipe.llen(q.key)
                for registry in (q.started_job_registry, q.scheduled_job_registry, q.failed_job_registry,
                                 q.finished_job_registry):
                    pipe.zcard(registry.key)
            values = pipe.execute()
        return [QueueCounts(short_name(q.name), *values[i * 5:i * 5 + 5]) for i, q in enumerate(queues)]
    return _redis(read)


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    state: str
    queues: list[str]
    hostname: str | None
    pid: int | None
    current_job_id: str | None
    current_func: str | None
    last_heartbeat: datetime | None
    heartbeat_age: float | None
    successful: int
    failed: int
    birth: datetime | None


def workers(at: datetime | None = None) -> list[WorkerInfo]:
    """Workers registered in Redis (a worker that died without saying so disappears when its key
    expires), each with its current job and the age of its last heartbeat."""
    at = at or now()

    def read() -> list[WorkerInfo]:
        found = []
        for w in Worker.all(connection=jobs.connection()):
            job = w.get_current_job()
            found.append(WorkerInfo(
                name=w.name, state=w.get_state(), queues=[short_name(q) for q in w.queue_names()],
                hostname=w.hostname, pid=w.pid, current_job_id=job.id if job else None,
                current_func=job.func_name if job else None, last_heartbeat=w.last_heartbeat,
                heartbeat_age=_age(w.last_heartbeat, at), successful=w.successful_job_count,
                failed=w.failed_job_count, birth=w.birth_date))
        return sorted(found, key=lambda w: w.name)
    return _redis(read)


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    queue: str
    func: str | None
    run_at: datetime
    description: str


def scheduled_jobs(limit: int = 50) -> list[ScheduledJob]:
    """Jobs waiting in RQ's scheduled registries (``run_at`` jobs and retries after a failure),
    soonest first."""
    def read() -> list[ScheduledJob]:
        return [ScheduledJob(job_id, queue, job.func_name if job else None,
                             datetime.fromtimestamp(score, timezone.utc), _describe(job))
                for score, job_id, queue, job in _entries("scheduled", None, limit, newest=False)]
    return _redis(read)


def _entries(kind: str, queue: str | None, limit: int, *, newest: bool) -> list[tuple[float, str, str, Job | None]]:
    """The first ``limit`` entries of the ``kind`` registries of ``queue`` (or all queues), merged by
    score, each as (score, job id, queue, job or None when its hash has expired)."""
    conn = jobs.connection()
    entries: list[tuple[float, str, str]] = []
    for q in _queues(queue):
        registry = getattr(q, f"{kind}_job_registry")
        for job_id, score in conn.zrange(registry.key, 0, limit - 1, desc=newest, withscores=True):
            entries.append((score, job_id.decode(), short_name(q.name)))
    entries = sorted(entries, reverse=newest)[:limit]
    found = Job.fetch_many([e[1] for e in entries], connection=conn)
    return [(*entry, job) for entry, job in zip(entries, found)]


@dataclass(frozen=True)
class PeriodicJob:
    func: str
    queue: str
    interval: int | None
    next_run: datetime | None = None
    last_run: datetime | None = None
    schedulers: list[str] = field(default_factory=list)


def periodic_jobs(configured: list[tuple[str, str, int]]) -> list[PeriodicJob]:
    """Our periodic jobs (``configured``: function, queue, interval in seconds) with what the live
    cron schedulers report of them; a job no scheduler reports is not running anywhere."""
    def read() -> dict[str, PeriodicJob]:
        live: dict[str, PeriodicJob] = {}
        for scheduler in CronScheduler.all(jobs.connection()):
            for cron in scheduler.get_jobs():
                seen = live.get(cron.func_name)
                nxt = cron.next_enqueue_time
                last = cron.latest_enqueue_time
                if seen is not None:
                    nxt = min(filter(None, (nxt, seen.next_run)), default=None)
                    last = max(filter(None, (last, seen.last_run)), default=None)
                live[cron.func_name] = PeriodicJob(cron.func_name, short_name(cron.queue_name), cron.interval, nxt,
                                                   last, [*(seen.schedulers if seen else []), scheduler.name])
        return live
    live = _redis(read)
    return [live.get(func) or PeriodicJob(func, queue, interval) for func, queue, interval in configured]


def latest_heartbeat(at: datetime | None = None) -> tuple[int, float | None]:
    """How many workers are registered, and the age in seconds of the freshest heartbeat."""
    found = workers(at)
    ages = [w.heartbeat_age for w in found if w.heartbeat_age is not None]
    return len(found), (min(ages) if ages else None)


# --- Jobs -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobRow:
    id: str
    queue: str
    func: str | None
    description: str
    client_id: str | None
    enqueued_at: datetime | None
    ended_at: datetime | None
    exc_tail: str | None = None
    exc_full: str | None = None
    status: str | None = None


def _describe(job: Job | None) -> str:
    if job is None:
        return "(expired)"
    try:
        return job.get_call_string() or job.func_name or job.id
    except Exception:  # a job whose data no longer deserialises still gets a row
        return job.id


def tail(text: str | None, lines: int = EXC_LINES) -> str | None:
    if not text:
        return None
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _row(job: Job, queue: str, *, with_exc: bool = False) -> JobRow:
    exc = None
    if with_exc:
        result = job.latest_result()
        exc = result.exc_string if result is not None and result.type == Result.Type.FAILED else job._exc_info
    status = job.get_status(refresh=False)
    return JobRow(id=job.id, queue=queue, func=job.func_name, description=_describe(job),
                  client_id=(job.meta or {}).get("client_id"), enqueued_at=job.enqueued_at, ended_at=job.ended_at,
                  exc_tail=tail(exc), exc_full=exc, status=status.value if status else None)


def _registry_rows(kind: str, queue: str | None, limit: int, *, with_exc: bool = False) -> list[JobRow]:
    """Newest first across the chosen queues (the registries are scored by expiry, which is
    ended-at plus a fixed TTL, so the highest scores are the most recent)."""
    check_queue(queue)

    def read() -> list[JobRow]:
        if kind == "failed":
            for q in _queues(queue):
                q.failed_job_registry.cleanup()  # drops entries past their failure TTL (their hash is gone too)
        return [_row(job, name, with_exc=with_exc)
                for _, _, name, job in _entries(kind, queue, limit, newest=True) if job is not None]
    return _redis(read)


def failed_jobs(queue: str | None = None, limit: int = 100) -> list[JobRow]:
    """Failed jobs (retries used up), newest first, with the last lines of their exception."""
    return _registry_rows("failed", queue, limit, with_exc=True)


def finished_jobs(queue: str | None = None, limit: int = 20) -> list[JobRow]:
    return _registry_rows("finished", queue, limit)


def _failed_job(job_id: str) -> tuple[Job, Queue]:
    """The failed job ``job_id`` and its queue; NotFound unless it is in one of our failed registries."""
    missing = NotFound(f"failed job {job_id!r}")
    if not JOB_ID_RE.match(job_id or ""):
        raise missing
    conn = jobs.connection()
    try:
        job = Job.fetch(job_id, connection=conn)
    except NoSuchJobError:
        raise missing from None
    if job.origin not in {jobs.queue_name(q) for q in jobs.QUEUES}:
        raise missing
    queue = jobs.queue(short_name(job.origin))
    if job.id not in queue.failed_job_registry:
        raise missing
    return job, queue


def retry(session: Session, actor: Actor, job_id: str) -> JobRow:
    """Put one failed job back on its queue (RQ's ``requeue``: the same id, args and meta, so the
    job's own idempotency still holds). Audited as ``jobs.retry``."""
    def act() -> JobRow:
        job, queue = _failed_job(job_id)
        row = _row(job, short_name(queue.name))
        record(session, actor, "jobs.retry", target_type="job", target_id=job.id,
               after={"queue": row.queue, "func": row.func})
        try:
            queue.failed_job_registry.requeue(job)
        except InvalidJobOperation:  # another admin (or the CLI) took it a moment ago
            raise NotFound(f"failed job {job_id!r}") from None
        return row
    return _redis(act)


def delete(session: Session, actor: Actor, job_id: str) -> JobRow:
    """Remove one failed job for good (its hash, results and registry entry). Audited as ``jobs.delete``."""
    def act() -> JobRow:
        job, queue = _failed_job(job_id)
        row = _row(job, short_name(queue.name))
        record(session, actor, "jobs.delete", target_type="job", target_id=job.id,
               after={"queue": row.queue, "func": row.func})
        job.delete()
        return row
    return _redis(act)


def _bulk(session: Session, actor: Actor, action: str, queue: str | None, each: Callable[[Queue, str], bool]) -> int:
    check_queue(queue)

    def act() -> int:
        done: list[str] = []
        for q in _queues(queue):
            registry = q.failed_job_registry
            for job_id in registry.get_job_ids(0, BULK_LIMIT - len(done) - 1):
                if each(q, job_id):
                    done.append(job_id)
            if len(done) >= BULK_LIMIT:
                break
        record(session, actor, action, target_type="queue", target_id=queue or "all",
               after={"count": len(done), "job_ids": done[:100]})
        return len(done)
    return _redis(act)


def retry_all(session: Session, actor: Actor, queue: str | None = None) -> int:
    """Requeue every failed job of ``queue`` (or of all queues). One ``jobs.retry_all`` audit row
    with the count and the first 100 ids. Returns how many were requeued."""
    def each(q: Queue, job_id: str) -> bool:
        try:
            q.failed_job_registry.requeue(job_id)
        except (InvalidJobOperation, NoSuchJobError):  # gone meanwhile, or its data expired
            q.failed_job_registry.remove(job_id)
            return False
        return True
    return _bulk(session, actor, "jobs.retry_all", queue, each)


def delete_all(session: Session, actor: Actor, queue: str | None = None) -> int:
    """Delete every failed job of ``queue`` (or of all queues). Audited as ``jobs.delete_all``."""
    def each(q: Queue, job_id: str) -> bool:
        try:
            Job.fetch(job_id, connection=q.connection).delete()
        except NoSuchJobError:
            q.failed_job_registry.remove(job_id)
        return True
    return _bulk(session, actor, "jobs.delete_all", queue, each)
