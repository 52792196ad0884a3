"""Borrower profiles, consents, documents, applications and their history; stored
API responses for idempotency. Every table here is tenant-owned (client_id, FORCE RLS)."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (BigInteger, Boolean, Date, DateTime, Enum, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint, Uuid, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caas.core.extensions import db
from caas.core.models import IdMixin, TenantMixin, TimestampMixin, utcnow_column


class ApplicationStatus(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"
    screening = "screening"
    referred = "referred"
    approved = "approved"
    declined = "declined"
    open_for_offers = "open_for_offers"
    offer_accepted = "offer_accepted"
    disbursing = "disbursing"
    active = "active"
    closed = "closed"
    withdrawn = "withdrawn"
    expired = "expired"
    scoring_failed = "scoring_failed"


class BorrowerProfile(TenantMixin, TimestampMixin, db.Model):
    """KYC data of one borrower. Amounts are monthly, in minor units of ``currency``."""

    __tablename__ = "borrower_profiles"
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(400))
    country: Mapped[str] = mapped_column(String(2))
    national_id: Mapped[str] = mapped_column(String(40))
    employment_status: Mapped[str] = mapped_column(String(20))
    employer: Mapped[str | None] = mapped_column(String(200))
    months_employed: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    monthly_net_income_minor: Mapped[int] = mapped_column(BigInteger)
    monthly_expenses_minor: Mapped[int] = mapped_column(BigInteger)
    existing_debt_payments_minor: Mapped[int] = mapped_column(BigInteger)
    housing: Mapped[str] = mapped_column(String(10))


class Consent(IdMixin, TenantMixin, db.Model):
    __tablename__ = "consents"
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # data_processing | credit_check
    text_version: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[datetime] = utcnow_column()
    ip_address: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Document(IdMixin, TenantMixin, db.Model):
    __tablename__ = "documents"
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # identity | proof_of_income | bank_statement
    content_type: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(300))
    original_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = utcnow_column()


class Application(IdMixin, TenantMixin, TimestampMixin, db.Model):
    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_client_created", "client_id", "created_at", "id"),)
    borrower_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(Enum(ApplicationStatus, name="application_status"),
                                                      default=ApplicationStatus.draft, index=True)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    term_months: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str | None] = mapped_column(String(200))
    income_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    indicative_instalment_minor: Mapped[int | None] = mapped_column(BigInteger)
    indicative_apr: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    channel: Mapped[str] = mapped_column(String(10), default="portal")  # portal | api
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reasons: Mapped[list[Any] | None] = mapped_column(JSONB)
    borrower = relationship("User", lazy="joined")
    history = relationship("ApplicationEvent", order_by="ApplicationEvent.at", lazy="selectin")


class ApplicationEvent(IdMixin, TenantMixin, db.Model):
    """One step of an application's timeline; written with every status change."""

    __tablename__ = "application_events"
    __table_args__ = {"comment": "append-only: application timeline"}
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("applications.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = utcnow_column()


class IdempotentResponse(IdMixin, TenantMixin, db.Model):
    """The first response to a POST with an Idempotency-Key, replayed for 24 hours."""

    __tablename__ = "idempotent_responses"
    __table_args__ = (UniqueConstraint("client_id", "api_key_id", "key", name="uq_idempotent_responses_key"),)
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # NULL while the first request is in flight
    body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = utcnow_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=text("now() + interval '24 hours'"))


class Notification(IdMixin, db.Model):
    """An in-app notice to one user of any role. Borrowers' and client admins' notices belong to
    their tenant; platform admins' have no tenant (client_id NULL, row-level security as for users).
    Provider users read their provider's notices (``caas.market.models.ProviderNotification``)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", postgresql_where=text("read_at IS NULL")),)
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="RESTRICT"),
                                                        index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    text: Mapped[str] = mapped_column(String(400))
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = utcnow_column()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CreditDecision(IdMixin, TenantMixin, db.Model):
    """The immutable record of one decision: what went in, which model and list, what came out."""

    __tablename__ = "credit_decisions"
    __table_args__ = (UniqueConstraint("application_id", "model_version", name="uq_credit_decisions_app_model"),
                      {"comment": "append-only: credit decisions"})
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("applications.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(10))  # approve | decline | refer
    model_version: Mapped[str] = mapped_column(String(40))
    sanctions_list_sha256: Mapped[str | None] = mapped_column(String(64))
    pd: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    score: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[str | None] = mapped_column(String(1))
    reasons: Mapped[list[Any]] = mapped_column(JSONB)
    rule_results: Mapped[list[Any]] = mapped_column(JSONB)
    screening_hits: Mapped[list[Any]] = mapped_column(JSONB)
    kyc_results: Mapped[list[Any]] = mapped_column(JSONB)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    decided_at: Mapped[datetime] = utcnow_column()


class ReferralReview(IdMixin, TenantMixin, db.Model):
    """A person's decision on a referred application, with the note they wrote."""

    __tablename__ = "referral_reviews"
    __table_args__ = {"comment": "append-only: referral reviews"}
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("applications.id"), index=True)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    outcome: Mapped[str] = mapped_column(String(10))  # approve | decline
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = utcnow_column()


class ScoringModel(IdMixin, db.Model):
    """A trained scorecard, versioned by the hash of its content, with its training metrics.
    Platform data: every tenant is scored by the active model."""

    __tablename__ = "scoring_models"
    __table_args__ = (Index("uq_scoring_models_one_active", "active", unique=True, postgresql_where=text("active")),)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    artifact: Mapped[dict[str, Any]] = mapped_column(JSONB)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = utcnow_column()
