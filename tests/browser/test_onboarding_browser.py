"""From "create client" to a successful API call, in Chromium, timed."""
from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

from caas.core import worker
from caas.core.extensions import db
from caas.events import mail
from tests import factories
from tests.browser.helpers import enrol, log_in

pytestmark = pytest.mark.browser
PASSWORD = "platform-admin-password"


@pytest.fixture(scope="module")
def platform_admin(live_app, live_server):
    with live_app.app_context():
        factories.platform_admin(db.session, email="pat@platform.example.com", full_name="Pat Platform",
                                 password=PASSWORD)
        db.session.commit()
        db.session.remove()
    return "pat@platform.example.com"


def test_onboard_client_invite_admin_create_key_call_api(browser, live_app, live_server, platform_admin,
                                                        record_property):
    started = time.monotonic()
    page = browser.new_context().new_page()
    log_in(page, live_server + "/login", platform_admin, PASSWORD)
    page.get_by_role("link", name="Onboard a client").click()

    # Step 1: identity and brand (HTMX swaps each step in place)
    page.get_by_label("Legal name").fill("Naira Now Ltd")
    page.get_by_label("Display name").fill("Naira Now")
    page.get_by_label("Portal slug").fill("naira-now")
    page.get_by_label("Country (ISO 3166, e.g. NG)").fill("NG")
    page.get_by_label("Default currency (ISO 4217, e.g. NGN)").fill("NGX")
    page.get_by_role("button", name="Continue").click()
    assert page.locator('[data-field-error="currency"]').inner_text() == "Not an ISO 4217 currency we support."
    page.get_by_label("Default currency (ISO 4217, e.g. NGN)").fill("NGN")
    page.get_by_role("button", name="Continue").click()
    # Step 2: tier and quotas
    page.get_by_test_id("wizard-step").filter(has_text="Tier and quotas").wait_for()
    page.get_by_label("Tier").select_option("professional")
    page.get_by_role("button", name="Continue").click()
    # Step 3: services
    page.get_by_test_id("wizard-step").filter(has_text="Services").wait_for()
    page.get_by_role("button", name="Continue").click()
    # Step 4: the first client admin
    page.get_by_test_id("wizard-step").filter(has_text="First client admin").wait_for()
    page.get_by_label("Full name").fill("Ngozi Admin")
    page.get_by_label("E-mail").fill("ngozi@nairanow.example.com")
    page.get_by_role("button", name="Create client and invite admin").click()
    page.get_by_test_id("welcome-title").wait_for()
    assert page.get_by_test_id("portal-url").inner_text().endswith("/c/naira-now/login")

    # The invitation goes out through the outbox and a worker.
    worker.run(live_app, ["default"], burst=True, with_cron=False)
    messages = mail.messages_to("ngozi@nairanow.example.com", live_app.config["MAIL_DIR"])
    assert len(messages) == 1
    link = re.search(r"(http://localhost:\d+/invite/\S+)", messages[0].get_body(("plain",)).get_content()).group(1)

    admin_page = browser.new_context().new_page()
    admin_page.goto(link)
    admin_page.get_by_label("New password").fill("ngozi-strong-password")
    admin_page.get_by_label("Repeat password").fill("ngozi-strong-password")
    admin_page.get_by_role("button", name="Set password").click()
    enrol(admin_page)  # an admin sets up two-factor before any admin page opens
    admin_page.get_by_role("link", name="I have saved them, continue").click()
    admin_page.get_by_test_id("home-title").wait_for()
    assert admin_page.get_by_test_id("home-title").inner_text() == "Naira Now administration"
    admin_page.get_by_role("link", name="API keys").click()
    admin_page.get_by_label("Name").fill("Production backend")
    admin_page.get_by_label("Mode").select_option("live")
    admin_page.get_by_role("button", name="Create key").click()
    key = admin_page.get_by_test_id("new-api-key").inner_text().strip()

    request = urllib.request.Request(live_server + "/api/v1/ping", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        body = json.loads(response.read())
    elapsed = time.monotonic() - started
    assert body["client"] == "naira-now" and body["mode"] == "live"

    record_property("onboarding_seconds", round(elapsed, 2))
    out = Path(live_app.config["MAIL_DIR"]).parent / "onboarding_seconds.txt"
    out.write_text(f"{elapsed:.2f}\n")
    print(f"\nonboarding, create client to first successful API call: {elapsed:.2f} s wall clock")
    assert elapsed < 120, "onboarding should take minutes, not more"
