"""Jobs of the market area: the deadlines. Each takes an id, reloads and locks the listing, and
does nothing when the step was done already or its time has not come (safe to run twice, early
or late). The sweep is the safety net behind the scheduled jobs."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from caas.core import tenant
from caas.core.extensions import db
from caas.market import listings

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def close_bidding(listing_id: str) -> str:
    """Scheduled at the end of the bidding window (tenant from the job)."""
    status = listings.close_bidding(db.session, uuid.UUID(listing_id), _now())
    db.session.commit()
    return status


def end_acceptance(listing_id: str) -> str:
    """Scheduled at the end of the borrower's time to accept."""
    status = listings.end_acceptance(db.session, uuid.UUID(listing_id), _now())
    db.session.commit()
    return status


def sweep_deadlines() -> int:
    """Periodic: every listing past a deadline gets its step, one transaction each."""
    done = 0
    for client_id, listing_id, step in listings.due(db.session, _now()):
        db.session.rollback()  # end the read transaction; each listing is its own
        try:
            with tenant.tenant_scope(client_id, db.session):
                step_of = listings.close_bidding if step == "close" else listings.end_acceptance
                step_of(db.session, listing_id, _now())
                db.session.commit()
            done += 1
        except Exception:
            db.session.rollback()
            log.exception("market deadline failed", extra={"listing_id": str(listing_id)})
    db.session.rollback()
    return done
