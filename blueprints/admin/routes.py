"""Admin portal: the dashboard and the shared guard. Areas live in clients.py, providers.py,
tenant.py (a tenant's own pages) and audit.py."""
from __future__ import annotations

from functools import wraps

from flask import abort, g, render_template, request
from flask_login import current_user

from blueprints.admin import bp
from blueprints.common import actor
from blueprints.guards import require_roles
from caas.core.extensions import db
from caas.tenancy import operations
from caas.tenancy.models import Client, Role

bp.before_request(require_roles(Role.platform_admin, Role.client_admin))

APPLICATION_STATES = ("submitted", "screening", "referred", "approved", "open_for_offers", "offer_accepted",
                      "disbursing", "active", "declined", "withdrawn", "expired", "scoring_failed")


def platform_only(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.role != Role.platform_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def tenant_page(view):
    """A page about one tenant. A client admin may open only their own (another id answers 404);
    a platform admin enters through the audited platform_access path, committed with the page."""
    @wraps(view)
    def wrapper(client_id, *args, **kwargs):
        if current_user.role == Role.client_admin:
            if client_id != current_user.client_id:
                abort(404)
            g.scoped_client = current_user.client
            return view(client_id, *args, **kwargs)
        client = db.session.get(Client, client_id)
        if client is None:
            abort(404)
        with operations.platform_access(db.session, actor(), client_id=client_id, reason=request.endpoint or ""):
            g.scoped_client = client
            response = view(client_id, *args, **kwargs)
            db.session.commit()
        return response
    return wrapper


@bp.context_processor
def admin_context():
    return {"is_platform": current_user.is_authenticated and current_user.role == Role.platform_admin}


@bp.route("/")
def home():
    if current_user.role == Role.platform_admin:
        with operations.platform_access(db.session, actor(), client_id=None, reason="admin dashboard"):
            counts = operations.tenant_counts(db.session)
        db.session.commit()
        return render_template("admin/platform_home.html", counts=counts)
    from caas.credit.applications import counts_by_status

    counts = operations.tenant_counts(db.session)
    by_status = counts_by_status(db.session)
    return render_template("admin/client_home.html", counts=counts, client=current_user.client,
                           states={state: by_status.get(state, 0) for state in APPLICATION_STATES})


from blueprints.admin import audit, clients, credit, deliveries, ledger, providers, tenant  # noqa: E402,F401
