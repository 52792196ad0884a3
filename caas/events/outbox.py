"""The transactional outbox.

``enqueue_job`` and ``record_event`` add a row to the caller's transaction. Nothing reaches Redis
until that transaction commits; a rollback discards the rows and the pending list together. After
commit the rows are pushed to Redis in batches (a pipeline each) and marked sent in one UPDATE; a
batch that could not be pushed (Redis down) stays unsent, with the batches after it, and the relay
(``relay``) re-sends them later, claiming rows with FOR UPDATE SKIP LOCKED so two relays never send
the same row at once.
"""
from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from caas.core import jobs, tenant
from caas.events.models import OutboxKind, OutboxMessage

log = logging.getLogger(__name__)

_PENDING = "caas_outbox_pending"
_MARKS = "caas_outbox_savepoint_marks"  # per open SAVEPOINT: how many jobs were pending when it began
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
DISPATCH_EVENT = "caas.events.jobs.dispatch_event"
BATCH = 1000  # jobs per Redis round trip (one MULTI/EXEC) after a commit or in the relay


def enqueue_job(
    session: Session,
    func: str,
    *,
    queue: str = "default",
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    job_id: str | None = None,
    client_id: uuid.UUID | None = None,
    timeout: int = 300,
    run_at: datetime | None = None,
) -> OutboxMessage:
    """Write a job to the outbox in the caller's transaction. It is sent to Redis after commit.

    ``func`` is a dotted path; ``args``/``kwargs`` must be JSON (pass ids, never objects).
    ``job_id`` makes a run unique (``billing-2026-10-<client>``: RQ allows letters, digits, ``_``
    and ``-``); by default it is the row id. ``run_at`` (aware datetime) schedules the job for later:
    it still reaches Redis only after commit, and runs at that time (the job must re-check that
    its moment has come, since RQ may run it late and a safety-net sweep may have run it already).
    """
    if run_at is not None and run_at.tzinfo is None:
        raise ValueError("run_at must be timezone-aware")
    jobs.queue_name(queue)  # refuse an unknown queue, a bad timeout or job id now, not after commit
    if timeout < 1:  # RQ refuses 0, and a row it refuses would hold back its whole batch
        raise ValueError("timeout must be at least 1 second")
    if client_id is None:
        client_id = tenant.current_client_id()  # a tenant's transaction may only write its own rows
    if job_id is not None and not JOB_ID_RE.match(job_id):
        raise ValueError(f"job id {job_id!r} may contain only letters, digits, '_' and '-'")
    message_id = uuid.uuid4()
    message = OutboxMessage(
        id=message_id,
        client_id=client_id,
        kind=OutboxKind.job,
        queue=queue,
        func=func,
        args=list(args or []),
        kwargs=dict(kwargs or {}),
        job_id=job_id or f"outbox-{message_id}",
        timeout=timeout,
        run_at=run_at,
    )
    session.add(message)
    session.info.setdefault(_PENDING, []).append(message_id)
    return message


