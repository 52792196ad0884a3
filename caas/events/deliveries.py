"""Webhook deliveries: fan-out of a domain event to the tenant's endpoints, the retry schedule,
attempts and their log, endpoint health, and the client admin's resend / replay / test.

How an attempt runs (``caas.events.jobs.deliver`` drives it):
1. ``claim`` bumps ``attempts`` with a conditional UPDATE that also returns the endpoint; the job
   commits it before sending. Only the job for exactly the next attempt of the current cycle wins,
   so a job that RQ runs twice, or a retry made stale by a manual resend, sends nothing.
2. ``post`` sends the signed body (httpx, no redirects, 10 s timeout, private addresses refused
   unless allowed) and reads at most the first 2 KB of the answer.
3. ``record_attempt`` appends the attempt, moves the delivery on (succeeded, a retry time, or
   failed after 3 days) and keeps the endpoint's health (flagged; disabled after 3 days of failure).

Operations flush and never commit; every time comes from ``utcnow`` so tests can move the clock.
"""
from __future__ import annotations

import ipaddress
import logging
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core import tenant
from caas.core.errors import DomainError, NotFound
from caas.events import outbox, signing, webhooks
from caas.events.models import (DeliveryStatus, OutboxKind, OutboxMessage, WebhookAttempt, WebhookDelivery,
                                WebhookEndpoint)

log = logging.getLogger(__name__)

DELIVER = "caas.events.jobs.deliver"
NOTIFY_DISABLED = "caas.events.jobs.notify_endpoint_disabled"
TEST_EVENT = "caas.test"

# After the n-th failed attempt of a cycle wait RETRY_DELAYS[n-1] seconds, then every 12 hours,
# plus up to 10% jitter; the last try lands exactly RETRY_WINDOW after the cycle's first attempt.
RETRY_DELAYS = (60, 300, 1800, 7200, 18000, 36000)
RETRY_EVERY = 12 * 3600
RETRY_WINDOW = timedelta(days=3)
JITTER = 0.10
DISABLE_AFTER = timedelta(days=3)  # an endpoint failing continuously this long is disabled
LEASE = timedelta(minutes=5)  # a claimed attempt that never records is due again after this
TIMEOUT_SECONDS = 10.0
BODY_LIMIT = 2048
MAX_REPLAY = 1000
JOB_TIMEOUT = 60


def utcnow() -> datetime:
    """The one clock of this module (tests replace it to move time)."""
    return datetime.now(timezone.utc)


# --- The schedule (pure) -------------------------------------------------------------------------

def retry_delay(failed: int) -> int:
    """Seconds to wait after the ``failed``-th failed attempt of a cycle (1-based), before jitter."""
    return RETRY_DELAYS[failed - 1] if failed <= len(RETRY_DELAYS) else RETRY_EVERY


def jitter(delivery_id: uuid.UUID | str, cycle: int, failed: int) -> float:
    """A fraction in [0, JITTER): deterministic per attempt, so a re-run computes the same time."""
    return random.Random(f"{delivery_id}:{cycle}:{failed}").random() * JITTER


def next_attempt_time(delivery_id: uuid.UUID | str, cycle: int, failed: int, cycle_started_at: datetime,
                      now: datetime) -> datetime | None:
    """When to try again after ``failed`` failed attempts in this cycle; None once 3 days are over."""
    deadline = cycle_started_at + RETRY_WINDOW
    if now >= deadline:
        return None
    wait = retry_delay(failed) * (1 + jitter(delivery_id, cycle, failed))
    return min(now + timedelta(seconds=wait), deadline)


def job_id(delivery_id: uuid.UUID | str, attempt: int, cycle: int) -> str:
    base = f"delivery-{delivery_id}-{attempt}"
    return base if cycle == 0 else f"{base}-c{cycle}"


# --- The event on the wire -----------------------------------------------------------------------

def event_id_for(outbox_id: uuid.UUID) -> str:
    return f"evt_{outbox_id.hex}"


def envelope(delivery: WebhookDelivery | Claimed) -> dict[str, Any]:
    return {"id": delivery.event_id, "type": delivery.event_type,
            "created": int(delivery.event_created_at.timestamp()), "client_id": str(delivery.client_id),
            "data": delivery.data}


