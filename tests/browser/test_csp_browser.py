"""The Content-Security-Policy in a real Chromium: inline styles and inline script are refused, the
watch every browser test runs under notices a refusal, and the borrower portal keeps the client's
colour through the nonce of its one inline <style>."""
from __future__ import annotations

import pytest

from tests.browser.conftest import CSP_REFUSALS

pytestmark = pytest.mark.browser


def test_chromium_refuses_inline_style_and_script_and_the_watch_sees_it(browser, live_server):
    page = browser.new_page()
    page.goto(f"{live_server}/login")
    assert page.evaluate("() => window.htmx !== undefined")  # htmx itself loads from /static
    page.evaluate("""() => {
        document.body.setAttribute('style', 'background: red');
        const s = document.createElement('script'); s.textContent = 'window.pwned = true'; document.body.appendChild(s);
    }""")
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.pwned") is None
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
    refused = list(CSP_REFUSALS)
    CSP_REFUSALS.clear()  # this test made them on purpose
    assert any("inline style" in text for text in refused) and any("inline script" in text for text in refused)
    page.context.close()


def test_the_borrower_portal_keeps_its_brand_colour_through_the_nonce(browser, live_app, live_server):
    from caas.core.extensions import db
    from tests import factories

    with live_app.app_context():
        slug = factories.client(db.session, brand_colour="#0a7d32").slug
        db.session.commit()
        db.session.remove()
    page = browser.new_page()
    response = page.goto(f"{live_server}/c/{slug}/login")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy and "'nonce-" in policy
    brand = page.evaluate("() => getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()")
    assert brand == "#0a7d32"
    page.context.close()
