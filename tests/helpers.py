"""Small helpers for driving the app through its test client with CSRF on."""
from __future__ import annotations

import re

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
    return post_form(client, path, {"email": email, "password": password})


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
