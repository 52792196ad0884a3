"""Jobs of the events area. Each takes ids, reloads state, and is safe to run twice."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime

from rq import Retry
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from caas.core import jobs, tenant
from caas.core.extensions import db
from caas.events import deliveries, outbox
from caas.events.models import DeliveryStatus, OutboxMessage, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)


def relay_outbox() -> int:
    """Periodic: re-send outbox rows that did not reach Redis after their commit."""
    from flask import current_app

    return outbox.relay(db.engine, min_age_seconds=current_app.config["OUTBOX_RELAY_MIN_AGE"])


def dispatch_event(outbox_id: str) -> str:
    """Fan a domain event out to the tenant's enabled endpoints subscribed to its type: one delivery
    row and one delivery job (through the outbox) each, committed together. Idempotent: a second
    run finds the deliveries (unique per endpoint and event) and enqueues nothing."""
    message = tenant.get_visible(db.session, OutboxMessage, uuid.UUID(outbox_id))
    if message is None:
        log.warning("event not visible under its tenant", extra={"outbox_id": outbox_id})
        return "missing"
    created = deliveries.fan_out(db.session, message)
    event_type = message.event_type or ""
    db.session.commit()
    log.info("domain event", extra={"event_type": event_type, "outbox_id": outbox_id, "deliveries": len(created)})
    return event_type


# --- Webhook deliveries ---------------------------------------------------------------------------

def _allow_private() -> bool:
    from flask import current_app

    config = current_app.config
    return bool(config.get("ALLOW_PRIVATE_WEBHOOK_TARGETS", config.get("TESTING") or current_app.debug))


def deliver(delivery_id: str, attempt: int, cycle: int = 0) -> str:
    """Make attempt ``attempt`` (of cycle ``cycle``) of one delivery; schedule the next on failure.

    Safe to run twice: only the run that claims the attempt sends, and a succeeded, failed or
    re-armed delivery makes this job a no-op. The claim is committed before the request goes out
    and no transaction stays open while the receiver answers.
    """
    from flask import current_app

    session = db.session
    ident = uuid.UUID(delivery_id)
    claimed = deliveries.claim(session, ident, attempt, cycle)
    if claimed is None:
        outcome = _not_claimed(session, ident, attempt, cycle)
        session.commit()
        return outcome
    try:
        body, headers = deliveries.request_for(claimed)
        early = None
    except Exception as exc:  # e.g. a secret that no longer decrypts: record it, retry later
        log.exception("cannot build the delivery request")
        body, headers, early = b"", {}, deliveries.Result(error=f"cannot sign: {type(exc).__name__}")
    session.commit()

    result = early or deliveries.post(claimed.url, body, headers, allow_private=_allow_private(),
                                      timeout=float(current_app.config.get("WEBHOOK_TIMEOUT",
                                                                           deliveries.TIMEOUT_SECONDS)))
    retry_at = deliveries.record_attempt(session, claimed, result)
    session.commit()
    if retry_at is not None:
        schedule(ident, attempt + 1, cycle, retry_at, claimed.client_id)
    return f"{'ok' if result.ok else 'failed'} {result.status_code or result.error}"


def _not_claimed(session, ident: uuid.UUID, attempt: int, cycle: int) -> str:
    delivery = tenant.get_visible(session, WebhookDelivery, ident)
    if delivery is None:
        return "missing"
    if delivery.status == DeliveryStatus.succeeded:
        return "already succeeded"
    if delivery.status == DeliveryStatus.pending and delivery.cycle == cycle and delivery.attempts == attempt - 1:
        deliveries.give_up_disabled(session, ident, attempt, cycle)  # due, but its endpoint is disabled
        return "endpoint disabled"
    return "stale"


def schedule(delivery_id: uuid.UUID, attempt: int, cycle: int, at: datetime, client_id: uuid.UUID) -> bool:
    """Put the retry in RQ's scheduled registry (the worker's scheduler enqueues it when due).

    Called after the commit that recorded the failure. If Redis refuses, the delivery is still
    pending with its next_attempt_at and ``requeue_stalled`` sends it later.
    """
    job_id = deliveries.job_id(delivery_id, attempt, cycle)
    try:
        conn = jobs.connection()
        if Job.exists(job_id, connection=conn):
            return False
        jobs.queue("events").enqueue_at(
            at, deliveries.DELIVER, args=(str(delivery_id), attempt, cycle), job_id=job_id,
            job_timeout=deliveries.JOB_TIMEOUT, meta={"client_id": str(client_id)},
            retry=Retry(max=3, interval=[10, 60, 300]), result_ttl=24 * 3600, failure_ttl=7 * 24 * 3600)
        return True
    except Exception:
        log.exception("could not schedule a webhook retry; requeue_stalled will", extra={"job": job_id})
        return False


def release_due(now: datetime | None = None) -> int:
    """Move scheduled events jobs due at ``now`` to the queue (what RQ's scheduler does each
    second; tests call it with a moved clock, operators with none)."""
    queue = jobs.queue("events")
    registry = ScheduledJobRegistry(queue=queue)
    moment = now or deliveries.utcnow()
    moved = 0
    for job_id in registry.get_jobs_to_schedule(int(moment.timestamp())):
        job = Job.fetch(job_id, connection=queue.connection)
        registry.remove(job)
        queue.enqueue_job(job)
        moved += 1
    return moved


def requeue_stalled() -> int:
    """Periodic safety net: pending deliveries whose next attempt is overdue (Redis refused the
    retry, a worker died mid-attempt, a job was lost) get their job again. Jobs are idempotent, so
    a spurious push only makes a no-op run."""
    with tenant.all_tenants_scope(db.session):
        due = [(d.id, d.client_id, d.attempts + 1, d.cycle) for d in deliveries.stalled(db.session)]
    db.session.rollback()
    conn = jobs.connection()
    pushed = 0
    for delivery_id, client_id, attempt, cycle in due:
        job_id = deliveries.job_id(delivery_id, attempt, cycle)
        job = Job.fetch(job_id, connection=conn) if Job.exists(job_id, connection=conn) else None
        if job is not None:
            if job.get_status() not in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
                continue  # queued, scheduled or running: it will come
            job.delete()
        jobs.push(queue_="events", func=deliveries.DELIVER, args=[str(delivery_id), attempt, cycle], kwargs={},
                  job_id=job_id, timeout=deliveries.JOB_TIMEOUT, client_id=str(client_id))
        pushed += 1
    if pushed:
        log.warning("requeued stalled webhook deliveries", extra={"count": pushed})
    return pushed


def notify_endpoint_disabled(endpoint_id: str) -> str:
    """E-mail the tenant's client admins that an endpoint was disabled after 3 days of failures."""
    from flask import current_app

    from caas.events import mail
    from caas.tenancy.models import Client, Role, Status, User

    endpoint = tenant.get_visible(db.session, WebhookEndpoint, uuid.UUID(endpoint_id))
    if endpoint is None or endpoint.enabled:
        return "not disabled"
    client = db.session.get(Client, endpoint.client_id)
    admins = db.session.scalars(select(User).where(User.client_id == endpoint.client_id,
                                                   User.role == Role.client_admin,
                                                   User.status == Status.active)).all()
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    link = f"{base}/admin/clients/{endpoint.client_id}/webhooks/{endpoint.id}/deliveries"
    subject = f"Webhook endpoint disabled: {endpoint.url}"[:200]
    text = (
        f"Hello,\n\nWe have disabled the webhook endpoint {endpoint.url} of {client.display_name} on CaaS: "
        f"every delivery to it failed for 3 days.\n\n{endpoint.disabled_reason or ''}\n\n"
        f"Once it answers again, enable it on the webhooks page and replay the events you missed from its "
        f"delivery log:\n{link}\n\nCaaS\n"
    )
    for admin in admins:
        mail.send(admin.email, subject, text)
    return f"sent {len(admins)}"
