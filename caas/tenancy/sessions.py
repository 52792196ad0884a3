"""Log-in sessions, kept on the server so that they can end.

The browser's (signed) session cookie carries a random token; this table holds its SHA-256 and
when the session began and ended. A request is logged in only while its row is open and younger
than the absolute lifetime, so logging out, changing the password or an operator ending a user's
sessions takes effect at once, for every copy of the cookie. The idle timeout is counted in the
cookie itself (the last-seen minute, re-signed as the user moves), which costs no write per request.

Rows carry the user's client_id (NULL for platform and provider staff) under the same row-level
security as ``users``.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, String, Uuid, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from caas.core.extensions import db
from caas.core.models import IdMixin

class UserSession(IdMixin, db.Model):
    __tablename__ = "user_sessions"
    __table_args__ = (
        Index("ix_user_sessions_open", "user_id", postgresql_where=text("ended_at IS NULL")),
        CheckConstraint("end_reason IS NULL OR end_reason IN ('logout', 'password_changed', 'idle', 'expired', "
                        "'revoked')", name="end_reason_known"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clients.id"))
    token_sha256: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(20))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def start(session: Session, user, now: datetime, *, ip_address: str | None = None,
          user_agent: str | None = None) -> str:
    """Open a session for ``user`` (in the user's tenant) and return its token, shown once."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, client_id=user.client_id, token_sha256=_digest(token), started_at=now,
                            ip_address=ip_address, user_agent=(user_agent or "")[:200] or None))
    session.flush()
    return token


def is_open(session: Session, user_id: uuid.UUID, token: str | None, now: datetime, lifetime: timedelta) -> bool:
    """True while the token's session is the user's, not ended, and younger than ``lifetime``."""
    if not token:
        return False
    started = session.scalar(select(UserSession.started_at).where(
        UserSession.token_sha256 == _digest(token), UserSession.user_id == user_id, UserSession.ended_at.is_(None)))
    return started is not None and now - started < lifetime


def end(session: Session, token: str | None, now: datetime, reason: str) -> None:
    if token:
        session.execute(update(UserSession).where(UserSession.token_sha256 == _digest(token),
                                                  UserSession.ended_at.is_(None))
                        .values(ended_at=now, end_reason=reason))


def end_all(session: Session, user_id: uuid.UUID, now: datetime, reason: str, *, keep: str | None = None) -> int:
    """End every open session of the user (but ``keep``'s): a password change, an operator's revoke."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep:
        query = query.where(UserSession.token_sha256 != _digest(keep))
    return session.execute(query.values(ended_at=now, end_reason=reason)).rowcount
