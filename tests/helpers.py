"""Small helpers for driving the app through its test client with CSRF on."""
from __future__ import annotations

import re
from contextlib import nullcontext

BASE = "https://localhost"  # cookies are Secure, so the test client speaks https
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str) -> str:
    page = client.get(path, base_url=BASE).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def post_form(client, path: str, data: dict, *, token_from: str | None = None, **kwargs):
    token = csrf_token(client, token_from or path)
    headers = {"Referer": f"{BASE}{token_from or path}", **kwargs.pop("headers", {})}
    return client.post(path, data={**data, "csrf_token": token}, base_url=BASE, headers=headers, **kwargs)


def login(client, email: str, password: str, path: str = "/login"):
    """Log in as a person would: the password, then (two-factor on) the code from the authenticator
    holding factories.TOTP_SECRET. Returns the last answer: the redirect home when it worked."""
    return second_factor(client, post_form(client, path, {"email": email, "password": password}))


def totp_codes(secret: str | None = None):
    """The codes to try at the second step, with the moment to send each at: the current step's
    and the next one's (the app accepts one step either side), then later steps with the app's
    clock moved on. A code is good once, so a third log-in of one account within 30 seconds would
    wait for the next code in life; the tests move the clock instead of sleeping."""
    from datetime import timedelta

    import pyotp

    from caas.core import clock
    from caas.tenancy.two_factor import PERIOD
    from tests.factories import TOTP_SECRET

    now, totp = clock.now(), pyotp.TOTP(secret or TOTP_SECRET)
    for ahead in range(4):
        at = now + timedelta(seconds=PERIOD * max(ahead - 1, 0))
        yield totp.at(now, counter_offset=ahead), (at if ahead > 1 else None)


def second_factor(client, response, secret: str | None = None):
    """After a password step: type the code when the answer leads to the code page."""
    from caas.core import clock

    location = response.headers.get("Location", "") if response.status_code == 302 else ""
    if not location.endswith("/login/code"):
        return response
    for code, at in totp_codes(secret):
        with clock.frozen(at) if at else nullcontext():
            answer = post_form(client, location, {"code": code})
        if not (answer.status_code == 422 and "already been used" in answer.get_data(as_text=True)):
            return answer
    return answer


def enrol(client, path: str = "/login/two-factor", submit_to: str | None = None):
    """Set up two-factor as a person would: read the key shown as text on ``path``, type its
    current code (posted to ``submit_to``, by default the same page). Returns (secret, answer,
    recovery codes shown)."""
    import pyotp

    page = get(client, path).get_data(as_text=True)
    found = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page)
    assert found, f"no two-factor key shown on {path}"
    secret = found.group(1).replace(" ", "")
    answer = post_form(client, submit_to or path, {"code": pyotp.TOTP(secret).now()}, token_from=path)
    codes = re.findall(r'data-testid="recovery-code">([a-z0-9-]+)<', answer.get_data(as_text=True))
    return secret, answer, codes


def get(client, path: str, **kwargs):
    return client.get(path, base_url=BASE, **kwargs)


def field_errors(html: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field, message in re.findall(r'data-field-error="([^"]+)">([^<]*)<', html):
        errors.setdefault(field, []).append(message)
    return errors


class LoopbackServer:
    """A WSGI app served on 127.0.0.1 at a free port in a daemon thread: the base of the fake
    provider servers (payment gateways, identity registry). Subclasses define ``_wsgi``."""

    def __init__(self) -> None:
        import threading

        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
