"""Jobs of the events area. Each takes ids, reloads state, and is safe to run twice."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime

from rq import Retry
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from caas.core import jobs, metrics, tenant
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
    notices = _route_notifications(message)
    event_type = message.event_type or ""
    db.session.commit()
    log.info("domain event", extra={"event_type": event_type, "outbox_id": outbox_id, "deliveries": len(created),
                                    "notifications": notices})
    return event_type


def _route_notifications(message: OutboxMessage) -> int:
    """Queue the event's e-mails, SMS and in-app notices with the deliveries (one commit). A failure
    here must not hold up the client's webhooks: it is rolled back alone and routing is retried by
    a job of its own."""
    from caas.events import notify
    from caas.events.catalogue import ROUTES

    if message.event_type not in ROUTES:
        return 0
    try:
        with db.session.begin_nested():
            return notify.route_message(db.session, message)
    except Exception:
        log.exception("notification routing failed; retried by its own job", extra={"outbox_id": str(message.id)})
        outbox.enqueue_job(db.session, NOTIFY_EVENT, queue="events", args=[str(message.id)],
                           job_id=f"notify-event-{message.id}", client_id=message.client_id, timeout=60)
        return 0


NOTIFY_EVENT = "caas.events.jobs.notify_event"


def notify_event(outbox_id: str) -> int:
    """Route one domain event's notifications (when routing with the dispatch failed). Idempotent."""
    from caas.events import notify

    message = tenant.get_visible(db.session, OutboxMessage, uuid.UUID(outbox_id))
    if message is None:
        return 0
    created = notify.route_message(db.session, message)
    db.session.commit()
    return created


# --- Notifications -----------------------------------------------------------------------------------

def route_notification(event_type: str, event_id: str, data: dict | None = None) -> int:
    """Queue the messages of a ``notify.send`` (under the tenant it was sent for). Idempotent per
    (event id, person, channel)."""
    from caas.events import notify

    created = notify.route(db.session, event_type, event_id, tenant.current_client_id(), data or {})
    db.session.commit()
    return created


def send_notification(message_id: str) -> str:
    """Send one e-mail or SMS of the sent-log. Runs twice, sends once: the claim (committed before
    sending) lets one run through; a sent message makes the job a no-op. A failure is recorded and
    raised, so RQ retries it with backoff."""
    from caas.events import notify

    session = db.session
    ident = uuid.UUID(message_id)
    claimed = notify.claim(session, ident)
    session.commit()
    if claimed is None:
        outcome = notify.status_of(session, ident)
        session.rollback()
        return f"not claimed ({outcome})"
    try:
        external_id = notify.transmit(session, claimed)
    except Exception as exc:
        session.rollback()
        status = notify.mark_failed(session, claimed, f"{type(exc).__name__}: {exc}")
        session.commit()
        log.warning("notification not sent", extra={"message_id": message_id, "status": status})
        raise
    notify.mark_sent(session, claimed, external_id)
    session.commit()
    return "sent"


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
    metrics.record_webhook("succeeded" if result.ok else "retrying" if retry_at is not None else "failed")
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
    """Tell the tenant's client admins (e-mail and in-app) and the platform admins (in-app) that an
    endpoint was disabled after 3 days of failures. Idempotent per disabling: a re-run queues nothing."""
    from caas.events import notify

    endpoint = tenant.get_visible(db.session, WebhookEndpoint, uuid.UUID(endpoint_id))
    if endpoint is None or endpoint.enabled:
        return "not disabled"
    when = int(endpoint.disabled_at.timestamp()) if endpoint.disabled_at else 0
    data = {"endpoint_id": str(endpoint.id), "endpoint_url": endpoint.url, "reason": endpoint.disabled_reason}
    created = notify.route(db.session, "webhook.endpoint.disabled", f"webhook.endpoint.disabled/{endpoint.id}-{when}",
                           endpoint.client_id, data)
    db.session.commit()
    return f"queued {created}"
