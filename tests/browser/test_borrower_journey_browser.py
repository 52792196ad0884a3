"""A borrower signs up on the demo client's portal, completes the profile, uploads a PDF, walks the
wizard, submits, and watches the status page move to screening, in Chromium."""
from __future__ import annotations

import re

import pytest

from caas.core import worker

pytestmark = pytest.mark.browser


def test_sign_up_profile_document_apply_and_watch_status(browser, live_app, live_server, demo_client, tmp_path):
    page = browser.new_context().new_page()
    base = f"{live_server}/c/{demo_client}"
    page.goto(base + "/signup")
    page.get_by_label("Full name").fill("Chioma Browser")
    page.get_by_label("E-mail").fill("chioma@example.com")
    page.get_by_label("Password", exact=True).fill("chioma-long-password")
    page.get_by_label("Repeat password").fill("chioma-long-password")
    page.get_by_role("button", name="Create account").click()
    page.get_by_test_id("home-title").wait_for()

    page.get_by_test_id("nav").get_by_role("link", name="Profile").click()
    page.get_by_label("Legal name").fill("Chioma Eze")
    page.get_by_label("Date of birth").fill("1992-06-30")
    page.get_by_label("Phone").fill("+2348091112233")
    page.get_by_label("Address").fill("3 Allen Avenue, Ikeja, Lagos")
    page.get_by_label("National ID").fill("1234567890")  # 10 digits: refused at the field
    page.get_by_label("Employment status").select_option("self_employed")
    page.get_by_label("Employer or business").fill("Chioma Fabrics")
    page.get_by_label("Months with this employer").fill("40")
    page.get_by_label("Monthly net income").fill("600000")
    page.get_by_label("Monthly expenses").fill("200000")
    page.get_by_label("Existing monthly debt payments").fill("0")
    page.get_by_role("button", name="Save profile").click()
    assert page.locator('[data-field-error="national_id"]').inner_text() == "Enter your 11-digit BVN or NIN."
    page.get_by_label("National ID").fill("12345678901")
    page.get_by_role("button", name="Save profile").click()
    page.get_by_test_id("home-title").wait_for()

    page.get_by_test_id("nav").get_by_role("link", name="Documents").click()
    pdf = tmp_path / "payslip.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% a payslip\n")
    page.get_by_label("Document").select_option("proof_of_income")
    page.get_by_label("File (PDF, JPEG or PNG, at most 10 MB)").set_input_files(str(pdf))
    page.get_by_role("button", name="Upload").click()
    assert page.get_by_test_id("document-row").count() == 1

    consent_and_review(page, amount="200000", term="6", purpose="working capital")
    assert page.get_by_test_id("indicative-apr").inner_text() == "24.00%"
    page.get_by_role("button", name="Submit application").click()
    status = page.get_by_test_id("application-status")
    status.wait_for()
    assert status.inner_text() == "submitted"

    worker.run(live_app, ["scoring"], burst=True, with_cron=False)  # screening, then the decision
    page.get_by_test_id("timeline").filter(has_text="screening").wait_for(timeout=10_000)
    page.get_by_test_id("application-status").filter(has_text=re.compile("open for offers|declined|referred")).wait_for(
        timeout=10_000)

def consent_and_review(page, *, amount: str, term: str, purpose: str) -> None:
    """On Demo Lend's portal with a saved profile: give both consents, then go through the
    application's steps to its review (the caller checks what it needs and submits)."""
    page.get_by_test_id("nav").get_by_role("link", name="Consents").click()
    page.get_by_label("I agree that Demo Lend").check()
    page.get_by_label("I authorise Demo Lend").check()
    page.get_by_role("button", name="Save consents").click()
    page.get_by_test_id("nav").get_by_role("link", name="My credit").click()
    page.get_by_role("button", name="Apply for credit").click()
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Term (months)").select_option(term)
    page.get_by_label("Purpose").select_option(purpose)
    page.get_by_role("button", name="Continue").click()
    page.get_by_test_id("apply-step").filter(has_text="Your income").wait_for()
    page.get_by_label("My income and expenses above are correct").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_test_id("apply-step").filter(has_text="Review and submit").wait_for()
