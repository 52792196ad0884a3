"""The one role check each portal runs before every request."""
from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_login import current_user

from caas.tenancy.models import Role


def require_roles(*roles: Role):
    allowed = set(roles)

    def guard():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        if current_user.role not in allowed:
            abort(403)
        return None

    return guard
