"""Jobs of the loans area."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from caas.core.extensions import db
from caas.loans import servicing


def service_today() -> dict:
    """Periodic: the daily servicing for today's date (UTC). Repeating it on the same day changes
    nothing, so it runs every SERVICING_INTERVAL seconds rather than once at a fixed hour."""
    report = servicing.service(db.session, datetime.now(timezone.utc).date())
    return {"loans": report.loans, "reminders": report.reminders, "missed": report.missed,
            "penalties": report.penalties, "collections": report.collections, "written_off": report.written_off}


def process_refund(refund_id: str) -> str:
    """Send or resolve one overpayment refund (queue ``payouts``). RQ retries it while the outcome is
    unknown; a re-run asks the gateway by reference first and never sends it twice
    (``caas.loans.refunds``)."""
    from caas.loans import refunds
    from caas.payments import service

    try:
        return refunds.process(db.session, uuid.UUID(refund_id), service.router(), datetime.now(timezone.utc))
    except Exception:
        db.session.rollback()
        raise
