"""Across two portals in Chromium: a provider sets criteria and bids, a second provider bids, the
borrower sees both ranked by APR and accepts the better one, the loan page shows the schedule, and
the losing provider sees its bid as lost."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from caas import demo
from caas.core.extensions import db
from tests import factories
from tests.browser.helpers import log_in
from tests.market.world import open_application

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def market(live_app, live_server):
    with live_app.app_context():
        demo.load()
        from caas.tenancy import operations

        client = operations.get_client_by_slug(db.session, "demo")
        opened = open_application(db.session, client, amount_minor=777_000_00, term=12, grade="B",
                                  now=datetime.now(timezone.utc), name="Kemi Browser")
        from caas.core import tenant
        from caas.tenancy.models import User

        with tenant.tenant_scope(client.id, db.session):
            email = db.session.get(User, opened.borrower_id).email
        db.session.commit()
        db.session.remove()
    return opened, email


def login(page, base, email, password=demo.PASSWORD, path="/login"):
    log_in(page, base + path, email, password)


def bid(page, base, rate: str, fee: str):
    page.goto(base + "/provider/market")
    row = page.get_by_test_id("listing-row").filter(has_text="777,000.00 NGN")
    row.get_by_role("link", name="Bid").click()
    page.get_by_label("Nominal annual rate (%)").fill(rate)
    page.get_by_label("% of the amount").check()
    page.get_by_label("Origination fee", exact=True).fill(fee)
    page.get_by_test_id("preview-apr").wait_for()  # the loan maths answered through HTMX before saving
    instalment = page.get_by_test_id("preview-instalment").inner_text()
    page.get_by_test_id("save-bid").click()
    page.get_by_test_id("own-bid-status").wait_for()
    assert page.get_by_test_id("own-bid-status").inner_text() == "open"
    return instalment


def test_two_providers_bid_and_the_borrower_accepts_the_better_offer(browser, live_app, live_server, market):
    opened, borrower_email = market
    acme = browser.new_context().new_page()
    login(acme, live_server, "lender@acmecapital.example.com")
    acme.get_by_test_id("nav").get_by_role("link", name="Criteria").click()
    acme.get_by_label("Name of this set").fill("Large SME loans")
    acme.get_by_label("Currencies (comma-separated ISO codes)").fill("NGN")
    acme.get_by_label("Smallest amount").fill("500000")
    acme.get_by_label("Largest amount").fill("1000")  # below the smallest: refused at the field
    acme.get_by_label("Shortest term (months)").fill("6")
    acme.get_by_label("Longest term (months)").fill("24")
    acme.get_by_label("Worst acceptable grade").select_option("C")
    acme.get_by_label("Business expansion").check()
    acme.get_by_role("button", name="Save criteria").click()
    assert acme.locator('[data-field-error="max_amount"]').inner_text() == "The maximum must be at least the minimum."
    acme.get_by_label("Largest amount").fill("2000000")
    acme.get_by_role("button", name="Save criteria").click()
    assert acme.get_by_test_id("criteria-table").get_by_text("Large SME loans").count() == 1
    acme_instalment = bid(acme, live_server, "32", "1")

    baobab = browser.new_context().new_page()
    login(baobab, live_server, "lender@baobab.example.com")
    baobab_instalment = bid(baobab, live_server, "26", "1")
    assert baobab_instalment != acme_instalment

    borrower = browser.new_context().new_page()
    login(borrower, live_server, borrower_email, password=factories.PASSWORD, path="/c/demo/login")
    borrower.goto(f"{live_server}/c/demo/applications/{opened.application_id}")
    rows = borrower.get_by_test_id("offer-row")
    assert rows.count() == 2
    assert "Baobab Finance" in rows.nth(0).inner_text() and "Acme Capital" in rows.nth(1).inner_text()
    assert rows.nth(0).get_by_test_id("best-offer").count() == 1
    rows.nth(0).get_by_role("link", name="Review and accept").click()
    assert borrower.get_by_test_id("offer-instalment").inner_text() == baobab_instalment.strip()
    assert "LOAN AGREEMENT" in borrower.get_by_test_id("agreement-text").inner_text()
    borrower.get_by_label("Type your full legal name to sign").fill("Kemi Browser")
    borrower.get_by_role("button", name="Sign and accept").click()
    assert borrower.locator('[data-field-error="consent"]').count() == 1  # the box was not ticked
    borrower.get_by_label("I have read the loan agreement above and accept it.").check()
    borrower.get_by_label("Type your full legal name to sign").fill("Kemi Browser")
    borrower.get_by_role("button", name="Sign and accept").click()
    borrower.get_by_test_id("schedule").wait_for()
    assert borrower.get_by_test_id("schedule-row").count() == 12
    assert borrower.get_by_test_id("loan-status").inner_text() == "pending disbursement"

    # the payout job (sandbox gateway) pays it; the loan is active and the admin sees the payout
    from caas.core import worker

    worker.run(live_app, ["payouts"], burst=True, with_cron=False)
    borrower.reload()
    assert borrower.get_by_test_id("loan-status").inner_text() == "active"
    assert "succeeded" in borrower.get_by_test_id("payout-status").inner_text()
    admin = browser.new_context().new_page()
    login(admin, live_server, "admin@caas.example.com")
    admin.get_by_test_id("nav").get_by_role("link", name="Payouts").click()
    row = admin.get_by_test_id("payout-row").filter(has_text="769,230.00 NGN")  # 777,000 less the 1% fee
    assert row.get_by_test_id("payout-status").inner_text() == "succeeded"

    # the borrower pays the first instalment (sandbox charge) and sees it paid; the winning lender
    # sees the repayment in its portfolio
    borrower.get_by_role("button", name=re.compile("^Pay ")).click()
    borrower.get_by_text("received.").wait_for()
    marks = borrower.get_by_test_id("row-mark")
    assert marks.nth(0).inner_text() == "paid" and marks.nth(1).inner_text() == "due next"
    assert borrower.get_by_test_id("payment-row").count() == 1
    baobab.get_by_test_id("nav").get_by_role("link", name="Portfolio").click()
    assert baobab.get_by_test_id("portfolio-loan").count() == 1
    assert baobab.get_by_test_id("interest-NGN").inner_text() != "0.00 NGN"

    acme.goto(f"{live_server}/provider/bids")
    statuses = acme.get_by_test_id("bid-row").filter(has_text="777,000.00").get_by_test_id("bid-status")
    assert statuses.inner_text() == "lost"
    baobab.goto(f"{live_server}/provider/bids?status=won")
    assert baobab.get_by_test_id("bid-row").count() == 1
