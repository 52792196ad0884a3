"""Clients (tenants), providers and users."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

from decimal import Decimal

from sqlalchemy import (ARRAY, BigInteger, Boolean, CheckConstraint, DateTime, Enum, ForeignKey, Index, Integer,
                        Numeric, String, Uuid, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caas.core.extensions import db
from caas.core.models import IdMixin, TimestampMixin


class Role(str, enum.Enum):
    platform_admin = "platform_admin"
    client_admin = "client_admin"
    provider_user = "provider_user"
    borrower = "borrower"


class Status(str, enum.Enum):
    active = "active"
    suspended = "suspended"


class Tier(str, enum.Enum):
    starter = "starter"
    professional = "professional"
    enterprise = "enterprise"


class KeyMode(str, enum.Enum):
    sandbox = "sandbox"
    live = "live"


class Client(IdMixin, TimestampMixin, db.Model):
    """A tenant: a fintech or business offering credit to its own customers."""

    __tablename__ = "clients"
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    default_currency: Mapped[str] = mapped_column(String(3))
    brand_colour: Mapped[str] = mapped_column(String(7), default="#0d6efd")
    status: Mapped[Status] = mapped_column(Enum(Status, name="client_status"), default=Status.active)
    tier: Mapped[Tier] = mapped_column(Enum(Tier, name="client_tier"), default=Tier.starter)
    # Per-client overrides of the tier's quotas; NULL means "the tier's value".
    quota_api_calls_per_hour: Mapped[int | None] = mapped_column(Integer)
    quota_applications_per_month: Mapped[int | None] = mapped_column(Integer)
    # Billing: tax added to invoices (0.075 = 7.5%; 0 = none) and days until an invoice is due.
    billing_tax_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4), default=Decimal("0"), server_default="0")
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    enabled_services: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    logo_path: Mapped[str | None] = mapped_column(String(200))

    @property
    def is_active(self) -> bool:
        return self.status == Status.active


class CreditPolicy(db.Model):
    """A client's credit policy. Amounts are minor units of the client's default currency."""

    __tablename__ = "credit_policies"
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id"), primary_key=True)
    currencies: Mapped[list[str]] = mapped_column(ARRAY(String(3)))
    min_amount_minor: Mapped[int] = mapped_column(BigInteger)
    max_amount_minor: Mapped[int] = mapped_column(BigInteger)
    allowed_terms: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    max_debt_to_income: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    min_age: Mapped[int] = mapped_column(Integer)
    auto_decline_below_grade: Mapped[str] = mapped_column(String(1))
    bidding_window_hours: Mapped[int] = mapped_column(Integer)
    acceptance_window_hours: Mapped[int] = mapped_column(Integer, default=48, server_default="48")
    # servicing (the repayments issue): reminder lead time, one late fee per missed instalment,
    # when a loan enters collections, what happens to an overpayment
    reminder_days: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    late_fee_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    collections_days_past_due: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    write_off_days_past_due: Mapped[int] = mapped_column(Integer)
    # penalty interest a year on overdue principal, charged once per month of lateness (0 = off)
    penalty_annual_rate: Mapped[Decimal] = mapped_column(Numeric(7, 6), default=Decimal("0"), server_default="0")
    overpayment: Mapped[str] = mapped_column(String(12), default="refund", server_default="refund")  # | hold_credit
    reference_annual_rate: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    # scoring asks the identity provider (caas.credit.identity) to verify the BVN/NIN first
    require_identity_verification: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"),
                                                 onupdate=text("now()"))
    __table_args__ = (
        CheckConstraint("min_amount_minor > 0 AND max_amount_minor >= min_amount_minor", name="amount_range"),
        CheckConstraint("auto_decline_below_grade IN ('A','B','C','D','E')", name="grade"),
        CheckConstraint("penalty_annual_rate >= 0 AND penalty_annual_rate <= 5", name="penalty_rate"),
        CheckConstraint("overpayment IN ('refund', 'hold_credit')", name="overpayment"),
    )


class ProviderAccess(db.Model):
    """The client's provider network: which providers may see and bid on its applications."""

    __tablename__ = "client_providers"
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id"), primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("providers.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    # the platform's commission on the interest and fees the borrower pays on this network's loans
    commission_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.1000"),
                                                     server_default="0.1000")
    provider: Mapped["Provider"] = relationship(lazy="joined")


class ApiKey(IdMixin, db.Model):
    """An API key. The secret is shown once; only its SHA-256 is kept, with a visible prefix."""

    __tablename__ = "api_keys"
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    mode: Mapped[KeyMode] = mapped_column(Enum(KeyMode, name="api_key_mode"))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Invitation(IdMixin, db.Model):
    """A one-time link that lets an invited user set a password. Only the token's hash is stored."""

    __tablename__ = "invitations"
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clients.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(10), default="invite", server_default="invite")  # invite|reset|verify
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user: Mapped["User"] = relationship(lazy="joined")


class Provider(IdMixin, TimestampMixin, db.Model):
    """A licensed lender, shared across clients."""

    __tablename__ = "providers"
    legal_name: Mapped[str] = mapped_column(String(200), unique=True)
    licence_number: Mapped[str] = mapped_column(String(80))
    country: Mapped[str] = mapped_column(String(2))
    status: Mapped[Status] = mapped_column(Enum(Status, name="provider_status"), default=Status.active)
    currencies: Mapped[list[str]] = mapped_column(ARRAY(String(3)), default=list)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))

    @property
    def is_active(self) -> bool:
        return self.status == Status.active


class User(IdMixin, TimestampMixin, db.Model):
    """A person who logs in.

    Borrowers and client admins belong to a client (client_id set, row under RLS); platform admins
    and provider users belong to no client (client_id NULL). Borrower e-mails are unique per client,
    staff e-mails across the platform.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('borrower', 'client_admin') AND client_id IS NOT NULL AND provider_id IS NULL)"
            " OR (role = 'provider_user' AND client_id IS NULL AND provider_id IS NOT NULL)"
            " OR (role = 'platform_admin' AND client_id IS NULL AND provider_id IS NULL)",
            name="role_tenant",
        ),
        Index("uq_users_borrower_email", "client_id", text("lower(email)"), unique=True,
              postgresql_where=text("role = 'borrower'")),
        Index("uq_users_staff_email", text("lower(email)"), unique=True,
              postgresql_where=text("role <> 'borrower'")),
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clients.id"), index=True)
    provider_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("providers.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, name="user_role"))
    status: Mapped[Status] = mapped_column(Enum(Status, name="user_status"), default=Status.active)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    client: Mapped[Client | None] = relationship(lazy="joined")
    provider: Mapped[Provider | None] = relationship(lazy="joined")

    # Flask-Login protocol. The id carries the tenant so the loader can set it before reading the row.
    @property
    def is_active(self) -> bool:
        return self.status == Status.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.client_id or ''}"
