"""The deadline jobs through RQ: scheduled in RQ's registry after commit, run by a real worker,
and the periodic sweep as the safety net."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rq.registry import ScheduledJobRegistry

from caas.core import jobs, tenant, worker
from caas.credit.models import Application, ApplicationStatus as S
from caas.market import jobs as market_jobs
from caas.market.models import Listing, ListingStatus
from tests import factories
from tests.market.world import lender, open_application


def test_opening_schedules_the_close_job_in_rq_after_commit(app, db):
    client = factories.client(db)
    lender(db, client)
    opened = open_application(db, client, now=datetime.now(timezone.utc))
    registry = ScheduledJobRegistry(queue=jobs.queue("default"))
    assert f"market-close-{opened.listing_id}" not in registry.get_job_ids()  # nothing before commit
    db.commit()
    assert f"market-close-{opened.listing_id}" in registry.get_job_ids()


def test_a_worker_runs_a_due_close_job_and_the_application_expires(app, db):
    client = factories.client(db)
    opened = open_application(db, client, now=datetime.now(timezone.utc) - timedelta(hours=73))
    db.commit()  # closes_at is past: the job goes straight to the queue
    worker.run(app, ["default"], burst=True, with_cron=False)
    db.rollback()
    with tenant.tenant_scope(client.id, db):
        assert db.get(Listing, opened.listing_id, populate_existing=True).status == ListingStatus.expired
        assert db.get(Application, opened.application_id, populate_existing=True).status == S.expired


def test_the_sweep_closes_what_a_lost_job_left_open(app, db):
    client = factories.client(db)
    opened = open_application(db, client, now=datetime.now(timezone.utc) - timedelta(hours=80))
    db.commit()
    jobs.connection().flushdb()  # Redis lost the scheduled job
    assert market_jobs.sweep_deadlines() >= 1
    with tenant.tenant_scope(client.id, db):
        assert db.get(Listing, opened.listing_id, populate_existing=True).status == ListingStatus.expired
    assert market_jobs.sweep_deadlines() == 0  # nothing left to do: safe to run again