def record_event(session: Session, client_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> OutboxMessage:
    """Record a domain event (``credit.application.submitted`` …) for delivery to the tenant."""
    message_id = uuid.uuid4()
    message = OutboxMessage(
        id=message_id,
        client_id=client_id,
        kind=OutboxKind.event,
        queue="events",
        func=DISPATCH_EVENT,
        args=[str(message_id)],
        kwargs={},
        job_id=f"event-{message_id}",
        timeout=60,
        event_type=event_type,
        payload=data,
    )
    session.add(message)
    session.info.setdefault(_PENDING, []).append(message_id)
    return message


def _send(rows: list[Any]) -> tuple[list[str], dict[str, str]]:
    """Push ``rows`` in batches; returns the ids now in Redis and the error of each id that is not."""
    sent: list[str] = []
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        try:
            jobs.push_many([_spec(row) for row in batch])
        except Exception as exc:  # Redis down or slow: this batch and the rest wait for the relay.
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("outbox send failed", extra={"unsent": len(rows) - start, "error": error})
            return sent, {str(row.id): error for row in rows[start:]}
        sent += [str(row.id) for row in batch]
    return sent, {}


def _spec(row: Any) -> jobs.JobSpec:
    return jobs.JobSpec(
        queue=row.queue, func=row.func, args=row.args, kwargs=row.kwargs, job_id=row.job_id,
        timeout=row.timeout, client_id=str(row.client_id) if row.client_id else None,
        outbox_id=str(row.id), run_at=row.run_at,
    )


def _mark(conn: Connection, sent: list[str], errors: dict[str, str]) -> None:
    if sent:
        conn.execute(text("SELECT caas_outbox_mark_sent(CAST(:ids AS uuid[]))"), {"ids": sent})
    if errors:
        conn.execute(text("SELECT caas_outbox_mark_failed(f.id, f.err) "
                          "FROM unnest(CAST(:ids AS uuid[]), CAST(:errs AS text[])) AS f(id, err)"),
                     {"ids": list(errors), "errs": list(errors.values())})


_FETCH = text("SELECT * FROM caas_outbox_fetch(CAST(:ids AS uuid[]))")
_CLAIM = text("SELECT * FROM caas_outbox_claim(:limit, :min_age)")


def _run_on(bind: Engine | Connection, work) -> Any:
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            return work(conn)
    return work(bind)  # tests: the session is bound to one connection inside a transaction


def flush_pending(bind: Engine | Connection, ids: list[uuid.UUID]) -> int:
    """Push the committed rows ``ids`` now. Returns how many reached Redis."""
    def work(conn: Connection) -> int:
        rows = conn.execute(_FETCH, {"ids": [str(i) for i in ids]}).all()
        sent, errors = _send(rows)
        _mark(conn, sent, errors)
        return len(sent)
    return _run_on(bind, work)


def relay(bind: Engine | Connection, *, limit: int = 200, min_age_seconds: int = 10) -> int:
    """Re-send unsent rows older than ``min_age_seconds``. Safe to run in several processes."""
    def work(conn: Connection) -> int:
        rows = conn.execute(_CLAIM, {"limit": limit, "min_age": min_age_seconds}).all()
        sent, errors = _send(rows)
        _mark(conn, sent, errors)
        if rows:
            log.info("outbox relay", extra={"claimed": len(rows), "sent": len(sent)})
        return len(sent)
    return _run_on(bind, work)


def install(session_class=Session) -> None:
    """After commit, push what the transaction wrote; after rollback, forget it.

    SQLAlchemy fires ``after_commit`` and ``after_soft_rollback`` for a SAVEPOINT too
    (``begin_nested``). Releasing one commits nothing, so it pushes nothing: pushing then would
    either send jobs whose rows other connections cannot see yet (lost until the relay) or send
    them before the commit. Rolling one back forgets only the jobs written inside it.
    """
    if getattr(install, "_done", False):
        return

    @event.listens_for(session_class, "after_transaction_create")
    def _savepoint_begins(session, transaction):  # noqa: ANN001
        if transaction.nested:
            session.info.setdefault(_MARKS, {})[id(transaction)] = len(session.info.get(_PENDING, ()))

    @event.listens_for(session_class, "after_commit")
    def _after_commit(session):  # noqa: ANN001
        savepoint = session.get_nested_transaction()
        if savepoint is not None:  # a SAVEPOINT released: its jobs wait for the real commit
            session.info.get(_MARKS, {}).pop(id(savepoint), None)
            return
        session.info.pop(_MARKS, None)
        ids = session.info.pop(_PENDING, None)
        if not ids:
            return
        try:
            flush_pending(session.get_bind(), ids)
        except Exception:  # never fail a committed request; the relay covers it
            log.exception("outbox flush failed; relay will re-send")

    @event.listens_for(session_class, "after_soft_rollback")
    def _after_rollback(session, previous_transaction):  # noqa: ANN001
        mark = session.info.get(_MARKS, {}).pop(id(previous_transaction), None)
        if previous_transaction.nested and mark is not None:
            del session.info.get(_PENDING, [])[mark:]  # only what the savepoint wrote
        else:
            session.info.pop(_PENDING, None)
            session.info.pop(_MARKS, None)

    install._done = True  # type: ignore[attr-defined]
