"""Payouts for admins: a list with filters, and a payout's detail (state history, gateway calls
with secrets never stored, reconciliation flags) with a retry button for failed ones. Platform
admins read every client through the audited all-tenants path; client admins their own."""
from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for

from blueprints.admin import bp
from blueprints.admin.routes import acting_for, tenant_of
from blueprints.borrower.forms import ConfirmForm
from blueprints.common import actor, refuse
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.payments import payouts
from caas.payments.models import Payout
from caas.payments.states import PayoutState


@bp.route("/payouts")
def payouts_list():
    status = request.args.get("status") or None
    gateway = request.args.get("gateway") or None
    flagged = request.args.get("flagged") == "1"
    with acting_for(None, "payouts list"):
        rows = payouts.list_page(db.session, status=status, gateway=gateway, flagged=flagged)
        db.session.commit()
    return render_template("admin/payouts.html", rows=rows, status=status, gateway=gateway, flagged=flagged,
                           states=[s.value for s in PayoutState])


@bp.route("/payouts/<uuid:payout_id>")
def payout_detail(payout_id: uuid.UUID):
    with acting_for(tenant_of(Payout, payout_id), "payout detail"):
        try:
            payout = payouts.get(db.session, payout_id)
        except DomainError:
            abort(404)
        calls = payouts.calls(db.session, payout.id)
        page = render_template("admin/payout_detail.html", payout=payout, calls=calls, confirm=ConfirmForm())
        db.session.commit()
    return page


@bp.route("/payouts/<uuid:payout_id>/retry", methods=["POST"])
def payout_retry(payout_id: uuid.UUID):
    with acting_for(tenant_of(Payout, payout_id), "payout retry"):
        try:
            payouts.retry(db.session, actor(), payout_id)
        except DomainError as exc:
            refuse(exc)
        else:
            db.session.commit()
            flash("The payout is sent again as a new attempt.", "success")
    return redirect(url_for("admin.payout_detail", payout_id=payout_id))

