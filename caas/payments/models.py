"""Borrowers' bank accounts, payouts with their state history and gateway calls, and inbound
gateway events (deduplicated by the gateway's event id)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Enum, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caas.core.extensions import db
from caas.core.models import IdMixin, TenantMixin, TimestampMixin, utcnow_column
from caas.payments.states import PayoutState


class BankAccount(IdMixin, TenantMixin, TimestampMixin, db.Model):
    """Where a borrower's payout goes. One per borrower and currency (the latest replaces it)."""

    __tablename__ = "bank_accounts"
    __table_args__ = (UniqueConstraint("user_id", "currency", name="uq_bank_accounts_user_currency"),)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    bank_code: Mapped[str] = mapped_column(String(20))
    account_number: Mapped[str] = mapped_column(String(34))
    account_name: Mapped[str] = mapped_column(String(200))


class Payout(IdMixin, TenantMixin, TimestampMixin, db.Model):
    """One loan's disbursement. ``reference`` is the current attempt's gateway reference and its
    idempotency key there; a retry after a definite failure is a new attempt with a new reference."""

    __tablename__ = "payouts"
    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loans.id"), unique=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("providers.id"), index=True)
    status: Mapped[PayoutState] = mapped_column(Enum(PayoutState, name="payout_state"), default=PayoutState.pending,
                                                index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # what the borrower receives: principal - fee
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    gateway: Mapped[str | None] = mapped_column(String(32))
    gateway_id: Mapped[str | None] = mapped_column(String(100))
    recipient: Mapped[dict[str, Any]] = mapped_column(JSONB)
    routing: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    mismatch: Mapped[str | None] = mapped_column(Text)  # set by reconciliation when the gateway disagrees
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    history = relationship("PayoutEvent", order_by="PayoutEvent.at", lazy="selectin")


class PayoutEvent(IdMixin, TenantMixin, db.Model):
    __tablename__ = "payout_events"
    __table_args__ = {"comment": "append-only: payout state history"}
    payout_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payouts.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = utcnow_column()


class PayoutCall(IdMixin, TenantMixin, db.Model):
    """One call to a gateway for a payout, with what it answered (secrets never stored)."""

    __tablename__ = "payout_calls"
    __table_args__ = {"comment": "append-only: gateway calls of payouts"}
    payout_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payouts.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(20))  # initiate | verify | webhook | reconcile
    reference: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime] = utcnow_column()


class GatewayEvent(IdMixin, db.Model):
    """An inbound gateway webhook, once per (gateway, event id). Platform data: no tenant."""

    __tablename__ = "gateway_events"
    __table_args__ = (UniqueConstraint("gateway", "event_key", name="uq_gateway_events_key"),)
    gateway: Mapped[str] = mapped_column(String(32))
    event_key: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(80))
    reference: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = utcnow_column()
