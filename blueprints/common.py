"""Helpers every portal uses: HTMX-aware rendering, the acting user as an audit Actor."""
from __future__ import annotations

from flask import g, render_template, request
from flask_login import current_user

from caas.audit.operations import Actor
from caas.core.extensions import htmx


def wants_partial() -> bool:
    """A partial only for HTMX requests that are neither boosted nor a history restore."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, partial: str | None = None, **context):
    """Render ``partial`` alone for a plain HTMX request, else the full ``page`` (which includes it)."""
    if partial and wants_partial():
        return render_template(partial, **context)
    return render_template(page, **context)


def redirect_after_post(target: str):
    """After a form step succeeds: HTMX follows an HX-Redirect header, a plain form a redirect."""
    from flask import redirect

    if wants_partial():
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


def local_url(url: str | None, default: str) -> str:
    """``url`` as a path (and query) on this site, for a ``next`` link or the page a form came from;
    ``default`` when it would leave the site: another host, a scheme-relative ``//host`` or
    ``/\\host`` (browsers read both as a host), ``javascript:`` and the like."""
    from urllib.parse import urlsplit

    if not url:
        return default
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", request.host) \
            or not parts.path.startswith("/") or parts.path.startswith(("//", "/\\")):
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


def refuse(exc) -> None:
    """A state-changing operation said no: undo it, answer 404 for an object that is not there,
    otherwise show the reason as a flash message."""
    from flask import abort, flash

    from caas.core.extensions import db

    db.session.rollback()
    if exc.status == 404:
        abort(404)
    flash(exc.message, "error")


def actor() -> Actor:
    user = current_user if current_user.is_authenticated else None
    return Actor(
        user_id=user.id if user else None,
        role=user.role.value if user else "anonymous",
        ip_address=request.remote_addr,
        request_id=g.get("request_id"),
    )


def home_url_for(user) -> str:
    from flask import url_for

    from caas.tenancy.models import Role

    if user.role == Role.borrower:
        return url_for("borrower.home", client_slug=user.client.slug)
    if user.role == Role.provider_user:
        return url_for("provider.home")
    return url_for("admin.home")


def money(minor: int | None, currency: str | None, *, code: bool = True) -> str:
    """Template filter: 25000000, "NGN" → "250,000.00 NGN" (exact, from the integer minor units)."""
    from caas.money import describe

    if minor is None or not currency:
        return "—"
    return describe(int(minor), currency, with_code=code)
