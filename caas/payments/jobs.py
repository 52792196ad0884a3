"""Jobs of the payments area. Each takes an id, reloads and locks the payout; see
``caas.payments.payouts`` for why a re-run never pays twice."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from rq import get_current_job

from caas.core.extensions import db
from caas.payments import payouts, service

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def process_payout(payout_id: str) -> str:
    """Send or resolve one payout. RQ retries it with backoff while the outcome is unknown; after
    the last try a payout no gateway has becomes failed (admins may retry it)."""
    try:
        return payouts.process(db.session, uuid.UUID(payout_id), service.router(), _now())
    except Exception:
        db.session.rollback()
        job = get_current_job()
        if job is None or not job.retries_left:
            try:
                payouts.finally_failed(db.session, uuid.UUID(payout_id), service.router(), _now())
            except Exception:
                db.session.rollback()
                log.exception("could not settle a payout after its last try", extra={"payout_id": payout_id})
        raise


def reconcile_payouts() -> dict:
    """Periodic: ask the gateways about submitted payouts and recent successes; flag disagreements."""
    return payouts.reconcile(db.session, service.router(), _now())
