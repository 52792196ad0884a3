"""Stored identity checks: one row per borrower and (id, name, date of birth), tenant-owned (RLS)."""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from caas.core.extensions import db
from caas.core.models import IdMixin, TenantMixin, utcnow_column


class IdentityVerification(IdMixin, TenantMixin, db.Model):
    """A definitive answer of an identity provider about one borrower's national id.

    The id is kept masked (last four digits) with a keyed fingerprint of id, name and date of birth:
    the full number stays on the profile alone. Errors are never stored (no answer is no result)."""

    __tablename__ = "identity_verifications"
    __table_args__ = (
        UniqueConstraint("client_id", "user_id", "fingerprint", name="uq_identity_verifications_fingerprint"),
        CheckConstraint("status IN ('matched', 'mismatched', 'not_found')", name="status"),
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("borrower_profiles.user_id"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12))
    country: Mapped[str] = mapped_column(String(2))
    id_type: Mapped[str] = mapped_column(String(20))
    id_number_masked: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(64))
    name_match_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    dob_match: Mapped[bool | None] = mapped_column(Boolean)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    checked_at: Mapped[datetime] = utcnow_column()

    @property
    def verified(self) -> bool:
        return self.status == "matched"
