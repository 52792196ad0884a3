"""The request side of a log-in session (caas.tenancy.sessions keeps the rows).

``begin`` rotates the session at log-in: the old cookie's contents (its CSRF token included) are
dropped and a new server-side session is opened. ``still_valid`` runs in the user loader on every
request: the session must be open on the server, younger than PERMANENT_SESSION_LIFETIME, and have
moved within SESSION_IDLE_SECONDS. ``finish`` ends it at log-out.
"""
from __future__ import annotations

from functools import wraps

from flask import current_app, request, session, url_for
from flask_login import login_user, logout_user

from blueprints.common import local_url, redirect_after_post
from caas.core import clock, security
from caas.core.extensions import db
from caas.tenancy import sessions as user_sessions

TOKEN, SEEN, AUTH_AT = "_sid", "_seen", "_auth_at"
SEEN_RESOLUTION = 60  # seconds: the cookie is re-signed at most once a minute for the idle clock


def begin(user, *, password_changed: bool = False) -> None:
    """Log ``user`` in with a fresh session. The caller commits. After a password change every
    other session of the user ends."""
    now = clock.now()
    if password_changed:
        user_sessions.end_all(db.session, user.id, now, "password_changed")
    token = user_sessions.start(db.session, user, now, ip_address=request.remote_addr,
                                user_agent=request.user_agent.string)
    session.clear()
    login_user(user)
    session[TOKEN] = token
    session[SEEN] = session[AUTH_AT] = int(now.timestamp())


def confirm_password(user, password: str) -> bool:
    """Re-authentication before a sensitive change: the password again, then it counts as recent."""
    if not security.verify_password(user.password_hash, password):
        return False
    session[AUTH_AT] = int(clock.now().timestamp())
    return True


def recently_authenticated() -> bool:
    at = session.get(AUTH_AT)
    return isinstance(at, int) and clock.now().timestamp() - at <= current_app.config["REAUTH_SECONDS"]


def recent_login_required(view):
    """For views that change API keys, webhook secrets or bank details: a POST more than
    REAUTH_SECONDS after the password was last typed is sent to confirm it first (nothing is
    changed; the person submits again after confirming)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method == "POST" and not recently_authenticated():
            back = local_url(request.referrer, request.full_path.rstrip("?"))  # the page the form was on
            # (the borrower portal's url_defaults add this client's slug)
            target = url_for("borrower.reauth" if request.blueprint == "borrower" else "auth.reauth", next=back)
            return redirect_after_post(target)
        return view(*args, **kwargs)
    return wrapper


def still_valid(user) -> bool:
    now = clock.now()
    seen = session.get(SEEN)
    config = current_app.config
    if not isinstance(seen, int) or now.timestamp() - seen > config["SESSION_IDLE_SECONDS"]:
        return False
    lifetime = current_app.permanent_session_lifetime  # PERMANENT_SESSION_LIFETIME as a timedelta
    if not user_sessions.is_open(db.session, user.id, session.get(TOKEN), now, lifetime):
        return False
    if now.timestamp() - seen >= SEEN_RESOLUTION:
        session[SEEN] = int(now.timestamp())
    return True


def finish() -> None:
    """Log out: end the server-side session (committed by the caller) and clear the cookie."""
    user_sessions.end(db.session, session.get(TOKEN), clock.now(), "logout")
    logout_user()
    session.clear()
