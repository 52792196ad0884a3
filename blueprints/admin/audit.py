"""The audit trail: platform admins see every tenant's rows (an audited read); client admins see
only their own tenant's, which row-level security enforces."""
from __future__ import annotations

import uuid

from flask import request
from flask_login import current_user

from blueprints.admin import bp
from blueprints.admin.forms import AuditFilterForm
from blueprints.common import actor, render
from caas.audit.operations import AuditFilters, list_entries
from caas.core.extensions import db
from caas.tenancy import operations
from caas.tenancy.models import Role


@bp.route("/audit")
def audit():
    form = AuditFilterForm(request.args)
    form.validate()
    filters = AuditFilters(actor=form.actor.data or "", action=form.action.data or "",
                           date_from=form.date_from.data, date_to=form.date_to.data)
    before = request.args.get("before", type=int)
    if current_user.role == Role.platform_admin:
        if form.client.data:
            client = operations.get_client_by_slug(db.session, form.client.data)
            filters.client_id = client.id if client else uuid.uuid4()  # unknown slug: no rows
        with operations.platform_access(db.session, actor(), client_id=None, reason="audit trail"):
            rows, next_before = list_entries(db.session, filters, before_seq=before)
        db.session.commit()
    else:
        rows, next_before = list_entries(db.session, filters, before_seq=before)
    return render("admin/audit.html", "admin/_audit_table.html", form=form, rows=rows, next_before=next_before,
                  args={k: v for k, v in request.args.items() if k != "before"})
