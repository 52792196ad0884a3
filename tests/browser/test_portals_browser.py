"""Each role logs in through the real login page in Chromium and sees its home page."""
from __future__ import annotations

import pytest

from caas import demo
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_data(demo_client):
    return {role: (email, path) for role, email, path in demo.LOGINS}


@pytest.mark.parametrize("role, home_path, title", [
    ("platform admin", "/admin/", "Platform administration"),
    ("client admin", "/admin/", "Demo Lend administration"),
    ("provider user", "/provider/", "Acme Capital: marketplace"),
    ("borrower", "/c/demo/", "Welcome, Ada Borrower"),
])
def test_each_role_logs_in_and_sees_its_home(page, live_server, demo_data, role, home_path, title):
    email, login_path = demo_data[role]
    log_in(page, live_server + login_path, email, demo.PASSWORD)  # the admins type their code too
    page.wait_for_url(live_server + home_path)
    assert page.get_by_test_id("home-title").inner_text() == title
    assert role.replace(" ", "_") in page.get_by_test_id("whoami").inner_text().replace(" ", "_")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(lambda url: "/login" in url)


def test_wrong_password_is_shown_at_the_field(page, live_server, demo_data):
    page.goto(live_server + "/login")
    page.get_by_label("E-mail").fill("admin@caas.example.com")
    page.get_by_label("Password").fill("definitely-not-it")
    page.get_by_role("button", name="Log in").click()
    assert page.locator('[data-field-error="password"]').inner_text() == "Invalid e-mail or password."


def test_borrower_signs_up_in_the_browser(page, live_server, demo_data):
    page.goto(live_server + "/c/demo/signup")
    assert "Demo Lend" in page.title()
    page.get_by_label("Full name").fill("Bola Browser")
    page.get_by_label("E-mail").fill("bola@example.com")
    page.get_by_label("Password", exact=True).fill("bola-long-password")
    page.get_by_label("Repeat password").fill("bola-long-password")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(live_server + "/c/demo/")
    assert page.get_by_test_id("home-title").inner_text() == "Welcome, Bola Browser"
