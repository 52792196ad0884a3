"""A tenant's own pages, for its client admins and (audited) platform admins: credit policy, API
keys, webhook endpoints, users."""
from __future__ import annotations

import uuid
from decimal import Decimal

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

from blueprints.admin import bp
from blueprints.auth.sessions import recent_login_required
from blueprints.admin.forms import ApiKeyForm, ConfirmForm, PersonForm, PolicyForm, WebhookForm
from blueprints.admin.routes import tenant_page
from blueprints.common import actor, refuse, render
from blueprints.forms_util import apply_error, split_codes, split_ints
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.events import webhooks
from caas.money import from_minor, to_minor
from caas.tenancy import apikeys, operations
from caas.tenancy import policy as policies
from caas.tenancy.models import CreditPolicy, Role


# --- Credit policy --------------------------------------------------------------------------------

@bp.route("/clients/<uuid:client_id>/policy", methods=["GET", "POST"])
@tenant_page
def policy(client_id: uuid.UUID):
    client = g.scoped_client
    current = db.session.get(CreditPolicy, client_id)
    currency = client.default_currency
    form = PolicyForm()
    if request.method == "GET" and current is not None:
        form.currencies.data = ", ".join(current.currencies)
        form.min_amount.data = from_minor(current.min_amount_minor, currency)
        form.max_amount.data = from_minor(current.max_amount_minor, currency)
        form.allowed_terms.data = ", ".join(str(t) for t in current.allowed_terms)
        form.max_debt_to_income.data = current.max_debt_to_income
        form.min_age.data = current.min_age
        form.auto_decline_below_grade.data = current.auto_decline_below_grade
        form.bidding_window_hours.data = current.bidding_window_hours
        form.acceptance_window_hours.data = current.acceptance_window_hours
        form.write_off_days_past_due.data = current.write_off_days_past_due
        form.reference_annual_rate.data = current.reference_annual_rate * 100
        form.late_fee.data = from_minor(current.late_fee_minor, currency)
        form.penalty_annual_rate.data = current.penalty_annual_rate * 100
        form.overpayment.data = current.overpayment
        form.require_identity_verification.data = current.require_identity_verification
    if form.validate_on_submit():
        try:
            values = policies.PolicyInput(
                currencies=split_codes(form.currencies.data),
                min_amount_minor=to_minor(form.min_amount.data, currency),
                max_amount_minor=to_minor(form.max_amount.data, currency),
                allowed_terms=split_ints(form.allowed_terms.data, "allowed_terms"),
                max_debt_to_income=form.max_debt_to_income.data, min_age=form.min_age.data,
                auto_decline_below_grade=form.auto_decline_below_grade.data,
                bidding_window_hours=form.bidding_window_hours.data,
                acceptance_window_hours=form.acceptance_window_hours.data or 48,
                write_off_days_past_due=form.write_off_days_past_due.data,
                reference_annual_rate=(form.reference_annual_rate.data / Decimal(100)),
                late_fee_minor=to_minor(form.late_fee.data or 0, currency),
                penalty_annual_rate=(form.penalty_annual_rate.data or Decimal(0)) / Decimal(100),
                overpayment=form.overpayment.data,
                require_identity_verification=bool(form.require_identity_verification.data),
            )
            policies.save(db.session, actor(), client_id, values)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc, {"min_amount_minor": "min_amount", "max_amount_minor": "max_amount"})
        else:
            db.session.commit()
            flash("Credit policy saved.", "success")
            return redirect(url_for("admin.policy", client_id=client_id))
    return render_template("admin/policy.html", form=form, client=client, currency=currency), \
        (422 if form.errors else 200)


# --- API keys -------------------------------------------------------------------------------------

@bp.route("/clients/<uuid:client_id>/keys", methods=["GET", "POST"])
@recent_login_required
@tenant_page
def keys(client_id: uuid.UUID):
    form = ApiKeyForm()
    secret = None
    if form.validate_on_submit():
        try:
            key, secret = apikeys.issue(db.session, actor(), client_id, name=form.name.data, mode=form.mode.data,
                                        scopes=form.scopes.data)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            db.session.commit()
            form = ApiKeyForm(formdata=None)
    return render("admin/keys.html", "admin/_keys.html", form=form, keys=apikeys.list_keys(db.session),
                  secret=secret, client=g.scoped_client, confirm=ConfirmForm()), (422 if form.errors else 200)


