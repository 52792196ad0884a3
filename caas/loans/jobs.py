"""Jobs of the loans area."""
from __future__ import annotations

from datetime import datetime, timezone

from caas.core.extensions import db
from caas.loans import servicing


def service_today() -> dict:
    """Periodic: the daily servicing for today's date (UTC). Repeating it on the same day changes
    nothing, so it runs every SERVICING_INTERVAL seconds rather than once at a fixed hour."""
    report = servicing.service(db.session, datetime.now(timezone.utc).date())
    return {"loans": report.loans, "reminders": report.reminders, "missed": report.missed,
            "collections": report.collections, "written_off": report.written_off}
