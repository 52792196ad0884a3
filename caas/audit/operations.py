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

    @classmethod
    def operator(cls, name: str) -> "Actor":
        """The platform operator at the command line, ``cli:<os user>``: no user row, and the audited
        platform paths treat them as a platform admin."""
        return cls(user_id=None, role=f"cli:{name}"[:40])

    @property
    def is_operator(self) -> bool:
        return self.role.startswith("cli:")


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
    session.flush()  # now, under the tenant in scope: RLS checks the row against the acting tenant
    return entry


@dataclass(frozen=True)
class ChainReport:
    rows: int
    broken_at: int | None  # chain_seq of the first row whose hash or link does not hold
    reason: str | None


def verify_chain(connection) -> ChainReport:
    """Walk the whole chain in order (run as the owner, who sees every tenant's rows).

    Each row must link to the previous row's hash and its own hash must match its content.
    """
    from sqlalchemy import text

    rows = connection.execute(text(
        "SELECT chain_seq, id, prev_hash, hash, caas_audit_row_hash(prev_hash, a) AS recomputed "
        "FROM audit_log a ORDER BY chain_seq"
    ))
    expected_prev = "0" * 64
    count = 0
    for row in rows:
        count += 1
        if row.chain_seq != count:
            return ChainReport(count, row.chain_seq, f"row id {row.id}: chain position {row.chain_seq}, expected {count}")
        if row.prev_hash != expected_prev:
            return ChainReport(count, row.chain_seq, f"row id {row.id}: link to the previous row is broken")
        if row.hash != row.recomputed:
            return ChainReport(count, row.chain_seq, f"row id {row.id}: content does not match its hash")
        expected_prev = row.hash
    return ChainReport(count, None, None)


@dataclass
class AuditFilters:
    actor: str = ""
    action: str = ""
    client_id: uuid.UUID | None = None
    date_from: Any = None
    date_to: Any = None


def list_entries(session: Session, filters: AuditFilters, *, before_seq: int | None = None,
                 limit: int = 50) -> tuple[list[AuditEntry], int | None]:
    """Newest first, keyset-paginated by chain position. RLS limits a client admin to their tenant."""
    from datetime import timedelta

    from sqlalchemy import String, cast, func, select

    query = select(AuditEntry).order_by(AuditEntry.chain_seq.desc()).limit(limit + 1)
    if filters.actor:
        query = query.where(cast(AuditEntry.actor_id, String).like(f"{filters.actor.strip()}%")
                            | func.lower(AuditEntry.actor_role).like(f"%{filters.actor.strip().lower()}%"))
    if filters.action:
        query = query.where(AuditEntry.action.like(f"{filters.action.strip()}%"))
    if filters.client_id:
        query = query.where(AuditEntry.client_id == filters.client_id)
    if filters.date_from:
        query = query.where(AuditEntry.created_at >= filters.date_from)
    if filters.date_to:
        query = query.where(AuditEntry.created_at < filters.date_to + timedelta(days=1))
    if before_seq:
        query = query.where(AuditEntry.chain_seq < before_seq)
    rows = list(session.scalars(query))
    return rows[:limit], (rows[limit - 1].chain_seq if len(rows) > limit else None)