@bp.route("/clients/<uuid:client_id>/keys/<uuid:key_id>/revoke", methods=["POST"])
@tenant_page
def key_revoke(client_id: uuid.UUID, key_id: uuid.UUID):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        key = apikeys.revoke(db.session, actor(), key_id)
    except DomainError as exc:
        refuse(exc)
    else:
        db.session.commit()
        flash(f"Key {key.prefix} revoked.", "success")
    return redirect(url_for("admin.keys", client_id=client_id))


@bp.route("/clients/<uuid:client_id>/keys/<uuid:key_id>/rotate", methods=["POST"])
@recent_login_required
@tenant_page
def key_rotate(client_id: uuid.UUID, key_id: uuid.UUID):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        key, secret = apikeys.rotate(db.session, actor(), key_id)
    except DomainError as exc:
        refuse(exc)
        return redirect(url_for("admin.keys", client_id=client_id))
    db.session.commit()
    return render_template("admin/keys.html", form=ApiKeyForm(formdata=None), keys=apikeys.list_keys(db.session),
                           secret=secret, client=g.scoped_client, confirm=ConfirmForm())


# --- Webhook endpoints ----------------------------------------------------------------------------

@bp.route("/clients/<uuid:client_id>/webhooks", methods=["GET", "POST"])
@recent_login_required
@tenant_page
def webhook_endpoints(client_id: uuid.UUID):
    form = WebhookForm()
    secret = None
    if form.validate_on_submit():
        try:
            _, secret = webhooks.create(db.session, actor(), client_id, url=form.url.data, events=form.events.data,
                                        allow_http=current_app.config["ALLOW_HTTP_WEBHOOKS"])
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            db.session.commit()
            form = WebhookForm(formdata=None)
    return render_template("admin/webhooks.html", form=form, endpoints=webhooks.list_endpoints(db.session),
                           secret=secret, client=g.scoped_client, confirm=ConfirmForm()), (422 if form.errors else 200)


@bp.route("/clients/<uuid:client_id>/webhooks/<uuid:endpoint_id>/<any(enable, disable):action>", methods=["POST"])
@tenant_page
def webhook_toggle(client_id: uuid.UUID, endpoint_id: uuid.UUID, action: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        webhooks.set_enabled(db.session, actor(), endpoint_id, action == "enable")
    except DomainError as exc:
        refuse(exc)
    else:
        db.session.commit()
    return redirect(url_for("admin.webhook_endpoints", client_id=client_id))


# --- Users ----------------------------------------------------------------------------------------

@bp.route("/clients/<uuid:client_id>/users", methods=["GET", "POST"])
@tenant_page
def users(client_id: uuid.UUID):
    form = PersonForm()
    if form.validate_on_submit():
        try:
            operations.invite_user(db.session, actor(), role=Role.client_admin, email=form.email.data,
                                   full_name=form.full_name.data, client_id=client_id)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            db.session.commit()
            flash(f"Invitation sent to {form.email.data}.", "success")
            return redirect(url_for("admin.users", client_id=client_id))
    return render_template("admin/users.html", form=form, users=operations.client_admins(db.session),
                           client=g.scoped_client, confirm=ConfirmForm()), (422 if form.errors else 200)


@bp.route("/clients/<uuid:client_id>/users/<uuid:user_id>/remove", methods=["POST"])
@tenant_page
def user_remove(client_id: uuid.UUID, user_id: uuid.UUID):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        user = operations.remove_client_admin(db.session, actor(), user_id)
    except DomainError as exc:
        refuse(exc)
    else:
        db.session.commit()
        flash(f"{user.full_name} can no longer sign in.", "success")
    return redirect(url_for("admin.users", client_id=client_id))


# --- Borrower documents ----------------------------------------------------------------------------

@bp.route("/clients/<uuid:client_id>/documents/<uuid:document_id>")
@tenant_page
def document_download(client_id: uuid.UUID, document_id: uuid.UUID):
    """Client admins and platform admins may download a borrower's document; each download is audited."""
    from flask import send_file

    from caas.credit import documents

    try:
        document, path = documents.open_for_download(db.session, actor(), current_app.config["UPLOAD_DIR"],
                                                     document_id, owner_id=None)
    except DomainError:
        abort(404)
    db.session.commit()
    return send_file(path, mimetype=document.content_type, as_attachment=True,
                     download_name=f"{document.kind}{path.suffix}")
