"""In-app notices (every role but provider users, who read their provider's: see
``caas.events.inbox``), and the borrower's data export."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from caas.credit import applications, consents, documents, profiles
from caas.credit.models import Notification


def notify(session: Session, client_id: uuid.UUID | None, user_id: uuid.UUID, text: str,
           link: str | None = None) -> None:
    """A notice for one user. ``client_id`` is the user's tenant (None for platform admins and
    provider users). Borrowers' links are relative to their portal (``/applications/<id>``)."""
    session.add(Notification(id=uuid.uuid4(), client_id=client_id, user_id=user_id, text=text[:400], link=link))
    session.flush()


def recent(session: Session, user_id: uuid.UUID, limit: int = 10) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user_id)
                                .order_by(Notification.created_at.desc()).limit(limit)))


def unread_count(session: Session, user_id: uuid.UUID) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def mark_all_read(session: Session, user_id: uuid.UUID) -> int:
    return session.execute(update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
                           .values(read_at=datetime.now(timezone.utc))
                           .execution_options(synchronize_session=False)).rowcount


def mark_read(session: Session, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification | None:
    """Mark one of the user's notices read; None when it is not theirs (or not in their tenant)."""
    notice = session.scalar(select(Notification).where(Notification.id == notification_id,
                                                       Notification.user_id == user_id)
                            .execution_options(populate_existing=True))
    if notice is not None and notice.read_at is None:
        notice.read_at = datetime.now(timezone.utc)
        session.flush()
    return notice


def export_for(session: Session, user, client) -> dict:
    """Everything held about the borrower at this client, for the borrower to download."""
    profile = profiles.get(session, user.id)
    return {
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "lender": client.display_name,
        "account": {"email": user.email, "full_name": user.full_name, "created_at": user.created_at},
        "profile": None if profile is None else {
            column.name: getattr(profile, column.name) for column in profile.__table__.columns
            if column.name not in ("client_id", "user_id")},
        "consents": [{"kind": c.kind, "text_version": c.text_version, "granted_at": c.granted_at,
                      "ip_address": c.ip_address, "withdrawn_at": c.withdrawn_at}
                     for c in session.scalars(select(consents.Consent).where(consents.Consent.user_id == user.id))],
        "documents": [{"kind": d.kind, "content_type": d.content_type, "size_bytes": d.size_bytes,
                       "uploaded_at": d.created_at, "sha256": d.sha256} for d in documents.list_for(session, user.id)],
        "applications": [applications.serialise(a) for a in applications.list_for_borrower(session, user.id)],
    }