# --- Fan-out --------------------------------------------------------------------------------------

def _insert_delivery(session: Session, endpoint_id: uuid.UUID, client_id: uuid.UUID, *, outbox_id: uuid.UUID | None,
                     event_id: str, event_type: str, created: datetime, data: dict) -> uuid.UUID | None:
    """Insert the delivery unless (endpoint, event) exists; the new id, or None when it existed."""
    now = utcnow()
    statement = (
        insert(WebhookDelivery)
        .values(id=uuid.uuid4(), client_id=client_id, endpoint_id=endpoint_id, outbox_id=outbox_id,
                event_id=event_id, event_type=event_type, event_created_at=created, data=data,
                status=DeliveryStatus.pending, attempts=0, cycle=0, cycle_attempts=0, next_attempt_at=now,
                created_at=now)
        .on_conflict_do_nothing(constraint="uq_webhook_deliveries_endpoint_event")
        .returning(WebhookDelivery.id)
    )
    return session.execute(statement).scalar_one_or_none()


def _enqueue(session: Session, delivery_id: uuid.UUID, client_id: uuid.UUID, attempt: int, cycle: int) -> None:
    outbox.enqueue_job(session, DELIVER, queue="events", args=[str(delivery_id), attempt, cycle],
                       job_id=job_id(delivery_id, attempt, cycle), client_id=client_id, timeout=JOB_TIMEOUT)


def fan_out(session: Session, message: OutboxMessage) -> list[uuid.UUID]:
    """One delivery per enabled endpoint of the event's tenant subscribed to its type, and one
    delivery job each through the outbox. Idempotent: a second run creates and enqueues nothing.
    Runs under the event's tenant, so row-level security keeps other tenants' endpoints out."""
    if message.kind != OutboxKind.event or message.client_id is None or not message.event_type:
        return []
    endpoints = session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.client_id == message.client_id,
                                      WebhookEndpoint.enabled.is_(True),
                                      WebhookEndpoint.events.any(message.event_type))
    ).all()
    created = []
    for endpoint in endpoints:
        delivery_id = _insert_delivery(
            session, endpoint.id, message.client_id, outbox_id=message.id, event_id=event_id_for(message.id),
            event_type=message.event_type, created=message.created_at, data=message.payload or {})
        if delivery_id is not None:
            _enqueue(session, delivery_id, message.client_id, 1, 0)
            created.append(delivery_id)
    session.flush()
    return created


# --- One attempt ----------------------------------------------------------------------------------

@dataclass
class Claimed:
    """What one attempt needs, read by the claiming UPDATE itself (one round trip): the delivery
    as claimed and its endpoint's URL, secrets and health at that moment."""

    id: uuid.UUID
    client_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: str
    event_type: str
    event_created_at: datetime
    data: dict
    attempts: int
    cycle: int
    cycle_attempts: int
    cycle_started_at: datetime
    url: str
    secret_ciphertext: str
    previous_secret_ciphertext: str | None
    rotated_at: datetime | None
    failing_since: datetime | None
    flagged_at: datetime | None
    disabled_at: datetime | None


_CLAIMED_COLUMNS = (
    WebhookDelivery.id, WebhookDelivery.client_id, WebhookDelivery.endpoint_id, WebhookDelivery.event_id,
    WebhookDelivery.event_type, WebhookDelivery.event_created_at, WebhookDelivery.data, WebhookDelivery.attempts,
    WebhookDelivery.cycle, WebhookDelivery.cycle_attempts, WebhookDelivery.cycle_started_at, WebhookEndpoint.url,
    WebhookEndpoint.secret_ciphertext, WebhookEndpoint.previous_secret_ciphertext, WebhookEndpoint.rotated_at,
    WebhookEndpoint.failing_since, WebhookEndpoint.flagged_at, WebhookEndpoint.disabled_at,
)


