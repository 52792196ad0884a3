"""Notifications: who hears of an event, rendered once, sent by a job (e-mail, SMS) or shown in-app.

The flow:
1. A domain event is committed in the outbox; ``caas.events.jobs.dispatch_event`` fans it out to the
   tenant's webhooks and calls ``route`` with it. Callers without a domain event (billing's quota
   warnings, the endpoint-disabled job, referrals) call ``send``, which queues ``route`` as a job in
   their own transaction: a rollback sends nothing.
2. ``route`` looks the event type up in ``catalogue.ROUTES``, builds the template context from the
   event's data, resolves the people, applies a borrower's preferences, renders the subject and both
   e-mail parts (and the SMS text and in-app notice) and writes one ``NotificationMessage`` per
   (event, person, channel) with ON CONFLICT DO NOTHING. Only a row it really inserted gets a send
   job (through the outbox) or an in-app notice, so routing an event twice adds nothing.
3. ``caas.events.jobs.send_notification`` claims the row (pending → sending, committed), sends it,
   and marks it sent: running the job twice sends once. A failure puts it back to pending for RQ's
   retry; after ``MAX_ATTEMPTS`` it is failed.

Rows belong to the recipient's tenant; platform admins' and provider users' rows have none (see
``acting_for``). Operations flush and never commit.
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import jinja2
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from caas.core import tenant
from caas.credit import notifications as in_app
from caas.credit.models import Application
from caas.events import mail, outbox, preferences, sms
from caas.events.catalogue import EMAIL, IN_APP, ROUTES, SMS, TEMPLATES, Template
from caas.events.models import NotificationMessage
from caas.market.models import Bid, BidStatus
from caas.money import describe, to_minor
from caas.tenancy.models import Client, Role, Status, User

log = logging.getLogger(__name__)

ROUTE_JOB = "caas.events.jobs.route_notification"
SEND_JOB = "caas.events.jobs.send_notification"
JOB_TIMEOUT = 60
LEASE = timedelta(minutes=10)  # a claimed message whose worker died is sent again after this
MAX_ATTEMPTS = 4  # the first try and RQ's three retries


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@contextmanager
def acting_for(session: Session, client_id: uuid.UUID | None) -> Iterator[None]:
    """Act as the owner of a recipient's rows: their tenant, or no tenant at all for platform admins
    and provider users (whose users, notices and messages have client_id NULL)."""
    previous = tenant.current()
    tenant.set_tenant(client_id, session)
    try:
        yield
        session.flush()  # what was added in this scope is written under it, not under the next one
    finally:
        tenant.set_tenant(previous.client_id, session, all_tenants=previous.all_tenants,
                          provider_id=previous.provider_id)


# --- Entry point for callers without a domain event ------------------------------------------------

def send(session: Session, event_type: str, *, client_id: uuid.UUID | None, data: dict[str, Any],
         key: str | None = None) -> str:
    """Tell the people ``catalogue.ROUTES[event_type]`` names, after the caller's commit.

    ``data`` (JSON) is the template context; ``key`` makes the send idempotent: the same
    (event type, key) never reaches a person twice on a channel, however often it is called (e.g.
    ``f"{client_id}-2026-11-80"`` for an 80% quota warning in November). Without a key each call
    is a new message. Returns the event id the messages are logged under.

    Billing: ``send(session, "quota.warning", client_id=…, data={"quota": "applications this
    month", "used": 80, "limit": 100, "percent": 80, "period": "in November 2026"}, key=…)``. An
    issued invoice is announced by recording the domain event ``billing.invoice.issued`` (webhooks
    get it too) with ``{"id", "number", "total_minor", "currency", "due_date", "period", "path"}``;
    do not also call ``send`` for it.
    """
    if event_type not in ROUTES:
        raise ValueError(f"no route for {event_type!r}; add it to caas.events.catalogue.ROUTES")
    json.dumps(data)  # refuse now what could not reach the job
    event_id = f"{event_type}/{key or uuid.uuid4().hex}"
    if len(event_id) > 160:
        raise ValueError("the key is too long (the event id is at most 160 characters)")
    job_id = "notify-" + hashlib.sha256(event_id.encode()).hexdigest()[:40]
    with acting_for(session, client_id):  # the outbox row belongs to the event's tenant
        outbox.enqueue_job(session, ROUTE_JOB, queue="events", args=[event_type, event_id], kwargs={"data": data},
                           job_id=job_id, client_id=client_id, timeout=JOB_TIMEOUT)
    return event_id


# --- Template context from an event's data ---------------------------------------------------------

def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _load(session: Session, model, value: Any):
    ident = _uuid(value)
    return tenant.get_visible(session, model, ident) if ident is not None else None


def _application_ctx(session: Session, event_type: str, data: dict) -> dict | None:
    application = _load(session, Application, data.get("application_id") or data.get("id"))
    if application is None:
        return None
    return {"application": application, "borrower_id": application.borrower_id,
            "approved": event_type == "credit.application.approved",
            "reasons": [r.get("text") or r.get("code") for r in application.decision_reasons or []
                        if isinstance(r, dict)],
            "ref": str(application.id)[:8], "why": data.get("why") or "a person must look at it"}


def _offer_ctx(session: Session, event_type: str, data: dict) -> dict | None:
    bid = _load(session, Bid, data.get("id"))
    if bid is None:
        return None
    application = session.get(Application, bid.application_id)
    return {"offer": bid, "application": application, "borrower_id": application.borrower_id}


def _accepted_ctx(session: Session, event_type: str, data: dict) -> dict | None:
    from caas.loans.models import Loan

    bid = _load(session, Bid, data.get("id"))
    loan = _load(session, Loan, data.get("loan_id"))
    if bid is None or loan is None:
        return None
    lost = session.scalars(select(Bid).where(Bid.listing_id == bid.listing_id, Bid.status == BidStatus.rejected)
                           .order_by(Bid.created_at)).all()
    return {"bid": bid, "loan": loan, "lost_bids": list(lost), "loan_ref": str(loan.id)[:8]}


def _disbursement_ctx(session: Session, event_type: str, data: dict) -> dict | None:
    from caas.loans.models import Loan
    from caas.payments.models import Payout

    payout = _load(session, Payout, data.get("id"))
    loan = _load(session, Loan, (data.get("loan") or {}).get("id") or data.get("loan_id"))
    if payout is None or loan is None:
        return None
    return {"payout": payout, "loan": loan, "borrower_id": loan.borrower_id,
            "first_due": min((i.due_date for i in loan.installments), default=None)}


def _instalment_ctx(session: Session, event_type: str, data: dict) -> dict | None:
    """credit.repayment.due / .missed: the amount as it stood when the daily job ran."""
    from caas.loans.models import Loan

    loan = _load(session, Loan, data.get("loan_id"))
    if loan is None:
        return None
    currency = data.get("currency") or loan.currency
    try:
        amount_minor = to_minor(str(data.get("amount")), currency)
        due_date = date.fromisoformat(str(data.get("due_date")))
    except (ValueError, ArithmeticError):
        return None
    return {"loan": loan, "borrower_id": loan.borrower_id, "instalment": data.get("instalment"),
            "amount_minor": amount_minor, "currency": currency, "due_date": due_date}


def _repayment_ctx(session: Session, event_type: str, data: dict) -> dict | None:
    from caas.loans.models import Loan, Repayment

    repayment = _load(session, Repayment, data.get("id"))
    if repayment is None:
        return None
    loan = session.get(Loan, repayment.loan_id)
    outstanding = sum(i.total_minor + i.fees_minor - i.paid_minor for i in loan.installments)
    return {"repayment": repayment, "loan": loan, "borrower_id": loan.borrower_id, "loan_ref": str(loan.id)[:8],
            "outstanding_minor": max(outstanding, 0)}


CONTEXTS: dict[str, Callable[[Session, str, dict], dict | None]] = {
    "credit.application.submitted": _application_ctx,
    "credit.application.approved": _application_ctx,
    "credit.application.declined": _application_ctx,
    "credit.application.referred": _application_ctx,
    "credit.offer.received": _offer_ctx,
    "credit.offer.accepted": _accepted_ctx,
    "credit.disbursement.completed": _disbursement_ctx,
    "credit.repayment.due": _instalment_ctx,
    "credit.repayment.missed": _instalment_ctx,
    "credit.repayment.received": _repayment_ctx,
    "billing.invoice.issued": lambda session, event_type, data: {"invoice": dict(data)},
    # quota.warning, webhook.endpoint.disabled: the data is the context
}


# --- Recipients --------------------------------------------------------------------------------------

Recipients = list[tuple[User, dict]]


def _active(users) -> Recipients:
    return [(u, {}) for u in users if u.status == Status.active]


def _borrower(session: Session, client_id, ctx: dict) -> Recipients:
    user = _load(session, User, ctx.get("borrower_id"))
    return _active([user]) if user is not None and user.role == Role.borrower else []


def _client_admins(session: Session, client_id, ctx: dict) -> Recipients:
    if client_id is None:
        return []
    return _active(session.scalars(select(User).where(User.client_id == client_id, User.role == Role.client_admin)
                                   .order_by(User.created_at)))


def _platform_admins(session: Session, client_id, ctx: dict) -> Recipients:
    with acting_for(session, None):
        return _active(session.scalars(select(User).where(User.role == Role.platform_admin)
                                       .order_by(User.created_at)).all())


def provider_users(session: Session, provider_id: uuid.UUID) -> list[User]:
    with acting_for(session, None):  # provider users belong to no tenant
        return list(session.scalars(select(User).where(User.provider_id == provider_id,
                                                       User.role == Role.provider_user,
                                                       User.status == Status.active)
                                    .order_by(User.created_at)).all())


def _winning_provider(session: Session, client_id, ctx: dict) -> Recipients:
    return [(u, {}) for u in provider_users(session, ctx["bid"].provider_id)]


def _losing_providers(session: Session, client_id, ctx: dict) -> Recipients:
    return [(u, {"bid": bid}) for bid in ctx.get("lost_bids", []) for u in provider_users(session, bid.provider_id)]


def _loan_provider(session: Session, client_id, ctx: dict) -> Recipients:
    return [(u, {}) for u in provider_users(session, ctx["loan"].provider_id)]


RECIPIENTS: dict[str, Callable[[Session, uuid.UUID | None, dict], Recipients]] = {
    "borrower": _borrower, "client_admins": _client_admins, "platform_admins": _platform_admins,
    "winning_provider": _winning_provider, "losing_providers": _losing_providers, "loan_provider": _loan_provider,
}


# --- Rendering ----------------------------------------------------------------------------------------

def money(minor: Any, currency: Any) -> str:
    if minor is None or not currency or isinstance(minor, jinja2.Undefined):
        return "—"
    return describe(int(minor), str(currency))


def day(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value.strftime("%d %b %Y") if isinstance(value, (date, datetime)) else ""


_environments: dict[int, jinja2.Environment] = {}


def environment() -> jinja2.Environment:
    """Jinja for messages: the app's template folder, HTML escaped in .html files only (subjects,
    texts and SMS are plain text), and the filters money and day."""
    from flask import current_app

    env = _environments.get(id(current_app))
    if env is None:
        env = jinja2.Environment(loader=current_app.jinja_loader,
                                 autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
                                 trim_blocks=True, lstrip_blocks=True)
        env.filters.update(money=money, day=day)
        _environments[id(current_app)] = env
    return env


def render_string(source: str, context: dict) -> str:
    return environment().from_string(source).render(context).strip()


@dataclass
class Rendered:
    subject: str
    text: str
    html: str


def render_email(template: Template, context: dict) -> Rendered:
    env = environment()
    return Rendered(subject=" ".join(render_string(template.subject, context).split())[:300],
                    text=env.get_template(f"email/notifications/{template.key}.txt").render(context),
                    html=env.get_template(f"email/notifications/{template.key}.html").render(context))


# --- Routing --------------------------------------------------------------------------------------------

def route(session: Session, event_type: str, event_id: str, client_id: uuid.UUID | None,
          data: dict | None) -> int:
    """Queue the messages of one event (under the event's tenant). Returns how many were new.

    Idempotent per (event id, person, channel). An event whose objects cannot be found (malformed
    data, a test event) tells nobody.
    """
    routes = ROUTES.get(event_type)
    if not routes:
        return 0
    data = data or {}
    builder = CONTEXTS.get(event_type)
    context = builder(session, event_type, data) if builder else dict(data)
    if context is None:
        log.info("notification context not found", extra={"event_type": event_type, "event_id": event_id})
        return 0
    context["client"] = session.get(Client, client_id) if client_id else None
    created = 0
    for r in routes:
        template = TEMPLATES[r.template]
        for user, extra in RECIPIENTS[r.recipients](session, client_id, context):
            created += _queue_for(session, event_id, event_type, template, r.channels, user, {**context, **extra})
    session.flush()
    return created


def _queue_for(session: Session, event_id: str, event_type: str, template: Template, channels: tuple[str, ...],
               user: User, context: dict) -> int:
    from flask import current_app

    borrower = user.role == Role.borrower
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    portal = f"{base}/c/{user.client.slug}" if borrower else base
    full = {**context, "user": user, "template": template, "base_url": base, "portal_url": portal,
            "preferences_url": f"{portal}/notifications/preferences" if borrower else None}
    path = render_string(template.link, full) if template.link else None
    full["url"] = portal + (path or "/")
    choice = preferences.get(session, user.id) if borrower else None
    made = 0
    with acting_for(session, user.client_id):
        log_row = dict(event_id=event_id, event_type=event_type, template=template.key, user=user)
        if EMAIL in channels and template.email and not preferences.opted_out(choice, template):
            message = render_email(template, full)
            made += _log(session, channel=EMAIL, to=user.email, subject=message.subject, text=message.text,
                         html=message.html, **log_row) is not None
        if SMS in channels and template.sms and borrower:
            phone = preferences.sms_number(session, user.id, choice)
            if phone:
                made += _log(session, channel=SMS, to=phone, text=render_string(template.sms, full)[:480],
                             **log_row) is not None
        if IN_APP in channels and template.notice:
            text = render_string(template.notice, full)[:400]
            if _log(session, channel=IN_APP, to=str(user.id), text=text, sent=True, **log_row) is not None:
                in_app.notify(session, user.client_id, user.id, text, link=path)
                made += 1
    return made


def _log(session: Session, *, event_id: str, event_type: str, template: str, channel: str, user: User, to: str,
         text: str, subject: str | None = None, html: str | None = None, sent: bool = False) -> uuid.UUID | None:
    """The sent-log row, unless (event, person, channel) has one; a new e-mail or SMS gets its job."""
    now = utcnow()
    row_id = session.execute(
        insert(NotificationMessage).values(
            id=uuid.uuid4(), client_id=user.client_id, event_id=event_id, event_type=event_type, template=template,
            channel=channel, user_id=user.id, to_address=to[:254], subject=subject, text_body=text, html_body=html,
            status="sent" if sent else "pending", attempts=0, sent_at=now if sent else None, created_at=now)
        .on_conflict_do_nothing(constraint="uq_notification_messages_event_user_channel")
        .returning(NotificationMessage.id)
    ).scalar_one_or_none()
    if row_id is not None and not sent:
        outbox.enqueue_job(session, SEND_JOB, queue="events", args=[str(row_id)], job_id=f"notification-{row_id}",
                           client_id=user.client_id, timeout=JOB_TIMEOUT)
    return row_id


def route_message(session: Session, message) -> int:
    """Route a domain event from the outbox (its id on the wire is the message's ``evt_…``)."""
    from caas.events.deliveries import event_id_for

    if message.client_id is None or not message.event_type:
        return 0
    return route(session, message.event_type, event_id_for(message.id), message.client_id, message.payload)


# --- Sending ----------------------------------------------------------------------------------------------

@dataclass
class Claimed:
    id: uuid.UUID
    client_id: uuid.UUID | None
    channel: str
    to_address: str
    subject: str | None
    text_body: str
    html_body: str | None
    attempts: int


def claim(session: Session, message_id: uuid.UUID) -> Claimed | None:
    """Take a pending e-mail or SMS for sending (or one whose sender died a LEASE ago). None when
    it is sent, failed, or being sent: the caller sends nothing. Commit before sending."""
    now = utcnow()
    row = session.execute(
        update(NotificationMessage)
        .where(NotificationMessage.id == message_id, NotificationMessage.channel != IN_APP,
               or_(NotificationMessage.status == "pending",
                   and_(NotificationMessage.status == "sending", NotificationMessage.claimed_at < now - LEASE)))
        .values(status="sending", attempts=NotificationMessage.attempts + 1, claimed_at=now)
        .returning(NotificationMessage.id, NotificationMessage.client_id, NotificationMessage.channel,
                   NotificationMessage.to_address, NotificationMessage.subject, NotificationMessage.text_body,
                   NotificationMessage.html_body, NotificationMessage.attempts)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return Claimed(**row._asdict()) if row is not None else None


def transmit(session: Session, claimed: Claimed) -> str:
    """Send a claimed message; returns the Message-ID or the SMS gateway's id. Raises on failure."""
    if claimed.channel == EMAIL:
        return mail.send(claimed.to_address, claimed.subject or "", claimed.text_body, claimed.html_body)
    if claimed.channel == SMS:
        return sms.gateway().send(session, to=claimed.to_address, body=claimed.text_body,
                                  client_id=claimed.client_id, reference=str(claimed.id))
    raise ValueError(f"nothing to transmit on {claimed.channel}")


def mark_sent(session: Session, claimed: Claimed, external_id: str) -> None:
    session.execute(update(NotificationMessage).where(NotificationMessage.id == claimed.id)
                    .values(status="sent", sent_at=utcnow(), external_id=external_id[:200], last_error=None)
                    .execution_options(synchronize_session=False))


def mark_failed(session: Session, claimed: Claimed, error: str) -> str:
    """Back to pending for the next retry, or failed for good after MAX_ATTEMPTS. Returns the status."""
    status = "failed" if claimed.attempts >= MAX_ATTEMPTS else "pending"
    session.execute(update(NotificationMessage).where(NotificationMessage.id == claimed.id)
                    .values(status=status, last_error=error[:2000])
                    .execution_options(synchronize_session=False))
    return status


def status_of(session: Session, message_id: uuid.UUID) -> str:
    row = tenant.get_visible(session, NotificationMessage, message_id)
    return row.status if row is not None else "missing"
