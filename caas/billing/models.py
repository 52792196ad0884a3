"""Billing tables: usage events, the dated price book, billing runs, invoices and their lines,
the gap-free invoice number sequence, and quota warnings/overrides.

Tenant-owned tables carry client_id under FORCEd row-level security (migration 0600). The billing
run writes invoices for every tenant in one statement through the narrow ``billing_run`` policy
(``app.billing_run`` set by caas.billing.run only); issuing, payment and voiding act in the
invoice's own tenant.
"""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Date, DateTime, Enum, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint, Uuid, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caas.core.extensions import db
from caas.core.models import IdMixin, TenantMixin, utcnow_column


class UsageEvent(IdMixin, TenantMixin, db.Model):
    """A billable use (application_processed, api_call, …). The idempotency key is unique per client.
    ``occurred_at`` decides the period it bills in; ``recorded_at`` is when it reached us, which is how
    a billing run finds usage that arrived after its period was invoiced."""

    __tablename__ = "usage_events"
    __table_args__ = (UniqueConstraint("client_id", "idempotency_key", name="uq_usage_events_client_key"),
                      Index("ix_usage_events_occurred_at", "occurred_at", postgresql_using="brin"),
                      Index("ix_usage_events_recorded_at", "recorded_at", postgresql_using="brin"),
                      Index("ix_usage_events_applications", "client_id", "occurred_at",
                            postgresql_where=text("metric = 'application_processed'")))
    # The unique (client_id, idempotency_key) index serves lookups by client: no separate client index.
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="RESTRICT"))
    metric: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(BigInteger, default=1)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = utcnow_column()
    recorded_at: Mapped[datetime] = utcnow_column()


class PriceBookEntry(IdMixin, db.Model):
    """A metric's price from a date (always the 1st of a month): for a tier (client_id NULL) or a
    per-client override. The entry with the latest effective_from on or before a period applies."""

    __tablename__ = "price_book"
    __table_args__ = (
        Index("uq_price_book_tier", "tier", "metric", "effective_from", unique=True,
              postgresql_where=text("client_id IS NULL")),
        Index("uq_price_book_client", "client_id", "metric", "effective_from", unique=True,
              postgresql_where=text("client_id IS NOT NULL")),
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="RESTRICT"),
                                                        index=True)
    tier: Mapped[str | None] = mapped_column(String(20))
    metric: Mapped[str] = mapped_column(String(40))
    effective_from: Mapped[date] = mapped_column(Date)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    per_units: Mapped[int] = mapped_column(Integer, default=1)
    percent: Mapped[Decimal] = mapped_column(Numeric(9, 6), default=Decimal("0"))
    included_units: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = utcnow_column()


class BillingRun(IdMixin, db.Model):
    """One execution of the billing run for a period (all clients, or one: ``scope_client_id``).
    A platform table: it names no tenant's data, only counts."""

    __tablename__ = "billing_runs"
    __table_args__ = {"comment": "platform: billing run executions (counts only, no tenant data)"}
    period: Mapped[str] = mapped_column(String(7), index=True)
    scope_client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(10), default="running")
    started_at: Mapped[datetime] = utcnow_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    clients: Mapped[int] = mapped_column(Integer, default=0)
    invoices_created: Mapped[int] = mapped_column(Integer, default=0)
    invoices_existing: Mapped[int] = mapped_column(Integer, default=0)
    lines_created: Mapped[int] = mapped_column(Integer, default=0)
    triggered_by: Mapped[str] = mapped_column(String(80))
    error: Mapped[str | None] = mapped_column(Text)


class InvoiceStatus(str, enum.Enum):
    draft = "draft"
    issued = "issued"
    paid = "paid"
    void = "void"


class Invoice(IdMixin, TenantMixin, db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("year", "sequence", name="uq_invoices_year_sequence"),
        Index("uq_invoices_client_period_currency", "client_id", "period", "currency", unique=True,
              postgresql_where=text("status <> 'void'")),
    )
    period: Mapped[str] = mapped_column(String(7), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    status: Mapped[InvoiceStatus] = mapped_column(Enum(InvoiceStatus, name="invoice_status"),
                                                  default=InvoiceStatus.draft)
    invoice_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4), default=Decimal("0"))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("billing_runs.id"))
    created_at: Mapped[datetime] = utcnow_column()
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(Text)

    lines: Mapped[list["InvoiceLine"]] = relationship(order_by="InvoiceLine.position", lazy="selectin",
                                                      viewonly=True)


class InvoiceLine(IdMixin, TenantMixin, db.Model):
    """One metric on an invoice: ``kind`` is ``usage`` (the invoice's own period) or ``adjustment``
    (usage of an earlier, already invoiced ``usage_period`` that arrived late)."""

    __tablename__ = "invoice_lines"
    __table_args__ = (Index("ix_invoice_lines_usage", "client_id", "usage_period", "metric"),
                      {"comment": "append-only in practice: an invoice's lines never change after the run"})
    # ix_invoice_lines_usage leads with client_id: no separate client index.
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("clients.id", ondelete="RESTRICT"))
    invoice_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("invoices.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    usage_period: Mapped[str] = mapped_column(String(7))
    quantity: Mapped[int] = mapped_column(BigInteger)
    base_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    included_units: Mapped[int] = mapped_column(BigInteger)
    billable_units: Mapped[int] = mapped_column(BigInteger)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    per_units: Mapped[int] = mapped_column(Integer)
    percent: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)


class InvoiceSequence(db.Model):
    """The last invoice number given out per year. Taken under a row lock inside the run's
    transaction, so numbers are gap-free: a run that rolls back gives its numbers back."""

    __tablename__ = "invoice_sequences"
    __table_args__ = {"comment": "platform: gap-free invoice numbers per year"}
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class QuotaWarning(IdMixin, TenantMixin, db.Model):
    """A quota crossed a threshold (90 or 100 percent) in a period; unique, so the client admins are
    told once per period."""

    __tablename__ = "quota_warnings"
    __table_args__ = (UniqueConstraint("client_id", "quota", "period", "level", name="uq_quota_warnings_once"),)
    quota: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(13))
    level: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(BigInteger)
    limit: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = utcnow_column()


class QuotaOverride(IdMixin, TenantMixin, db.Model):
    """A platform admin lifted a client's hard quota for one period (audited)."""

    __tablename__ = "quota_overrides"
    __table_args__ = (UniqueConstraint("client_id", "quota", "period", name="uq_quota_overrides_period"),)
    quota: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(13))
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = utcnow_column()