def claim(session: Session, delivery_id: uuid.UUID, attempt: int, cycle: int) -> Claimed | None:
    """Take attempt number ``attempt`` of ``cycle``, or None when it is not due (done, failed,
    re-armed, taken by another run, or the endpoint is disabled).

    The caller commits before sending. The lease makes a claimed attempt whose worker died due
    again later (see ``stalled``).
    """
    now = utcnow()
    row = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == DeliveryStatus.pending,
               WebhookDelivery.attempts == attempt - 1, WebhookDelivery.cycle == cycle,
               WebhookEndpoint.id == WebhookDelivery.endpoint_id, WebhookEndpoint.enabled.is_(True))
        .values(attempts=attempt, cycle_attempts=WebhookDelivery.cycle_attempts + 1, last_attempt_at=now,
                next_attempt_at=now + LEASE,
                cycle_started_at=func.coalesce(WebhookDelivery.cycle_started_at, now))
        .returning(*_CLAIMED_COLUMNS)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return Claimed(**row._asdict()) if row is not None else None


def give_up_disabled(session: Session, delivery_id: uuid.UUID, attempt: int, cycle: int) -> bool:
    """The endpoint was disabled while this delivery waited: it fails without a request."""
    done = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == DeliveryStatus.pending,
               WebhookDelivery.attempts == attempt - 1, WebhookDelivery.cycle == cycle)
        .values(status=DeliveryStatus.failed, next_attempt_at=None, last_error="endpoint disabled")
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return done is not None


@dataclass
class Result:
    status_code: int | None = None
    latency_ms: int | None = None
    body: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and self.error is None


def request_for(claimed: Claimed) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt, signed with every currently valid secret."""
    now = utcnow()
    body = signing.body_bytes(envelope(claimed))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CaaS-Webhooks/1",
        signing.HEADER: signing.header_value(body, webhooks.signing_secrets(claimed, now), int(now.timestamp())),
        "CaaS-Event-Id": claimed.event_id,
        "CaaS-Event-Type": claimed.event_type,
        "CaaS-Delivery-Id": str(claimed.id),
        "CaaS-Delivery-Attempt": str(claimed.attempts),
    }
    return body, headers


def record_attempt(session: Session, claimed: Claimed, result: Result) -> datetime | None:
    """Append the attempt and move the delivery and the endpoint on. Returns when to retry (None:
    no retry, the delivery succeeded or failed for good).

    If the delivery was re-armed (a resend) while this attempt was in flight, the newer cycle owns
    it: only the attempt is logged.
    """
    now = utcnow()
    session.execute(insert(WebhookAttempt).values(
        id=uuid.uuid4(), client_id=claimed.client_id, delivery_id=claimed.id, endpoint_id=claimed.endpoint_id,
        attempt=claimed.attempts, cycle=claimed.cycle, at=now, succeeded=result.ok, status_code=result.status_code,
        latency_ms=result.latency_ms, response_body=result.body, error=result.error))
    values: dict[str, Any] = {"last_status_code": result.status_code, "last_attempt_at": now}
    retry_at = None
    if result.ok:
        values.update(status=DeliveryStatus.succeeded, next_attempt_at=None, last_error=None)
        _endpoint_succeeded(session, claimed)
    else:
        error = result.error or f"HTTP {result.status_code}"
        values["last_error"] = error
        retry_at = next_attempt_time(claimed.id, claimed.cycle, claimed.cycle_attempts, claimed.cycle_started_at, now)
        still_enabled = _endpoint_failed(session, claimed, now, error)
        if retry_at is None or not still_enabled:
            retry_at = None
            values.update(status=DeliveryStatus.failed, next_attempt_at=None)
            if still_enabled:
                _execute(session, update(WebhookEndpoint).where(WebhookEndpoint.id == claimed.endpoint_id,
                                                                WebhookEndpoint.flagged_at.is_(None))
                         .values(flagged_at=now))
        else:
            values["next_attempt_at"] = retry_at
    owned = session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == claimed.id, WebhookDelivery.cycle == claimed.cycle)
        .values(**values).returning(WebhookDelivery.id).execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return retry_at if owned is not None else None


def _execute(session: Session, statement) -> None:
    session.execute(statement.execution_options(synchronize_session=False))


def _endpoint_succeeded(session: Session, claimed: Claimed) -> None:
    # Write only when the health changes: a busy endpoint's deliveries must not queue on its row.
    if claimed.failing_since is None and claimed.flagged_at is None and claimed.disabled_at is None:
        return
    _execute(session, update(WebhookEndpoint).where(WebhookEndpoint.id == claimed.endpoint_id)
             .values(failing_since=None, flagged_at=None, disabled_at=None, disabled_reason=None))


def _endpoint_failed(session: Session, claimed: Claimed, now: datetime, error: str) -> bool:
    """Keep the endpoint's failure clock; disable it after 3 days of failure. Returns whether it is
    still enabled."""
    endpoint_id = claimed.endpoint_id
    if claimed.disabled_at is not None:
        # Re-enabled by an admin since we disabled it: its 3 days start again now.
        _execute(session, update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
                 .values(disabled_at=None, disabled_reason=None, failing_since=now))
        return True
    if claimed.failing_since is None:
        _execute(session, update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                                        WebhookEndpoint.failing_since.is_(None))
                 .values(failing_since=now))
        return True
    if now - claimed.failing_since < DISABLE_AFTER:
        return True
    # Lock and look again: two workers failing at once must disable (and e-mail) once.
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=True, populate_existing=True)
    if endpoint is None or not endpoint.enabled:
        return False
    if endpoint.failing_since is None or now - endpoint.failing_since < DISABLE_AFTER:
        return True
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = (f"Every delivery failed for 3 days (since {endpoint.failing_since:%Y-%m-%d %H:%M} "
                                f"UTC); last error: {error}")[:200]
    endpoint.flagged_at = endpoint.flagged_at or now
    session.flush()
    # What still waits for this endpoint fails now (its scheduled retries become no-ops); the
    # client admin can replay it once the endpoint works again.
    _execute(session, update(WebhookDelivery)
             .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == DeliveryStatus.pending,
                    WebhookDelivery.id != claimed.id)
             .values(status=DeliveryStatus.failed, next_attempt_at=None, last_error="endpoint disabled"))
    record(session, Actor.system("webhooks"), "webhook.auto_disable", client_id=endpoint.client_id,
           target_type="webhook_endpoint", target_id=endpoint.id,
           after={"enabled": False, "failing_since": endpoint.failing_since.isoformat()})
    outbox.enqueue_job(session, NOTIFY_DISABLED, queue="events", args=[str(endpoint.id)],
                       job_id=f"webhook-disabled-{endpoint.id}-{int(now.timestamp())}", client_id=endpoint.client_id)
    return False


# --- The transport --------------------------------------------------------------------------------

class BlockedAddress(Exception):
    """The endpoint's host resolves to an address we do not call (private, loopback, link-local…)."""


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global also excludes shared (carrier-grade NAT), documentation and benchmark ranges.
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                 or ip.is_reserved or ip.is_unspecified)


