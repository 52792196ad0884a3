"""The one role check each portal runs before every request.

Admins (platform and client) must have passed the second factor in this session: a session without
the mark (one begun before two-factor existed, or by any path that skipped it) is dropped and the
person sent to log in, where an admin without two-factor enrols before any admin page opens."""
from __future__ import annotations

from flask import abort, redirect, request, session, url_for
from flask_login import current_user, logout_user

from blueprints.auth import sessions as web_sessions
from caas.tenancy import two_factor
from caas.tenancy.models import Role


def require_roles(*roles: Role):
    allowed = set(roles)

    def guard():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        if current_user.role not in allowed:
            abort(403)
        if two_factor.required_for(current_user) and not web_sessions.passed_second_factor():
            logout_user()
            session.clear()  # only the cookie: a GET writes nothing; the server's row simply expires
            return redirect(url_for("auth.login", next=request.full_path))
        return None

    return guard
