"""Loaded sanctions lists. A list is platform data (no tenant): the raw files are kept as loaded,
with their hash, so every screening can be reproduced against the exact list it used."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from caas.core.extensions import db
from caas.core.models import IdMixin


class SanctionsList(IdMixin, db.Model):
    __tablename__ = "sanctions_lists"
    __table_args__ = (Index("uq_sanctions_lists_one_active", "active", unique=True, postgresql_where=text("active")),)
    source: Mapped[str] = mapped_column(String(40))  # e.g. ofac_sdn
    sdn_text: Mapped[str] = mapped_column(Text)
    alt_text: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer)
    alias_count: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
