"""Admin portal: the dashboard and the shared guard. Areas live in clients.py, providers.py,
tenant.py (a tenant's own pages) and audit.py."""
from __future__ import annotations

from contextlib import nullcontext
from functools import wraps

from flask import abort, g, render_template, request
from flask_login import current_user

from blueprints.admin import bp
from blueprints.common import actor
from blueprints.guards import require_roles
from caas.core.extensions import db
from caas.core.tenant import all_tenants_scope, get_visible
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


def acting_for(client_id, reason: str):
    """The scope an admin view acts in. A platform admin goes through the audited platform_access
    (one tenant, or with None a read across all); a client admin is in their own tenant already."""
    if current_user.role == Role.platform_admin:
        return operations.platform_access(db.session, actor(), client_id=client_id, reason=reason)
    return nullcontext()


def tenant_of(model, ident):
    """The tenant that owns row ``ident`` of ``model``, to act on it: a platform admin finds it across
    tenants (404 when there is none); a client admin acts in their own tenant, where another tenant's
    row is invisible, so the view's own read answers 404."""
    if current_user.role != Role.platform_admin:
        return current_user.client_id
    with all_tenants_scope(db.session):  # (``tenant`` here is the admin module of that name)
        found = get_visible(db.session, model, ident)
    if found is None:
        abort(404)
    return found.client_id


@bp.context_processor
def admin_context():
    context = {"is_platform": current_user.is_authenticated and current_user.role == Role.platform_admin}
    if current_user.is_authenticated and current_user.role == Role.client_admin:
        from caas.billing.quotas import warnings_for  # the 90 % / 100 % banner, this month only

        found = warnings_for(db.session, current_user.client_id)
        context["quota_banner"] = found[0] if found else None
    return context


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
from blueprints import notification_centre  # noqa: E402

notification_centre.add_routes(bp)
