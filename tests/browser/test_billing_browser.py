"""Billing in Chromium: the platform admin issues last month's invoice of the demo client from the
billing pages, then the client admin sees this month's usage chart and downloads the invoice PDF."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from caas import demo
from caas.billing import run
from caas.billing.periods import Period
from caas.billing.usage import UsageInput, record_many
from caas.core import tenant
from caas.core.extensions import db
from tests.browser.test_marketplace_browser import login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def billed(live_app, live_server):
    now = datetime.now(timezone.utc)
    last = Period.of(now).previous()
    with live_app.app_context():
        demo.load()
        from caas.tenancy import operations

        client = operations.get_client_by_slug(db.session, "demo")
        with tenant.tenant_scope(client.id, db.session):
            record_many(db.session, [UsageInput(client.id, "application_processed", "browser-this-month", quantity=4,
                                                occurred_at=now)])
        db.session.commit()
        run.execute(db.session, last, client_slug="demo", triggered_by="test")  # demo-data made it: nothing new
        db.session.remove()
    return last


def test_platform_admin_issues_and_client_admin_downloads_the_invoice_pdf(browser, live_server, billed, tmp_path):
    base = live_server
    admin = browser.new_context(accept_downloads=True)
    page = admin.new_page()
    login(page, base, "admin@caas.example.com")
    page.get_by_role("link", name="Billing").click()
    page.get_by_role("link", name="All invoices").click()
    page.get_by_label("Month").fill(str(billed))
    page.get_by_role("button", name="Filter").click()
    row = page.get_by_test_id("invoice-row").filter(has_text="Demo Lend")
    row.get_by_role("link", name="INV-").click()
    page.get_by_role("button", name="Issue the invoice").click()
    assert page.get_by_test_id("invoice-status").inner_text() == "issued"
    total = page.get_by_test_id("invoice-total").inner_text()
    assert total == "1,950.00 NGN"  # demo data: 13 applications x 100.00 + 13 risk assessments x 50.00
    admin.close()

    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    login(page, base, "admin@demolend.example.com")
    page.get_by_role("link", name="Usage & invoices").click()
    chart = page.get_by_test_id("usage-chart")
    assert chart.locator("svg").count() == 5
    cells = page.get_by_test_id("usage-application_processed").locator("td").all_inner_texts()
    assert cells[0] == "Application processing" and int(cells[1]) >= 4  # ours, plus the demo's own application
    with page.expect_download() as info:
        page.get_by_test_id("invoice-pdf-link").first.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert info.value.suggested_filename.startswith("INV-") and saved.read_bytes().startswith(b"%PDF-")
    context.close()
