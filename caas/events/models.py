"""The outbox: one row per job to run or domain event to publish, written with the change."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Boolean, DateTime, Enum, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from caas.core.extensions import db
from caas.core.models import IdMixin, utcnow_column


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
