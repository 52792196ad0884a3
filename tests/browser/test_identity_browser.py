"""A client admin requires identity verification; a borrower whose BVN ends in 9 (the sandbox's
"another person") applies; scoring refers the application and the admin sees why, in Chromium."""
from __future__ import annotations

import pytest

from caas import demo
from tests.browser import helpers
from tests.browser.test_borrower_journey_browser import consent_and_review
from caas.core import worker
from caas.credit import identity

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_client(demo_client):
    identity.use(None)  # the sandbox, from the test configuration
    return demo_client


def log_in(page, url: str, email: str) -> None:
    helpers.log_in(page, url, email, demo.PASSWORD)


def test_policy_on_and_a_mismatched_bvn_is_referred_with_the_reason(browser, live_app, live_server, demo_client):
    admin = browser.new_context().new_page()
    log_in(admin, f"{live_server}/login", "admin@demolend.example.com")
    admin.get_by_role("link", name="Policy").click()
    switch = admin.get_by_label("Require identity verification")
    assert not switch.is_checked()
    switch.check()
    admin.get_by_role("button", name="Save policy").click()
    admin.get_by_text("Credit policy saved.").wait_for()
    assert admin.get_by_label("Require identity verification").is_checked()

    borrower = browser.new_context().new_page()
    base = f"{live_server}/c/{demo_client}"
    log_in(borrower, f"{base}/login", "ada@borrower.example.com")
    borrower.get_by_test_id("home-title").wait_for()
    borrower.get_by_test_id("nav").get_by_role("link", name="Profile").click()
    borrower.get_by_label("Legal name").fill("Ada Obi")
    borrower.get_by_label("Date of birth").fill("1991-03-14")
    borrower.get_by_label("Phone").fill("+2348091112233")
    borrower.get_by_label("Address").fill("3 Allen Avenue, Ikeja, Lagos")
    borrower.get_by_label("National ID").fill("22111111119")  # the sandbox: ends in 9, another person's
    borrower.get_by_label("Employment status").select_option("employed")
    borrower.get_by_label("Employer or business").fill("Lagos Textiles")
    borrower.get_by_label("Months with this employer").fill("60")
    borrower.get_by_label("Monthly net income").fill("600000")
    borrower.get_by_label("Monthly expenses").fill("150000")
    borrower.get_by_label("Existing monthly debt payments").fill("0")
    borrower.get_by_role("button", name="Save profile").click()
    borrower.get_by_test_id("home-title").wait_for()
    consent_and_review(borrower, amount="200000", term="6", purpose="working capital")
    borrower.get_by_role("button", name="Submit application").click()
    borrower.get_by_test_id("application-status").wait_for()

    worker.run(live_app, ["scoring"], burst=True, with_cron=False)
    borrower.get_by_test_id("application-status").filter(has_text="referred").wait_for(timeout=10_000)
    borrower.get_by_test_id("nav").get_by_role("link", name="Profile").click()
    assert "We could not verify your identity" in borrower.get_by_test_id("identity-result").inner_text()

    admin.get_by_role("link", name="Applications").click()  # the referral queue
    row = admin.get_by_test_id("admin-application-row").filter(has_text="IDENTITY_NOT_VERIFIED")
    row.get_by_role("link", name="Ada Borrower").click()
    assert admin.get_by_test_id("admin-application-status").inner_text() == "referred"
    assert admin.get_by_test_id("identity-status").inner_text() == "mismatched"
    assert admin.get_by_test_id("identity-reference").inner_text().startswith("sbx_")
    reasons = admin.get_by_text("BVN does not match the sandbox record")
    assert "date of birth differs" in reasons.first.inner_text()
