"""Jobs of the billing area: the monthly run (scheduled once a month with a deterministic job id)
and the daily network-access record."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from caas.billing import run
from caas.billing.models import BillingRun
from caas.billing.periods import Period
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.events.outbox import enqueue_job
from caas.tenancy.models import Client

RUN_FUNC = "caas.billing.jobs.run_billing"


def job_id(period: Period) -> str:
    """``billing-2026-10``: RQ job ids allow only letters, digits, '_' and '-', so not ``billing:2026-10``."""
    return f"billing-{period}"


def run_billing(period: str, client_slug: str | None = None) -> dict:
    """The billing run as a job. Idempotent: a second run of a billed period creates nothing."""
    result = run.execute(db.session, period, client_slug=client_slug, triggered_by="job")
    return {"period": result.period, "status": result.status, "invoices_created": result.invoices_created,
            "invoices_existing": result.invoices_existing}


def schedule_monthly(now: datetime | None = None) -> str:
    """Periodic (every BILLING_SCHEDULE_INTERVAL): from the 1st of a month, queue last month's run once
    (until a completed all-clients run exists), and record this month's network access."""
    now = now or datetime.now(timezone.utc)
    period = Period.of(now).previous()
    run.record_network_access(db.session, Period.of(now))
    done = db.session.scalar(select(BillingRun.id).where(BillingRun.period == str(period),
                                                         BillingRun.scope_client_id.is_(None),
                                                         BillingRun.status == "completed").limit(1))
    if done is None:
        enqueue_job(db.session, RUN_FUNC, queue="billing", args=[str(period)], job_id=job_id(period), timeout=1800)
    db.session.commit()
    return "already billed" if done else f"queued {job_id(period)}"


def queue_run(session, period: Period, client_slug: str | None = None) -> None:  # noqa: ANN001
    """An admin asked for a run: queued after commit through the outbox (same deterministic id).
    A slug no client has is refused here, as the run itself would refuse it (and it goes into the
    job id, which takes only a slug's characters)."""
    period.require_over(datetime.now(timezone.utc))
    if client_slug and session.scalar(select(Client.id).where(Client.slug == client_slug)) is None:
        raise DomainError("unknown_client", "No client has this slug.", "client")
    suffix = f"-{client_slug}" if client_slug else ""
    enqueue_job(session, RUN_FUNC, queue="billing", args=[str(period), client_slug], job_id=f"{job_id(period)}{suffix}"[:200],
                timeout=1800)

