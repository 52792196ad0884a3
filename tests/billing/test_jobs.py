"""The monthly schedule queues last month's run once, with the deterministic job id, on the billing
queue; the run job is idempotent; flask billing run prints what it did."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from caas.billing import jobs
from caas.billing.models import Invoice, UsageEvent
from caas.core import tenant
from caas.events.models import OutboxMessage
from tests.billing.world import at, billed_client, use

FIRST_OF_NOVEMBER = datetime(2026, 11, 1, 0, 30, tzinfo=timezone.utc)


def queued_runs(db):
    return db.execute(select(OutboxMessage.job_id, OutboxMessage.queue, OutboxMessage.args)
                      .where(OutboxMessage.func == jobs.RUN_FUNC)).all()


def test_the_schedule_queues_last_months_run_until_it_is_done(db):
    client = billed_client(db)
    use(db, client, "risk_assessment", at("2026-10-07"))
    assert jobs.schedule_monthly(FIRST_OF_NOVEMBER) == "queued billing-2026-10"
    assert [tuple(r) for r in queued_runs(db)] == [("billing-2026-10", "billing", ["2026-10"])]
    with tenant.tenant_scope(client.id, db):  # this month's network access is recorded as the month starts
        assert db.scalar(select(UsageEvent.idempotency_key).where(
            UsageEvent.metric == "provider_network_access")) == "provider_network_access:2026-11"

    result = jobs.run_billing("2026-10")
    again = jobs.run_billing("2026-10")  # RQ may deliver twice
    assert (result["invoices_created"], again["invoices_created"]) == (1, 0)
    with tenant.tenant_scope(client.id, db):
        assert db.scalar(select(func.count()).select_from(Invoice)) == 1
    assert jobs.schedule_monthly(FIRST_OF_NOVEMBER) == "already billed"
    assert len(queued_runs(db)) == 1


def test_flask_billing_run_command(app, db):
    client = billed_client(db, marketplace=False)
    use(db, client, "risk_assessment", at("2026-10-07"))
    db.commit()
    runner = app.test_cli_runner()
    out = runner.invoke(args=["billing", "run", "--period", "2026-10", "--client", client.slug])
    assert out.exit_code == 0 and "1 invoices created, 0 already existed" in out.output
    bad = runner.invoke(args=["billing", "run", "--period", "October"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
