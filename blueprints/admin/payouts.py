"""Payouts for admins: a list with filters, and a payout's detail (state history, gateway calls
with secrets never stored, reconciliation flags) with a retry button for failed ones. Platform
admins read every client through the audited all-tenants path; client admins their own."""
from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.admin import bp
from blueprints.borrower.forms import ConfirmForm
from blueprints.common import actor, refuse
from caas.core import tenant
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.payments import payouts
from caas.payments.states import PayoutState
from caas.tenancy import operations
from caas.tenancy.models import Role


def _is_platform() -> bool:
    return current_user.role == Role.platform_admin


@bp.route("/payouts")
def payouts_list():
    status = request.args.get("status") or None
    gateway = request.args.get("gateway") or None
    flagged = request.args.get("flagged") == "1"
    if _is_platform():
        with operations.platform_access(db.session, actor(), client_id=None, reason="payouts list"):
            rows = payouts.list_page(db.session, status=status, gateway=gateway, flagged=flagged)
            db.session.commit()
    else:
        rows = payouts.list_page(db.session, status=status, gateway=gateway, flagged=flagged)
    return render_template("admin/payouts.html", rows=rows, status=status, gateway=gateway, flagged=flagged,
                           states=[s.value for s in PayoutState])


def _scoped(payout_id: uuid.UUID):
    """The payout and the scope to act on it: a client admin only their own (others 404)."""
    if _is_platform():
        with tenant.all_tenants_scope(db.session):
            found = tenant.get_visible(db.session, payouts.Payout, payout_id)
        if found is None:
            abort(404)
        return found.client_id
    return current_user.client_id


@bp.route("/payouts/<uuid:payout_id>")
def payout_detail(payout_id: uuid.UUID):
    client_id = _scoped(payout_id)
    with _acting(client_id, "payout detail"):
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
    client_id = _scoped(payout_id)
    with _acting(client_id, "payout retry"):
        try:
            payouts.retry(db.session, actor(), payout_id)
        except DomainError as exc:
            refuse(exc)
        else:
            db.session.commit()
            flash("The payout is sent again as a new attempt.", "success")
    return redirect(url_for("admin.payout_detail", payout_id=payout_id))


def _acting(client_id: uuid.UUID, reason: str):
    """A platform admin acts for the payout's tenant through the audited path; a client admin is in
    their own tenant already."""
    if _is_platform():
        return operations.platform_access(db.session, actor(), client_id=client_id, reason=reason)
    return _noop()


class _noop:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