def resolve_checked(host: str, port: int, allow_private: bool) -> list[str]:
    """Every address of ``host``; refused when any of them is not public (unless allowed)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private:
        blocked = [a for a in addresses if not address_allowed(a)]
        if blocked:
            raise BlockedAddress(f"refused: {host} resolves to a non-public address ({blocked[0]})")
    return addresses


def _transport(allow_private: bool):
    """An httpx transport whose connections go only to addresses that passed the check, the check
    made at connect time on the very address used (no second DNS answer can slip in between)."""
    import httpcore
    import httpx

    class GuardedBackend(httpcore.SyncBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # noqa: ANN001
            addresses = resolve_checked(host, port, allow_private)
            error: Exception | None = None
            for address in addresses:
                try:
                    return super().connect_tcp(address, port, timeout, local_address, socket_options)
                except httpcore.ConnectError as exc:
                    error = exc
            raise error or httpcore.ConnectError(f"no address for {host}")

    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(  # the only way to hand httpx a network backend
        ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=50, max_keepalive_connections=20,
        keepalive_expiry=30, network_backend=GuardedBackend())
    return transport


_clients: dict[bool, Any] = {}


def http_client(allow_private: bool):
    """One keep-alive client per process (and per setting). No proxies from the environment: a
    proxy would connect on our behalf and bypass the address check."""
    import httpx

    if allow_private not in _clients:
        _clients[allow_private] = httpx.Client(transport=_transport(allow_private), follow_redirects=False,
                                               trust_env=False)
    return _clients[allow_private]


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float = TIMEOUT_SECONDS,
         allow_private: bool = False) -> Result:
    """POST once. Never raises for the network: the outcome is in the Result."""
    import httpx

    started = time.perf_counter()
    elapsed = lambda: int((time.perf_counter() - started) * 1000)  # noqa: E731
    try:
        with http_client(allow_private).stream("POST", url, content=body, headers=headers,
                                               timeout=httpx.Timeout(timeout)) as response:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= BODY_LIMIT or time.perf_counter() - started > timeout:
                    break
            text = b"".join(chunks)[:BODY_LIMIT].decode("utf-8", errors="replace").replace("\x00", "")
            result = Result(status_code=response.status_code, latency_ms=elapsed(), body=text)
            if response.is_redirect:
                result.error = f"redirect to {response.headers.get('location', '?')[:200]} not followed"
            return result
    except BlockedAddress as exc:
        return Result(latency_ms=elapsed(), error=str(exc))
    except httpx.TimeoutException:
        return Result(latency_ms=elapsed(), error=f"timeout after {timeout:g} s")
    except httpx.HTTPError as exc:
        return Result(latency_ms=elapsed(), error=f"{type(exc).__name__}: {exc}"[:500])
    except (OSError, ValueError) as exc:  # DNS failure, bad URL
        return Result(latency_ms=elapsed(), error=f"{type(exc).__name__}: {exc}"[:500])


# --- Client admin actions -------------------------------------------------------------------------

def get_delivery(session: Session, delivery_id: uuid.UUID, endpoint_id: uuid.UUID | None = None) -> WebhookDelivery:
    delivery = tenant.get_visible(session, WebhookDelivery, delivery_id)
    if delivery is None or (endpoint_id is not None and delivery.endpoint_id != endpoint_id):
        raise NotFound("delivery")
    return delivery


def _require_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise DomainError("endpoint_disabled", "Enable the endpoint first.")


def _rearm(session: Session, delivery: WebhookDelivery) -> None:
    """Start a new cycle now: one immediate attempt, retries as for a new delivery. A retry still
    scheduled for the previous cycle finds itself stale and does nothing."""
    delivery.cycle += 1
    delivery.cycle_attempts = 0
    delivery.cycle_started_at = None
    delivery.status = DeliveryStatus.pending
    delivery.next_attempt_at = utcnow()
    session.flush()
    _enqueue(session, delivery.id, delivery.client_id, delivery.attempts + 1, delivery.cycle)


def resend(session: Session, actor: Actor, delivery_id: uuid.UUID,
           endpoint_id: uuid.UUID | None = None) -> WebhookDelivery:
    """Send one delivery again now, whatever its status (the receiver deduplicates by event id)."""
    delivery = get_delivery(session, delivery_id, endpoint_id)
    endpoint = webhooks.get(session, delivery.endpoint_id)
    _require_enabled(endpoint)
    _rearm(session, delivery)
    record(session, actor, "webhook.resend", client_id=delivery.client_id, target_type="webhook_delivery",
           target_id=delivery.id, after={"event_id": delivery.event_id, "cycle": delivery.cycle})
    return delivery


def replay(session: Session, actor: Actor, endpoint_id: uuid.UUID, start: datetime, end: datetime) -> int:
    """Send again every event of the tenant recorded in [start, end) that the endpoint subscribes
    to: a new delivery for events it never had, a new cycle for the others. Returns how many."""
    endpoint = webhooks.get(session, endpoint_id)
    _require_enabled(endpoint)
    if end <= start:
        raise DomainError("invalid_range", "The end must be after the start.", "end")
    messages = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == OutboxKind.event, OutboxMessage.client_id == endpoint.client_id,
               OutboxMessage.event_type.in_(list(endpoint.events)),
               OutboxMessage.created_at >= start, OutboxMessage.created_at < end)
        .order_by(OutboxMessage.created_at).limit(MAX_REPLAY + 1)
    ).all()
    if len(messages) > MAX_REPLAY:
        raise DomainError("range_too_large", f"That range holds more than {MAX_REPLAY} events; choose a shorter one.",
                          "start")
    existing = {d.event_id: d for d in session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id,
                                      WebhookDelivery.event_id.in_([event_id_for(m.id) for m in messages])))}
    for message in messages:
        delivery = existing.get(event_id_for(message.id))
        if delivery is not None:
            _rearm(session, delivery)
            continue
        delivery_id = _insert_delivery(session, endpoint.id, endpoint.client_id, outbox_id=message.id,
                                       event_id=event_id_for(message.id), event_type=message.event_type or "",
                                       created=message.created_at, data=message.payload or {})
        if delivery_id is not None:
            _enqueue(session, delivery_id, endpoint.client_id, 1, 0)
    record(session, actor, "webhook.replay", client_id=endpoint.client_id, target_type="webhook_endpoint",
           target_id=endpoint.id, after={"start": start.isoformat(), "end": end.isoformat(), "events": len(messages)})
    return len(messages)


def send_test(session: Session, actor: Actor, endpoint_id: uuid.UUID) -> WebhookDelivery:
    """A ``caas.test`` event to this endpoint only, delivered (and retried) like any other."""
    endpoint = webhooks.get(session, endpoint_id)
    _require_enabled(endpoint)
    now = utcnow()
    event_id = f"evt_{uuid.uuid4().hex}"
    data = {"object": "test", "message": "A test event from CaaS: your endpoint is reachable and verifies "
                                         "signatures.", "endpoint_id": str(endpoint.id), "updated_at": now.isoformat()}
    delivery_id = _insert_delivery(session, endpoint.id, endpoint.client_id, outbox_id=None, event_id=event_id,
                                   event_type=TEST_EVENT, created=now, data=data)
    _enqueue(session, delivery_id, endpoint.client_id, 1, 0)
    record(session, actor, "webhook.test", client_id=endpoint.client_id, target_type="webhook_endpoint",
           target_id=endpoint.id, after={"event_id": event_id})
    return get_delivery(session, delivery_id)


# --- The log --------------------------------------------------------------------------------------

@dataclass
class LogFilters:
    status: str = ""
    event_type: str = ""
    date_from: date | None = None
    date_to: date | None = None


def list_deliveries(session: Session, endpoint_id: uuid.UUID, filters: LogFilters, *, before: str | None = None,
                    limit: int = 50) -> tuple[list[WebhookDelivery], str | None]:
    """Newest first, keyset-paginated on (created_at, id); ``before`` is the cursor of the last page."""
    query = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
             .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit + 1))
    if filters.status in {s.value for s in DeliveryStatus}:
        query = query.where(WebhookDelivery.status == DeliveryStatus(filters.status))
    if filters.event_type:
        query = query.where(WebhookDelivery.event_type == filters.event_type)
    if filters.date_from:
        query = query.where(WebhookDelivery.created_at >= datetime.combine(filters.date_from, datetime.min.time(),
                                                                           timezone.utc))
    if filters.date_to:
        query = query.where(WebhookDelivery.created_at < datetime.combine(filters.date_to + timedelta(days=1),
                                                                          datetime.min.time(), timezone.utc))
    if before:
        try:
            at, _, ident = before.partition("|")
            query = query.where(tuple_(WebhookDelivery.created_at, WebhookDelivery.id)
                                < tuple_(datetime.fromisoformat(at), uuid.UUID(ident)))
        except ValueError:
            pass  # a mangled cursor shows the first page
    rows = list(session.scalars(query))
    cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        cursor = f"{last.created_at.isoformat()}|{last.id}"
    return rows[:limit], cursor


def attempts_of(session: Session, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    return list(session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                                .order_by(WebhookAttempt.attempt)))


def stalled(session: Session, *, older_than: timedelta = timedelta(minutes=2),
            limit: int = 500) -> list[WebhookDelivery]:
    """Pending deliveries whose next attempt is overdue (a lost job, a worker that died mid-attempt).
    Read across tenants by the caller (all-tenants mode)."""
    return list(session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == DeliveryStatus.pending,
               WebhookDelivery.next_attempt_at < utcnow() - older_than)
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)))
