"""The outbox: one row per job to run or domain event to publish, written with the change."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (ARRAY, Boolean, CheckConstraint, DateTime, Enum, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, Uuid, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from caas.core.extensions import db
from caas.core.models import IdMixin, TenantMixin, utcnow_column


class OutboxKind(str, enum.Enum):
    job = "job"
    event = "event"


class OutboxMessage(IdMixin, db.Model):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "created_at", postgresql_where=text("sent_at IS NULL")),)

    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clients.id"), index=True)
    kind: Mapped[OutboxKind] = mapped_column(Enum(OutboxKind, name="outbox_kind"))
    queue: Mapped[str] = mapped_column(String(40))
    func: Mapped[str] = mapped_column(String(200))
    args: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    job_id: Mapped[str] = mapped_column(String(200))
    timeout: Mapped[int] = mapped_column(Integer, default=300)
    # A job to run later (RQ's scheduled registry, run by the worker's scheduler); NULL runs now.
    run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    event_type: Mapped[str | None] = mapped_column(String(80))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = utcnow_column()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookEndpoint(IdMixin, db.Model):
    """Where a client receives events. The signing secret is stored encrypted (it must be used to sign)."""

    __tablename__ = "webhook_endpoints"
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(80)))
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = utcnow_column()
    # Secret rotation: the replaced secret still signs for 24 h after rotated_at (migration 0200).
    previous_secret_ciphertext: Mapped[str | None] = mapped_column(Text)
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Health: set at the first failed attempt after a success, cleared by the next success.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when a delivery exhausts its retries; cleared by the next success.
    flagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(String(200))


class DeliveryStatus(str, enum.Enum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class WebhookDelivery(IdMixin, TenantMixin, db.Model):
    """One event for one endpoint. Attempts are claimed by bumping ``attempts`` (see
    caas.events.deliveries.claim); ``cycle`` grows on each manual resend so that a retry already
    scheduled for the previous cycle finds itself stale and does nothing."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("webhook_endpoints.id"))
    outbox_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # NULL for test events
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(80))
    event_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[DeliveryStatus] = mapped_column(Enum(DeliveryStatus, name="webhook_delivery_status"),
                                                   default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    cycle_attempts: Mapped[int] = mapped_column(Integer, default=0)  # attempts claimed in this cycle
    cycle_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = utcnow_column()


class WebhookAttempt(IdMixin, TenantMixin, db.Model):
    """One HTTP attempt of a delivery (append-only)."""

    __tablename__ = "webhook_delivery_attempts"
    __table_args__ = (
        UniqueConstraint("delivery_id", "attempt", name="uq_webhook_delivery_attempts_attempt"),
        Index("ix_webhook_delivery_attempts_endpoint_at", "endpoint_id", "at"),
        {"comment": "append-only: webhook delivery attempts"},
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("webhook_deliveries.id"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("webhook_endpoints.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)  # the first 2 KB, decoded leniently
    error: Mapped[str | None] = mapped_column(Text)


# --- Notifications (issue 11) -------------------------------------------------------------------------

class NotificationMessage(IdMixin, db.Model):
    """The sent-log: one message to one person on one channel (e-mail, SMS, in-app) for one event,
    rendered when the event was routed.

    Unique per (event, person, channel): routing an event again adds nothing. The sending job claims
    the row (pending → sending) before it sends and marks it sent after, so a second run of the job
    sends nothing. ``client_id`` is the recipient's tenant: NULL for platform admins and provider
    users, whose rows belong to no tenant (and stay out of every tenant's sight).
    """

    __tablename__ = "notification_messages"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", "channel", name="uq_notification_messages_event_user_channel"),
        CheckConstraint("channel IN ('email', 'sms', 'in_app')", name="channel"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
        Index("ix_notification_messages_user_created", "user_id", "created_at"),
    )

    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="RESTRICT"),
                                                        index=True)
    event_id: Mapped[str] = mapped_column(String(160))  # evt_… for domain events, "<type>/<key>" for notify.send
    event_type: Mapped[str] = mapped_column(String(80))
    template: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(String(254))  # e-mail address, phone number, or the user id (in-app)
    subject: Mapped[str | None] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    external_id: Mapped[str | None] = mapped_column(String(200))  # the Message-ID, or the SMS gateway's id
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = utcnow_column()


class NotificationPreference(TenantMixin, db.Model):
    """A borrower's choices: which optional e-mails they do not want (required ones cannot be
    turned off, see ``caas.events.catalogue``) and whether due reminders also come by SMS."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True)
    email_opt_outs: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    sms_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = utcnow_column()


class SmsMessage(IdMixin, TenantMixin, db.Model):
    """What the sandbox SMS gateway "sent": it records messages instead of sending them."""

    __tablename__ = "sms_messages"
    to_phone: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(100))  # the notification message it carries
    created_at: Mapped[datetime] = utcnow_column()
