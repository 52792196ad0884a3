"""Two-factor in Chromium: an admin without it enrols from the QR page after the password (the key
shown as text, the code computed by pyotp as a phone would), then logs in again with a code."""
from __future__ import annotations

import pyotp
import pytest

from caas.core.extensions import db
from tests import factories
from tests.browser.helpers import enrol, log_in, type_code

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def admin_email(live_app, live_server):
    with live_app.app_context():
        factories.platform_admin(db.session, email="new.admin@platform.example.com", two_factor_on=False)
        db.session.commit()
        db.session.remove()
    return "new.admin@platform.example.com"


def test_an_admin_enrols_then_logs_in_with_a_code(browser, live_server, admin_email):
    page = browser.new_context().new_page()
    log_in(page, f"{live_server}/login", admin_email, factories.PASSWORD)
    assert page.url == f"{live_server}/login/two-factor"
    assert page.get_by_test_id("totp-qr").locator("svg").is_visible()  # the QR code, inline SVG under the CSP
    page.goto(f"{live_server}/admin/")  # no admin page before enrolling
    assert page.url.startswith(f"{live_server}/login")
    page.goto(f"{live_server}/login/two-factor")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Turn on two-factor").click()
    assert "not right" in page.locator('[data-field-error="code"]').inner_text()
    secret = enrol(page)
    codes = page.get_by_test_id("recovery-code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them, continue").click()
    page.wait_for_url(f"{live_server}/admin/")
    assert page.get_by_test_id("home-title").inner_text() == "Platform administration"
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(lambda url: "/login" in url)

    # Again: the password, then the code page; a wrong code is refused at the field.
    page.get_by_label("E-mail").fill(admin_email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/login/code")
    wrong = str((int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000).zfill(6)
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Verify").click()
    assert "not right" in page.locator('[data-field-error="code"]').inner_text()
    type_code(page, secret)  # the enrolment spent this step's code: the helper types the next one
    page.wait_for_url(f"{live_server}/admin/")
    page.get_by_test_id("nav-two-factor").click()
    assert "authentication is on since" in page.get_by_test_id("two-factor-status").inner_text()
    assert page.get_by_test_id("recovery-left").inner_text() == "10"
