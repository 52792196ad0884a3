"""Lending criteria, listings, bids, e-signatures and providers' notifications.

A listing is the anonymised copy of an application open for offers: what a provider may see
(grade, PD, amount, term, purpose, debt-to-income, income band, country) and nothing that names
the borrower. Listings and bids are tenant rows (client_id, FORCE RLS) with extra policies for a
provider's transaction (``app.provider_id``): a provider reads the listings of the clients whose
network it is in, and reads its own bids. Every write happens as the application's tenant.
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, DateTime, Enum, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint, Uuid, text)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caas.core.extensions import db
from caas.core.models import IdMixin, TenantMixin, TimestampMixin, utcnow_column


class ListingStatus(str, enum.Enum):
    open = "open"                # bidding window open
    awaiting = "awaiting"        # bidding closed with offers; the borrower may still accept
    accepted = "accepted"
    expired = "expired"
    withdrawn = "withdrawn"


class BidStatus(str, enum.Enum):
    open = "open"
    withdrawn = "withdrawn"
    accepted = "accepted"        # won
    rejected = "rejected"        # lost: another offer was accepted
    expired = "expired"          # the application expired or was withdrawn with the bid still open


class LendingCriteria(IdMixin, TimestampMixin, db.Model):
    """One set of what a provider lends on. Empty lists mean "any". Amounts are minor units of
    each listed currency. Provider data, not a tenant's: scoped by provider_id in code."""

    __tablename__ = "lending_criteria"
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("providers.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    currencies: Mapped[list[str]] = mapped_column(ARRAY(String(3)))
    min_amount_minor: Mapped[int] = mapped_column(BigInteger)
    max_amount_minor: Mapped[int] = mapped_column(BigInteger)
    min_term_months: Mapped[int] = mapped_column(Integer)
    max_term_months: Mapped[int] = mapped_column(Integer)
    worst_grade: Mapped[str] = mapped_column(String(1))
    max_pd: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    purposes: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    countries: Mapped[list[str]] = mapped_column(ARRAY(String(2)), default=list)
    client_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Listing(IdMixin, TenantMixin, db.Model):
    __tablename__ = "market_listings"
    # Partial indexes over open listings, one per marketplace sort. Partial, because under RLS the
    # enum comparison (not leakproof) cannot be an index condition; a partial index still matches
    # when the query says status = 'open' literally (caas.market.board does).
    __table_args__ = (Index("ix_market_listings_open_newest", text("opened_at DESC"), text("id DESC"),
                            postgresql_where=text("status = 'open'")),
                      Index("ix_market_listings_open_amount", text("amount_minor DESC"), text("id DESC"),
                            postgresql_where=text("status = 'open'")),
                      Index("ix_market_listings_open_grade", "grade", "pd", "id",
                            postgresql_where=text("status = 'open'")),
                      Index("ix_market_listings_closes", "closes_at", postgresql_where=text("status = 'open'")),
                      Index("ix_market_listings_accept_until", "accept_until",
                            postgresql_where=text("status = 'awaiting'")))
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("applications.id"), unique=True)
    status: Mapped[ListingStatus] = mapped_column(Enum(ListingStatus, name="listing_status"),
                                                  default=ListingStatus.open)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    term_months: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(60))
    grade: Mapped[str] = mapped_column(String(1))
    pd: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    debt_to_income: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    income_band: Mapped[str] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2))
    allowed_terms: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accept_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bid_count: Mapped[int] = mapped_column(Integer, default=0)
    first_bid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_bid_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Bid(IdMixin, TenantMixin, TimestampMixin, db.Model):
    """A provider's offer on a listing. One per provider per listing (a withdrawn bid is edited
    back open rather than duplicated). The borrower-facing figures are computed by the loan maths
    when the bid is saved and stored with it, so what the borrower compares is what was offered."""

    __tablename__ = "bids"
    __table_args__ = (UniqueConstraint("listing_id", "provider_id", name="uq_bids_listing_provider"),
                      Index("ix_bids_provider_status", "provider_id", "status", "created_at"))
    listing_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("market_listings.id"), index=True)
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("applications.id"), index=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("providers.id"))
    status: Mapped[BidStatus] = mapped_column(Enum(BidStatus, name="bid_status"), default=BidStatus.open)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    fee_percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))  # what the provider typed, if a %
    term_months: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    instalment_minor: Mapped[int] = mapped_column(BigInteger)
    total_repayable_minor: Mapped[int] = mapped_column(BigInteger)
    total_cost_minor: Mapped[int] = mapped_column(BigInteger)  # interest + fee
    apr: Mapped[Decimal] = mapped_column(Numeric(9, 6))  # percent, e.g. 31.250000
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider = relationship("Provider", lazy="joined")


class Signature(IdMixin, TenantMixin, db.Model):
    """The borrower's e-signature of a loan agreement: the exact text, its hash, who, when, where."""

    __tablename__ = "loan_signatures"
    __table_args__ = {"comment": "append-only: e-signatures of loan agreements"}
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("applications.id"), unique=True)
    bid_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("bids.id"))
    loan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("loans.id"))
    borrower_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    agreement_version: Mapped[str] = mapped_column(String(20))
    agreement_text: Mapped[str] = mapped_column(Text)
    agreement_sha256: Mapped[str] = mapped_column(String(64))
    typed_name: Mapped[str] = mapped_column(String(200))
    consent: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(10))  # portal | api
    ip_address: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime] = utcnow_column()


class ProviderNotification(IdMixin, db.Model):
    """An in-app notice to a provider (its bid lost, expired, won). Provider data, no tenant."""

    __tablename__ = "provider_notifications"
    __table_args__ = (Index("ix_provider_notifications_provider_unread", "provider_id",
                            postgresql_where=text("read_at IS NULL")),)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("providers.id"), index=True)
    text: Mapped[str] = mapped_column(String(400))
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = utcnow_column()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
