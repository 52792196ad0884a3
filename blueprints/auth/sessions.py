"""The request side of a log-in session (caas.tenancy.sessions keeps the rows).

``begin`` rotates the session at log-in: the old cookie's contents (its CSRF token included) are
dropped and a new server-side session is opened. ``still_valid`` runs in the user loader on every
request: the session must be open on the server, younger than PERMANENT_SESSION_LIFETIME, and have
moved within SESSION_IDLE_SECONDS. ``finish`` ends it at log-out.

Between the password and the second factor (caas.tenancy.two_factor) nobody is logged in: ``hold``
keeps who typed the right password, which step is due (a code, or enrolment for an admin without
two-factor) and until when (TWO_FACTOR_PENDING_SECONDS), in the signed cookie; ``held`` reads it
back. Only after the code does ``begin`` start the session, marked as having passed the second factor.
"""
from __future__ import annotations

from functools import wraps

from flask import current_app, request, session, url_for
from flask_login import login_user, logout_user

from blueprints.common import local_url, redirect_after_post
from caas.core import clock, security
from caas.core.extensions import db
from caas.tenancy import sessions as user_sessions
from caas.tenancy.models import Role

TOKEN, SEEN, AUTH_AT = "_sid", "_seen", "_auth_at"
PENDING, SECOND_FACTOR = "_pending", "_2fa"
SEEN_RESOLUTION = 60  # seconds: the cookie is re-signed at most once a minute for the idle clock


def begin(user, *, password_changed: bool = False, second_factor: bool = False) -> None:
    """Log ``user`` in with a fresh session. The caller commits. After a password change every
    other session of the user ends. ``second_factor``: the person has just given a two-factor code
    (the portals of the roles that require it refuse a session without this mark)."""
    now = clock.now()
    if password_changed:
        user_sessions.end_all(db.session, user.id, now, "password_changed")
    token = user_sessions.start(db.session, user, now, ip_address=request.remote_addr,
                                user_agent=request.user_agent.string)
    session.clear()
    login_user(user)
    session[TOKEN] = token
    session[SEEN] = session[AUTH_AT] = int(now.timestamp())
    if second_factor:
        session[SECOND_FACTOR] = True


def passed_second_factor() -> bool:
    return session.get(SECOND_FACTOR) is True


def hold(user, stage: str, home: str, *, password_changed: bool = False) -> None:
    """The password was right and a second factor is due (``stage``: "code" or "enrol"): remember
    the person for a few minutes without logging them in. A changed password ends every other
    session now, whether or not the code follows. The caller commits."""
    now = clock.now()
    if password_changed:
        user_sessions.end_all(db.session, user.id, now, "password_changed")
    session.clear()
    session[PENDING] = {"user": str(user.id), "client": str(user.client_id or ""), "stage": stage, "home": home,
                        "until": int(now.timestamp()) + current_app.config["TWO_FACTOR_PENDING_SECONDS"]}


def held(stage: str, portal_client=None):
    """The user waiting at ``stage`` (staff at the common log-in; on a client's portal, given as
    ``portal_client``, one of its borrowers), or None when nobody is, the few minutes have passed,
    or the account may no longer log in."""
    import uuid

    from caas.core import tenant
    from caas.tenancy import operations

    data = session.get(PENDING)
    if not isinstance(data, dict) or data.get("stage") != stage or not isinstance(data.get("until"), int) \
            or data["until"] < clock.now().timestamp():
        return None
    try:
        user_id = uuid.UUID(data["user"])
        held_client = uuid.UUID(data["client"]) if data["client"] else None
    except (KeyError, TypeError, ValueError):
        return None
    if portal_client is not None and held_client != portal_client.id:
        return None
    tenant.set_tenant(held_client, db.session)
    user = operations.load_user(db.session, user_id)
    if user is None or not user.is_active or user.client_id != held_client \
            or (user.role == Role.borrower) != (portal_client is not None) \
            or (user.client is not None and not user.client.is_active):
        return None
    return user


def held_home() -> str:
    return local_url((session.get(PENDING) or {}).get("home"), "/")


def held_key() -> str:
    """Who a code attempt is for (the throttle's key): the account waiting, else the address."""
    data = session.get(PENDING)
    user = data.get("user") if isinstance(data, dict) else None
    return f"second-factor:{user or request.remote_addr}"


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
