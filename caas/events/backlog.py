"""The outbox rows that have not reached Redis yet: how many, how old, and which.

A row is normally sent right after its transaction commits; one that is still unsent is waiting
for the relay (Redis was down, or the push failed). Its age is the outbox lag.

These read across tenants, so the caller chooses the scope: the jobs console through the audited
``platform_access``, /readyz and /metrics through ``aggregate_read`` (counts only, read-only, no
row leaves it).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from caas.core import tenant
from caas.events.models import OutboxMessage


@dataclass(frozen=True)
class Backlog:
    unsent: int
    oldest_created_at: datetime | None

    def lag_seconds(self, at: datetime | None = None) -> float:
        """Age of the oldest unsent row; 0 when nothing waits."""
        if self.oldest_created_at is None:
            return 0.0
        return max(0.0, ((at or datetime.now(timezone.utc)) - self.oldest_created_at).total_seconds())


def backlog(session: Session) -> Backlog:
    """Count and oldest creation time of the unsent rows visible in the current scope (the partial
    index ``ix_outbox_unsent`` serves it)."""
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.sent_at.is_(None))).one()
    return Backlog(int(count), oldest)


def unsent(session: Session, limit: int = 50) -> list[OutboxMessage]:
    """The oldest unsent rows first."""
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                                .order_by(OutboxMessage.created_at).limit(limit)))


@contextmanager
def aggregate_read(session: Session) -> Iterator[Session]:
    """A system process (a probe, a metrics scrape: no user) reading aggregates across tenants.

    The all-tenants mode opens SELECT only, the transaction is READ ONLY on top, and it is rolled
    back at the end whatever happens, so nothing can be written through it. Not audited: there is
    no actor, and only counts and sums come out.
    """
    try:
        with tenant.all_tenants_scope(session):
            session.execute(text("SET TRANSACTION READ ONLY"))
            yield session
    finally:
        session.rollback()
