"""Clients (tenants), providers and users."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Enum, ForeignKey, Index, String, Uuid, text
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

    @property
    def is_active(self) -> bool:
        return self.status == Status.active


class Provider(IdMixin, TimestampMixin, db.Model):
    """A licensed lender, shared across clients."""

    __tablename__ = "providers"
    legal_name: Mapped[str] = mapped_column(String(200), unique=True)
    licence_number: Mapped[str] = mapped_column(String(80))
    country: Mapped[str] = mapped_column(String(2))
    status: Mapped[Status] = mapped_column(Enum(Status, name="provider_status"), default=Status.active)


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
