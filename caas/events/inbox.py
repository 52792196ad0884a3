"""The notification centre's data: one inbox per user, whatever their role.

Borrowers, client admins and platform admins read their own notices (``notifications``: tenant rows
for the first two, rows without a tenant for platform admins). Provider users read the notices the
marketplace writes to their provider (``provider_notifications``, shared by the provider's users,
as before) together with the notices addressed to them personally; both are shown as one list and
marked read the same way. Row-level security keeps other tenants' rows out; the user and provider
filters keep other people's.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from caas.core.errors import NotFound
from caas.credit import notifications
from caas.market.models import ProviderNotification
from caas.tenancy.models import Role

PAGE = 50


@dataclass(frozen=True)
class Item:
    id: uuid.UUID
    text: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


def _item(row) -> Item:
    return Item(row.id, row.text, row.link, row.created_at, row.read_at)


class UserInbox:
    def __init__(self, user_id: uuid.UUID):
        self.user_id = user_id

    def items(self, session: Session, limit: int = PAGE) -> list[Item]:
        return [_item(n) for n in notifications.recent(session, self.user_id, limit)]

    def unread(self, session: Session) -> int:
        return notifications.unread_count(session, self.user_id)

    def mark_read(self, session: Session, notification_id: uuid.UUID) -> Item:
        notice = notifications.mark_read(session, self.user_id, notification_id)
        if notice is None:
            raise NotFound("notification")
        return _item(notice)

    def mark_all_read(self, session: Session) -> int:
        return notifications.mark_all_read(session, self.user_id)


class ProviderInbox(UserInbox):
    """A provider user's: the provider's shared notices and their own."""

    def __init__(self, user_id: uuid.UUID, provider_id: uuid.UUID):
        super().__init__(user_id)
        self.provider_id = provider_id

    def items(self, session: Session, limit: int = PAGE) -> list[Item]:
        shared = session.scalars(select(ProviderNotification)
                                 .where(ProviderNotification.provider_id == self.provider_id)
                                 .order_by(ProviderNotification.created_at.desc()).limit(limit)).all()
        merged = [_item(n) for n in shared] + super().items(session, limit)
        return sorted(merged, key=lambda item: item.created_at, reverse=True)[:limit]

    def unread(self, session: Session) -> int:
        shared = session.scalar(select(func.count()).select_from(ProviderNotification).where(
            ProviderNotification.provider_id == self.provider_id, ProviderNotification.read_at.is_(None))) or 0
        return shared + super().unread(session)

    def mark_read(self, session: Session, notification_id: uuid.UUID) -> Item:
        notice = session.scalar(select(ProviderNotification).where(ProviderNotification.id == notification_id,
                                                                   ProviderNotification.provider_id == self.provider_id)
                                .execution_options(populate_existing=True))
        if notice is None:
            return super().mark_read(session, notification_id)
        if notice.read_at is None:
            notice.read_at = datetime.now(timezone.utc)
            session.flush()
        return _item(notice)

    def mark_all_read(self, session: Session) -> int:
        shared = session.execute(update(ProviderNotification)
                                 .where(ProviderNotification.provider_id == self.provider_id,
                                        ProviderNotification.read_at.is_(None))
                                 .values(read_at=datetime.now(timezone.utc))
                                 .execution_options(synchronize_session=False)).rowcount
        return shared + super().mark_all_read(session)


def for_user(user) -> UserInbox:
    if user.role == Role.provider_user:
        return ProviderInbox(user.id, user.provider_id)
    return UserInbox(user.id)
