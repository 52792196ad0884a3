"""A live server on loopback and a real Chromium (Debian's package) driven by Playwright.

The live server is a second app instance on the test database whose data is really committed, so
these fixtures clean up after themselves by truncating, as the owner, what they created.
"""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from tests.conftest import make_config

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def live_app(app, found_services):
    from app import create_app

    application = create_app(make_config(found_services))
    yield application


@pytest.fixture(scope="module")
def live_server(live_app, owner):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # localhost, not 127.0.0.1: Chromium keeps Secure cookies for http://localhost (a secure context).
    url = f"http://localhost:{server.server_port}"
    live_app.config["PUBLIC_BASE_URL"] = url
    yield url
    server.shutdown()
    truncate_all(owner)


@pytest.fixture(scope="module")
def demo_client(live_app, live_server):
    """The demo data (caas.demo) committed for the live server; the demo client's slug."""
    from caas import demo
    from caas.core.extensions import db

    with live_app.app_context():
        demo.load()
        db.session.remove()
    return "demo"


def truncate_all(owner) -> None:
    """Remove what the live server committed. TRUNCATE is not a row DELETE, so the audit log's
    append-only trigger does not fire; only the owner may do this."""
    with owner.begin() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                   "AND tablename <> 'alembic_version'")).all()
        # Append-only tables refuse TRUNCATE through triggers; the owner cleaning test data may
        # switch triggers off for this transaction (replica role), nobody else can.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        # The published price plan (tier rows, seeded by migration 0600) is reference data, not test data.
        plan = conn.execute(text("SELECT * FROM price_book WHERE client_id IS NULL")).mappings().all()
        conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        if plan:
            columns = list(plan[0].keys())
            conn.execute(text(f"INSERT INTO price_book ({', '.join(columns)}) VALUES "
                              f"({', '.join(':' + c for c in columns)})"), [dict(row) for row in plan])


CSP_REFUSALS: list[str] = []  # what Chromium refused under our Content-Security-Policy in this test


def _note_csp_refusal(message) -> None:
    if "Content Security Policy" in message.text:
        CSP_REFUSALS.append(message.text)


class WatchedBrowser:
    """The browser, with the console of every context it opens watched for CSP refusals, so that
    every browser test also proves its pages work under the policy (no inline script or style)."""

    def __init__(self, browser) -> None:
        self._browser = browser

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        context.on("console", _note_csp_refusal)
        return context

    def new_page(self, **options):
        return self.new_context(**options).new_page()

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "chromium is missing: run scripts/ensure-chromium.sh (make test does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield WatchedBrowser(browser)
        browser.close()


@pytest.fixture(autouse=True)
def no_csp_refusals():
    CSP_REFUSALS.clear()
    yield
    assert not CSP_REFUSALS, f"the page broke the Content-Security-Policy: {CSP_REFUSALS}"


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
