"""The request side of a log-in session (caas.tenancy.sessions keeps the rows).

``begin`` rotates the session at log-in: the old cookie's contents (its CSRF token included) are
dropped and a new server-side session is opened. ``still_valid`` runs in the user loader on every
request: the session must be open on the server, younger than SESSION_ABSOLUTE_SECONDS, and have
moved within SESSION_IDLE_SECONDS. ``finish`` ends it at log-out.
"""
from __future__ import annotations

from flask import current_app, request, session
from flask_login import login_user, logout_user

from caas.core import clock
from caas.core.extensions import db
from caas.tenancy import sessions as user_sessions

TOKEN, SEEN = "_sid", "_seen"
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
    session[SEEN] = int(now.timestamp())


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
