"""Loading a sanctions list into the database, and the in-process index the scoring job searches.

An import parses both files first; a malformed file is refused with its line number and the list
already loaded stays in use. The index is built once per process per list (by id) and reused.
"""
from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.screening.matcher import SanctionsIndex
from caas.screening.models import SanctionsList
from caas.screening.sdn import attach_aliases, parse_alt, parse_sdn, remark_aliases

_cache: dict[uuid.UUID, SanctionsIndex] = {}
_lock = threading.Lock()


def _entries(sdn_text: str, alt_text: str | None, sdn_name: str = "sdn.csv", alt_name: str = "alt.csv"):
    entries = parse_sdn(sdn_text, source=sdn_name)
    if alt_text:
        entries = attach_aliases(entries, parse_alt(alt_text, source=alt_name), alt_name)
    return [replace(e, aliases=e.aliases + extra) if (extra := remark_aliases(e)) else e for e in entries]


def import_list(session: Session, actor: Actor, sdn_text: str, alt_text: str | None, *, sdn_name: str = "sdn.csv",
                alt_name: str = "alt.csv") -> SanctionsList:
    """Parse (raising SdnFormatError with the line on bad input, before anything changes), then make
    the new list the active one in this transaction. Audited."""
    entries = _entries(sdn_text, alt_text, sdn_name, alt_name)
    digest = hashlib.sha256((sdn_text + "\0" + (alt_text or "")).encode()).hexdigest()
    session.execute(update(SanctionsList).where(SanctionsList.active.is_(True)).values(active=False))
    loaded = SanctionsList(id=uuid.uuid4(), source="ofac_sdn", sdn_text=sdn_text, alt_text=alt_text, sha256=digest,
                           entry_count=len(entries), alias_count=sum(len(e.aliases) for e in entries), active=True)
    session.add(loaded)
    session.flush()
    record(session, actor, "sanctions.import", target_type="sanctions_list", target_id=loaded.id,
           after={"sha256": digest, "entries": loaded.entry_count, "aliases": loaded.alias_count})
    return loaded


def active_list(session: Session) -> SanctionsList | None:
    return session.scalar(select(SanctionsList).where(SanctionsList.active.is_(True)))


@dataclass(frozen=True)
class ActiveList:
    id: uuid.UUID
    sha256: str


def index_for(session: Session) -> tuple[ActiveList | None, SanctionsIndex | None]:
    """The active list (id and hash only: the texts are megabytes) and its index, built once per
    process; (None, None) when no list is loaded."""
    row = session.execute(select(SanctionsList.id, SanctionsList.sha256).where(SanctionsList.active.is_(True))).first()
    if row is None:
        return None, None
    with _lock:
        index = _cache.get(row.id)
        if index is None:
            listed = session.get(SanctionsList, row.id)
            index = SanctionsIndex(_entries(listed.sdn_text, listed.alt_text))
            session.expunge(listed)
            _cache.clear()  # only the active list is kept in memory
            _cache[row.id] = index
    return ActiveList(row.id, row.sha256), index
