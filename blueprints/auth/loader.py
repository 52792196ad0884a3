"""Flask-Login's user loader. The session id carries the tenant, which is set before the row is read."""
from __future__ import annotations

import uuid

from flask import session

from blueprints.auth import sessions as web_sessions
from caas.core import tenant
from caas.core.extensions import db
from caas.tenancy import operations


def load_user_from_session(user_id: str):
    try:
        raw_user, _, raw_client = user_id.partition(":")
        uid = uuid.UUID(raw_user)
        client_id = uuid.UUID(raw_client) if raw_client else None
    except ValueError:
        return None
    tenant.set_tenant(client_id, db.session)
    user = operations.load_user(db.session, uid)
    if user is None or not user.is_active or user.client_id != client_id:
        return None
    if not web_sessions.still_valid(user):  # ended on the server, expired, or idle too long
        session.clear()
        return None
    return user
