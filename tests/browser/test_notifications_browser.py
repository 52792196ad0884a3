"""The notification centre in Chromium: the nav's unread badge (loaded and polled by HTMX), the
centre, mark one and mark all read, the badge following along without a page load."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from caas.core import tenant
from caas.core.extensions import db
from caas.credit import notifications
from caas.market.models import ProviderNotification
from tests import factories
from tests.browser import helpers

pytestmark = pytest.mark.browser


@dataclass
class People:
    slug: str
    client_id: object
    borrower_email: str
    borrower_id: object
    lender_email: str


@pytest.fixture(scope="module")
def people(live_app, live_server):
    live_app.config["NOTIFICATION_POLL_SECONDS"] = 1  # the badge polls every second here
    with live_app.app_context():
        session = db.session
        client = factories.client(session)
        borrower = factories.borrower(session, client)
        provider = factories.provider(session)
        lender = factories.provider_user(session, provider)
        with tenant.tenant_scope(client.id, session):
            notifications.notify(session, client.id, borrower.id, "Your application is now submitted.",
                                 link="/applications/1")
            notifications.notify(session, client.id, borrower.id, "You have a new offer from Acme Capital.")
        session.add(ProviderNotification(provider_id=provider.id, text="Your offer on listing ab12cd34 won.",
                                         link="/provider/bids?status=accepted"))
        notifications.notify(session, None, lender.id, "Repayment of 17,250.00 NGN received on loan ab12cd34.")
        people = People(client.slug, client.id, borrower.email, borrower.id, lender.email)
        session.commit()
        session.remove()
    return people


def log_in(page, url: str, email: str) -> None:
    helpers.log_in(page, url, email, factories.PASSWORD)


def test_a_borrower_sees_the_badge_opens_the_centre_and_marks_all_read(page, live_app, live_server, people):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, f"{live_server}/c/{people.slug}/login", people.borrower_email)
    page.wait_for_url(f"{live_server}/c/{people.slug}/")
    badge = page.get_by_test_id("nav-unread")
    expect(badge).to_have_text("2")
    expect(badge).to_be_visible()

    # a notice arrives while the page is open: the badge polls and shows it without a reload
    with live_app.app_context():
        with tenant.tenant_scope(people.client_id, db.session):
            notifications.notify(db.session, people.client_id, people.borrower_id, "Reminder: 17,250.00 NGN is due.")
            db.session.commit()
        db.session.remove()
    expect(badge).to_have_text("3", timeout=5000)

    page.get_by_test_id("nav-notifications").click()
    page.wait_for_url(f"{live_server}/c/{people.slug}/notifications")
    items = page.get_by_test_id("notification")
    expect(items).to_have_count(3)
    expect(page.locator('[data-testid="notification"][data-read="no"]')).to_have_count(3)
    expect(page.get_by_role("link", name="Your application is now submitted.")).to_have_attribute(
        "href", f"/c/{people.slug}/applications/1")

    page.get_by_test_id("mark-all-read").click()  # an HTMX POST with the CSRF header
    expect(page.locator('[data-testid="notification"][data-read="yes"]')).to_have_count(3)
    expect(page.get_by_test_id("centre-unread")).to_have_text("0 unread")
    expect(badge).to_be_hidden()
    expect(badge).to_have_attribute("data-count", "0")
    assert page.url == f"{live_server}/c/{people.slug}/notifications"  # no page load
    page.reload()
    expect(page.get_by_test_id("nav-unread")).to_have_attribute("data-count", "0")
    assert not [e for e in errors if re.search(r"Content Security Policy|htmx", e, re.I)], errors


def test_a_lender_marks_one_notice_read_and_the_badge_follows(page, live_server, people):
    log_in(page, f"{live_server}/login", people.lender_email)
    page.wait_for_url(f"{live_server}/provider/")
    badge = page.get_by_test_id("nav-unread")
    expect(badge).to_have_text("2")  # the provider's notice and the lender's own
    page.get_by_test_id("nav-notifications").click()
    page.wait_for_url(f"{live_server}/provider/notifications")
    won = page.locator('[data-testid="notification"]', has_text="won")
    won.get_by_test_id("mark-read").click()
    expect(won).to_have_attribute("data-read", "yes")
    expect(badge).to_have_text("1")
    expect(page.locator('[data-testid="notification"][data-read="no"]')).to_have_text(
        re.compile("Repayment of 17,250.00 NGN received"))
