"""Log in through the real pages, as a person does: e-mail and password, then (two-factor on) the
code of the authenticator holding factories.TOTP_SECRET (the demo's secret too)."""
from __future__ import annotations

from contextlib import nullcontext

from caas.core import clock
from tests.helpers import totp_codes


def log_in(page, url: str, email: str, password: str, secret: str | None = None) -> None:
    """Open the log-in page at ``url`` and log in; returns once the page after it has loaded."""
    page.goto(url)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if page.url.split("?")[0].endswith("/login/code"):
        type_code(page, secret)


def type_code(page, secret: str | None = None) -> None:
    """The second step: the current code; a code already used (this account logged in moments ago)
    is followed by the next one, as in tests/helpers.second_factor."""
    for code, at in totp_codes(secret):
        page.get_by_label("Code").fill(code)
        with clock.frozen(at) if at else nullcontext(), page.expect_navigation():
            page.get_by_role("button", name="Verify").click()
        if not page.url.split("?")[0].endswith("/login/code") or "already been used" not in page.content():
            return


def enrol(page) -> str:
    """On a two-factor set-up page: read the key shown as text, type its current code, and return
    the key (the recovery codes page is open afterwards)."""
    import pyotp

    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor").click()
    page.get_by_test_id("recovery-codes").wait_for()
    return secret
