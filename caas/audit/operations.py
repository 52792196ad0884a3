"""Writing audit rows. Operations call ``record``; secrets never go in before/after."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from caas.audit.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who acts, from where. Built at the boundary (request or CLI) and passed down explicitly."""

    user_id: uuid.UUID | None
    role: str
    ip_address: str | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(user_id=None, role=name)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    client_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        client_id=client_id,
        actor_id=actor.user_id,
        actor_role=actor.role,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        before=before,
        after=after,
        ip_address=actor.ip_address,
        request_id=actor.request_id,
    )
    session.add(entry)
    return entry
