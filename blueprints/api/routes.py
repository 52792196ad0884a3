"""The JSON API. Every endpoint but the index authenticates an API key, which sets the tenant."""
from __future__ import annotations

from functools import wraps

from flask import g, jsonify, request

from blueprints.api import bp
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.tenancy import apikeys

PUBLIC = {"api.index"}


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    return jsonify(exc.as_json()), exc.status


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC:
        return None
    try:
        g.principal = apikeys.authenticate(db.session, request.headers.get("Authorization"))
    except apikeys.ApiAuthError as exc:
        db.session.rollback()
        response = jsonify(exc.as_json())
        response.status_code = exc.status
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="caas"'
        return response
    db.session.commit()  # last_used_at
    from caas.core import tenant
    tenant.set_tenant(g.principal.client_id, db.session)  # the commit ended the transaction; keep the tenant
    return None


def require_scope(scope: str):
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if scope not in g.principal.scopes:
                return jsonify({"error": {"code": "insufficient_scope",
                                          "message": f"This API key lacks the '{scope}' scope."}}), 403
            return view(*args, **kwargs)
        return wrapper
    return decorate


@bp.route("/")
def index():
    return jsonify({"api": "caas", "version": "v1"})


@bp.route("/ping")
def ping():
    principal = g.principal
    return jsonify({"ok": True, "client": principal.client_slug, "mode": principal.mode,
                    "scopes": sorted(principal.scopes)})


@bp.route("/providers")
@require_scope("applications:read")
def providers():
    """The client's provider network: the lenders who may bid on its applications."""
    from caas.tenancy import operations

    return jsonify({"data": [
        {"id": str(row.provider.id), "legal_name": row.provider.legal_name, "country": row.provider.country,
         "currencies": list(row.provider.currencies)}
        for row in operations.network(db.session) if row.provider.is_active
    ]})
