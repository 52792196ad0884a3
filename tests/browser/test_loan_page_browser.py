"""The borrower's loan page in Chromium: the balance chart (and its table), the PDF statement
downloaded; auto-debit turned on and a hardship plan asked for, with the message at the field."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from caas.core import tenant
from caas.core.extensions import db
from caas.tenancy.models import User
from tests import factories
from tests.browser.test_marketplace_browser import login
from tests.market.world import bid_input, lender, open_application

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def active_loan(live_app, live_server):
    """An active NGN 100,000.00 loan over 6 months at 24%, paid out today, first instalment paid."""
    from caas.loans import repayments
    from caas.market import acceptance, bids
    from caas.payments import payouts, service
    from caas.tenancy import policy as policies

    now = datetime.now(timezone.utc)
    with live_app.app_context():
        session = db.session
        client = factories.client(session, legal_name="Statement Test Lending Ltd")
        with tenant.tenant_scope(client.id, session):
            policies.save(session, factories.SYSTEM, client.id, policies.default_policy("NGN"))
        provider = lender(session, client, funds_minor=1_000_000_00)
        opened = open_application(session, client, amount_minor=100_000_00, term=6, now=now, name="Bisi Statement")
        with tenant.provider_scope(provider.id, session):
            bid = bids.place(session, factories.SYSTEM, provider.id, opened.listing_id,
                             bid_input(rate="24", term=6, fee_minor=0, valid_until=now + timedelta(days=5)), now)
        with tenant.tenant_scope(client.id, session):
            loan = acceptance.accept(session, factories.SYSTEM, application_id=opened.application_id, bid_id=bid.id,
                                     typed_name="Bisi Statement", consent=True, agreement_sha256=None,
                                     channel="portal", ip_address=None, now=now, borrower_id=opened.borrower_id)
            session.commit()
            payouts.process(session, payouts.for_loan(session, loan.id).id, service.router(), now)
            session.commit()
            locked = repayments.lock_loan(session, loan.id)
            first = repayments.start(session, locked, repayments.quote(session, locked, "instalment", now.date()),
                                     "portal")
            session.commit()
            repayments.charge(session, first, service.router(), authorization_code="AUTH_browser_1",
                              email="bisi@example.com", on=now.date())
            session.commit()
            email = session.get(User, opened.borrower_id).email
            loan_id = loan.id
        session.remove()
    return client, loan_id, email


def test_the_borrower_sees_the_balance_chart_and_downloads_the_statement(browser, live_server, active_loan):
    client, loan_id, email = active_loan
    page = browser.new_context(accept_downloads=True).new_page()
    login(page, live_server, email, password=factories.PASSWORD, path=f"/c/{client.slug}/login")
    page.goto(f"{live_server}/c/{client.slug}/loans/{loan_id}")
    chart = page.get_by_test_id("balance-chart")
    chart.wait_for()
    assert chart.is_visible() and chart.bounding_box()["height"] > 50
    assert page.get_by_test_id("balance-actual").count() == 1 and page.get_by_test_id("balance-scheduled").count() == 1
    table = page.get_by_test_id("balance-table")
    assert not table.is_visible()  # folded until asked for
    page.get_by_text("As a table").click()
    rows = page.get_by_test_id("balance-row")
    assert rows.count() == 1 + 6  # today (the payout and the first payment) and six due dates
    assert "100,000.00 NGN" in rows.nth(0).inner_text()  # planned on the payout day
    # after the first instalment was paid ahead, the balance went down at once; the plan waits for the due date
    today_row = rows.nth(0).inner_text()
    assert today_row.count("NGN") == 2 and not today_row.strip().endswith("100,000.00 NGN")

    with page.expect_download() as info:
        page.get_by_test_id("statement-link").click()
    download = info.value
    assert download.suggested_filename.startswith("loan-statement-") and download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as fh:
        data = fh.read()
    assert data.startswith(b"%PDF-") and len(data) > 5_000


def test_the_borrower_turns_on_auto_debit_and_asks_for_a_hardship_plan(browser, live_server, active_loan):
    client, loan_id, email = active_loan
    page = browser.new_context().new_page()
    login(page, live_server, email, password=factories.PASSWORD, path=f"/c/{client.slug}/login")
    page.goto(f"{live_server}/c/{client.slug}/loans/{loan_id}")
    page.get_by_role("button", name="Turn on auto-debit").click()
    page.get_by_text("Auto-debit is on").wait_for()
    assert "Sandbox card" in page.get_by_test_id("auto-debit").inner_text()
    assert page.get_by_role("button", name="Cancel auto-debit").count() == 1

    hardship = page.get_by_test_id("hardship")
    hardship.get_by_label("What has changed?").fill("ill")
    hardship.get_by_label("What would help").select_option("extension")
    hardship.get_by_label("For how many months").fill("3")
    hardship.get_by_role("button", name="Ask for a new plan").click()
    assert page.locator('[data-field-error="reason"]').inner_text() == "Tell us in a sentence what has changed."
    hardship = page.get_by_test_id("hardship")
    hardship.get_by_label("What has changed?").fill("My hours at work were cut in half this month.")
    hardship.get_by_role("button", name="Ask for a new plan").click()
    page.get_by_text("Your request is with our team").wait_for()
    assert "(extension, 3 months) is with our team" in page.get_by_test_id("hardship").inner_text()
