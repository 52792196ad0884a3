"""Analytics in Chromium: a platform admin opens every dashboard from the nav and sees its charts
and tables, narrows the funnel to October over HTMX, and downloads a table as CSV; the demo
client's admin sees the funnel of their own client only."""
from __future__ import annotations

import pytest

from caas import demo
from caas.core.extensions import db
from caas.payments import service
from caas.payments.gateways import SandboxGateway
from caas.payments.routing import Router
from caas.tenancy import operations
from tests.analytics.world import build
from tests.browser.test_marketplace_browser import login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def world(live_app, live_server):
    """Demo data (its platform admin, Demo Lend and its admin) and the analytics world: Demo Lend
    is Alpha, with a second client Beta."""
    service.use(Router({"sandbox": SandboxGateway(settle_after=0)}))
    try:
        with live_app.app_context():
            demo.load()
            build(db.session, operations.get_client_by_slug(db.session, "demo"))
            db.session.commit()
            db.session.remove()
    finally:
        service.use(None)
    return live_server


def show_october(page) -> None:
    """Fill the period filter and wait for htmx to swap the figures in."""
    page.get_by_label("From").fill("2026-10-01")
    page.get_by_label("To").fill("2026-10-31")
    page.get_by_role("button", name="Show").click()
    page.get_by_test_id("analytics-window").filter(has_text="01 Oct 2026").wait_for()


def test_a_platform_admin_opens_every_dashboard(browser, world, tmp_path):
    base = world
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    login(page, base, "admin@caas.example.com")
    page.get_by_test_id("nav").get_by_role("link", name="Analytics").click()
    boards = page.get_by_test_id("analytics-boards")
    assert boards.get_by_role("link").all_inner_texts() == ["Funnel", "Volumes", "Revenue", "Providers", "Scoring"]
    for name, table in (("Funnel", "stages"), ("Volumes", "disbursed"), ("Revenue", "billing"),
                        ("Providers", "providers"), ("Scoring", "decisions")):
        page.get_by_test_id("analytics-tabs").get_by_role("link", name=name).click()
        assert page.get_by_role("heading", level=1).inner_text() == f"Analytics: {name}"
        chart = page.get_by_role("img").first
        assert chart.is_visible() and chart.locator(":scope > title").text_content()
        assert page.get_by_test_id(f"table-{table}").is_visible()

    # the funnel of October, through the HTMX filter (the page is not reloaded: the tabs stay put)
    page.get_by_test_id("analytics-tabs").get_by_role("link", name="Funnel").click()
    show_october(page)
    assert "date_from=2026-10-01" in page.url
    overall = page.get_by_test_id("table-stages").locator("tbody tr")
    assert overall.nth(0).locator("td").first.inner_text() == "5"  # submitted
    assert overall.nth(4).locator("td").first.inner_text() == "1"  # disbursed
    assert page.get_by_role("img").first.locator("rect").count() == 5  # a bar per stage
    per_client = page.get_by_test_id("table-funnel").locator("tbody th").all_inner_texts()
    assert per_client == ["Beta Credit", "Demo Lend", "All clients"]

    # a bad period: the message at the field, swapped in by HTMX (422)
    page.get_by_label("To").fill("2026-09-01")
    page.get_by_role("button", name="Show").click()
    page.locator('[data-field-error="date_to"]').wait_for()
    assert page.locator('[data-field-error="date_to"]').inner_text() == "The end must be on or after the start."

    page.get_by_label("To").fill("2026-10-31")
    page.get_by_role("button", name="Show").click()
    page.get_by_test_id("table-funnel").wait_for()
    with page.expect_download() as info:
        page.get_by_test_id("csv-funnel").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert info.value.suggested_filename == "funnel-funnel-all-2026-10-01-2026-10-31.csv"
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("Client,Submitted,Approved") and lines[-1].startswith("All clients,5,4,")
    # the tabs follow the period chosen over HTMX
    page.get_by_test_id("analytics-tabs").get_by_role("link", name="Volumes").click()
    assert page.get_by_test_id("analytics-window").inner_text().startswith("01 Oct 2026 – 31 Oct 2026")
    context.close()


def test_the_client_admin_sees_their_own_funnel(browser, world):
    page = browser.new_page()
    login(page, world, "admin@demolend.example.com")
    page.get_by_test_id("nav").get_by_role("link", name="Analytics").click()
    assert page.get_by_test_id("analytics-tabs").get_by_role("link").all_inner_texts() == [
        "Overview", "Funnel", "Volumes"]
    page.get_by_test_id("analytics-tabs").get_by_role("link", name="Funnel").click()
    show_october(page)
    assert page.get_by_test_id("table-funnel").locator("tbody th").all_inner_texts() == ["Demo Lend", "All clients"]
    assert page.get_by_role("img").first.is_visible()
    page.close()
