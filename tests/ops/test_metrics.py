"""/metrics: every listed metric present, with the values of a known world."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from caas.billing.models import Invoice, InvoiceStatus
from caas.core import metrics, tenant
from caas.credit.models import Application, ApplicationStatus
from caas.events import outbox
from caas.tenancy.models import Status
from tests import factories
from tests.helpers import get
from tests.ops.conftest import make_failed, run_worker
from tests.ops.jobs_for_tests import allow
from tests.payments.test_payouts import accepted, run, sandbox  # noqa: F401 — the fixture


# --- Pure --------------------------------------------------------------------------------------------

def test_a_duration_falls_in_the_smallest_bucket_that_holds_it():
    assert metrics.bucket_label(0.0) == "0.05" and metrics.bucket_label(0.05) == "0.05"
    assert metrics.bucket_label(0.051) == "0.1" and metrics.bucket_label(600) == "600.0"
    assert metrics.bucket_label(600.5) == "+Inf"


def test_stored_buckets_become_cumulative_ending_at_inf():
    pairs = metrics.cumulative({"0.05": 2, "1.0": 1, "+Inf": 1})
    assert pairs[0] == ("0.05", 2) and dict(pairs)["0.5"] == 2 and dict(pairs)["1.0"] == 3
    assert pairs[-1] == ("+Inf", 4) and len(pairs) == len(metrics.JOB_BUCKETS) + 1
    assert metrics.job_histograms({"events|failed|0.1": 1.0, "events|failed|count": 1.0, "events|failed|sum": 0.07}) \
        == {("events", "failed"): {"buckets": metrics.cumulative({"0.1": 1.0}), "sum": 0.07}}


@pytest.mark.parametrize("status,outcome", [("finished", "succeeded"), ("failed", "failed"), ("scheduled", "retried"),
                                            ("queued", "retried"), ("stopped", "stopped"), (None, "other")])
def test_job_outcome(status, outcome):
    assert metrics.job_outcome(status) == outcome


# --- The endpoint ------------------------------------------------------------------------------------

def scrape(client) -> str:
    metrics.business_cache.clear()
    return get(client, "/metrics").get_data(as_text=True)


def value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    assert match, f"{sample} missing"
    return float(match.group(1))


def invoice(db, client_id, status: InvoiceStatus, currency: str, subtotal: int, tax: int, period: str) -> None:
    with tenant.tenant_scope(client_id, db):
        db.add(Invoice(id=uuid.uuid4(), client_id=client_id, period=period, currency=currency,
                       number=f"INV-T-{uuid.uuid4().hex[:8]}", year=2026, sequence=int(uuid.uuid4().int % 10**9),
                       status=status, invoice_date=date(2026, 11, 1), due_date=date(2026, 11, 15),
                       tax_rate=Decimal("0.075"), subtotal_minor=subtotal, tax_minor=tax, total_minor=subtotal + tax))
        db.flush()


def test_business_gauges_from_a_known_world(client, db, sandbox):  # noqa: F811
    first, _, _, paid = accepted(db)  # NGN 250,000.00 less the 2,500.00 fee, paid out below
    run(db, first, paid)
    second, _, _, _ = accepted(db)  # its payout is not made: not disbursed
    factories.provider(db).status = Status.suspended
    borrower = factories.borrower(db, second)
    with tenant.tenant_scope(second.id, db):
        for status in (ApplicationStatus.draft, ApplicationStatus.declined, ApplicationStatus.declined):
            db.add(Application(id=uuid.uuid4(), client_id=second.id, borrower_id=borrower.id, status=status,
                               income_confirmed=False, channel="api"))
        db.flush()
    invoice(db, first.id, InvoiceStatus.issued, "NGN", 1_950_00, 146_25, "2026-09")
    invoice(db, second.id, InvoiceStatus.paid, "NGN", 500_00, 37_50, "2026-09")
    invoice(db, second.id, InvoiceStatus.draft, "NGN", 9_999_00, 0, "2026-10")  # not issued: not revenue
    invoice(db, second.id, InvoiceStatus.void, "USD", 7_00, 0, "2026-09")
    invoice(db, first.id, InvoiceStatus.issued, "USD", 12_00, 0, "2026-10")
    db.commit()
    text = scrape(client)
    assert value(text, 'caas_disbursements_amount{currency="NGN"}') == 247_500_00
    assert value(text, 'caas_platform_revenue{currency="NGN"}') == 2_450_00
    assert value(text, 'caas_platform_revenue{currency="USD"}') == 12_00
    assert value(text, "caas_providers_active") == 2  # the two lenders; the suspended one is not counted
    assert value(text, 'caas_applications_total{status="declined"}') == 2
    assert value(text, 'caas_applications_total{status="draft"}') == 1
    assert value(text, 'caas_applications_total{status="active"}') == 1  # paid out: the loan runs
    assert value(text, 'caas_applications_total{status="offer_accepted"}') == 1  # its payout not made yet
    assert "caas_applications_total{status=\"submitted\"}" not in text


def test_business_gauges_are_cached_between_scrapes(client, db):
    factories.provider(db)
    db.commit()
    before = scrape(client)
    factories.provider(db)
    db.commit()
    assert value(get(client, "/metrics").get_data(as_text=True), "caas_providers_active") == \
        value(before, "caas_providers_active")  # within CACHE_SECONDS: the cached figure
    assert value(scrape(client), "caas_providers_active") == value(before, "caas_providers_active") + 1


def test_job_durations_by_queue_and_outcome_and_the_failed_registry(app, client, db):
    failing = make_failed(app, "events")
    text = scrape(client)
    assert value(text, 'caas_job_duration_seconds_count{outcome="failed",queue="events"}') == 1
    assert value(text, 'caas_job_duration_seconds_bucket{le="+Inf",outcome="failed",queue="events"}') == 1
    assert value(text, 'caas_queue_jobs{queue="events",registry="failed"}') == 1
    from caas.core import jobs

    jobs.queue("events").failed_job_registry.requeue(failing)
    allow()
    run_worker(app, "events")
    text = scrape(client)
    assert value(text, 'caas_job_duration_seconds_count{outcome="succeeded",queue="events"}') == 1
    assert value(text, 'caas_job_duration_seconds_sum{outcome="succeeded",queue="events"}') < 5
    assert value(text, 'caas_queue_jobs{queue="events",registry="failed"}') == 0
    assert value(text, 'caas_queue_jobs{queue="events",registry="finished"}') == 1


def test_outbox_lag_workers_webhooks_and_latency(client, db, registered_worker):
    c = factories.client(db)
    with tenant.tenant_scope(c.id, db):
        row = outbox.enqueue_job(db, "tests.ops.jobs_for_tests.flaky", client_id=c.id)
        row.created_at = datetime.now(timezone.utc) - timedelta(seconds=120)
        db.flush()
    db.info.pop("caas_outbox_pending", None)
    db.commit()
    metrics.record_webhook("succeeded")
    metrics.record_webhook("succeeded")
    metrics.record_webhook("failed")
    get(client, "/healthz")
    text = scrape(client)
    assert value(text, "caas_outbox_unsent") == 1 and 120 <= value(text, "caas_outbox_lag_seconds") < 180
    assert value(text, "caas_workers") == 1 and value(text, "caas_worker_heartbeat_age_seconds") < 5
    assert value(text, 'caas_webhook_deliveries_total{outcome="succeeded"}') == 2
    assert value(text, 'caas_webhook_deliveries_total{outcome="failed"}') == 1
    assert value(text, 'caas_webhook_deliveries_total{outcome="retrying"}') == 0
    assert 'caas_http_request_duration_seconds_bucket{endpoint="ops.healthz"' in text
    assert value(text, 'caas_queue_depth{queue="default"}') == 0
