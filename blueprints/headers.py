"""Security headers on every response, and the per-request nonce of the one inline <style> we keep
(the client's brand colour on the borrower portal).

The Content-Security-Policy allows no inline script, no eval and no inline style attributes: pages
load htmx and app.js from /static, and htmx is configured for it (``allowEval: false``,
``includeIndicatorStyles: false`` in base.html's htmx-config meta tag). HSTS is sent when
``HSTS_SECONDS`` is set (production); on http://localhost in development it would pin the browser.
"""
from __future__ import annotations

import secrets

from flask import Flask, g

HTML_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
               "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"


def csp_nonce() -> str:
    """This request's nonce (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def install(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    hsts = int(app.config.get("HSTS_SECONDS") or 0)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        if response.mimetype == "text/html":
            headers["Content-Security-Policy"] = HTML_POLICY.format(nonce=csp_nonce())
        elif response.mimetype == "application/json":  # nothing in an API answer may load or run
            headers.setdefault("Content-Security-Policy", JSON_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if hsts:
            headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
        return response
