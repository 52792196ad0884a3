"""Applications for admins: lists by status (the referral queue, failed scoring), one application
with its decision record, the review of a referral, and the retry of failed scoring."""
from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from blueprints.admin import bp
from blueprints.admin.forms import ConfirmForm
from blueprints.admin.routes import tenant_page
from blueprints.common import actor, refuse
from blueprints.forms_util import apply_error
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.credit import applications, decisions, documents, identity, profiles
from caas.credit.identity import records as identity_records
from caas.credit.models import ApplicationStatus as S
from caas.tenancy import operations
from caas.tenancy.models import Client, CreditPolicy, Role


class ReviewForm(FlaskForm):
    outcome = SelectField("Decision", choices=[("approve", "Approve"), ("decline", "Decline")])
    note = TextAreaField("Note", validators=[DataRequired(message="Write a note that explains the decision."),
                                             Length(max=2000)])


@bp.route("/applications")
def applications_list():
    status = request.args.get("status", "referred")
    try:
        wanted = S(status)
    except ValueError:
        abort(404)
    if current_user.role == Role.platform_admin:
        with operations.platform_access(db.session, actor(), client_id=None, reason=f"applications:{status}"):
            rows = decisions.in_status(db.session, wanted)
            clients = {c.id: c for c in db.session.query(Client).all()}
        db.session.commit()
    else:
        rows = decisions.in_status(db.session, wanted)
        clients = {current_user.client_id: current_user.client}
    return render_template("admin/applications.html", rows=rows, status=wanted, clients=clients,
                           statuses=[s for s in S if s != S.draft])


@bp.route("/clients/<uuid:client_id>/applications/<uuid:application_id>", methods=["GET"])
@tenant_page
def application_detail(client_id: uuid.UUID, application_id: uuid.UUID):
    try:
        application = applications.get(db.session, application_id)
    except DomainError:
        abort(404)
    return _detail(application, client_id, ReviewForm(formdata=None))


def _detail(application, client_id: uuid.UUID, form: ReviewForm, status: int = 200):
    decision = decisions.latest_decision(db.session, application.id)
    profile = profiles.get(db.session, application.borrower_id)
    verification = identity_records.shown_for(db.session, profile, decision.inputs if decision else None,
                                              identity.fingerprint_key())
    policy = db.session.get(CreditPolicy, application.client_id)
    return render_template("admin/application.html", application=application, client_id=client_id,
                           decision=decision, profile=profile, identity=verification,
                           identity_required=bool(policy and policy.require_identity_verification),
                           docs=documents.list_for(db.session, application.borrower_id), form=form,
                           confirm=ConfirmForm()), status


@bp.route("/clients/<uuid:client_id>/applications/<uuid:application_id>/review", methods=["POST"])
@tenant_page
def application_review(client_id: uuid.UUID, application_id: uuid.UUID):
    form = ReviewForm()
    try:
        application = applications.get(db.session, application_id)
    except DomainError:
        abort(404)
    if form.validate_on_submit():
        try:
            decisions.review_referral(db.session, actor(), application_id, form.outcome.data, form.note.data)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            db.session.commit()
            flash(f"Application {form.outcome.data}d.", "success")
            return redirect(url_for("admin.application_detail", client_id=client_id, application_id=application_id))
    return _detail(application, client_id, form, 422)


@bp.route("/clients/<uuid:client_id>/applications/<uuid:application_id>/retry", methods=["POST"])
@tenant_page
def application_retry(client_id: uuid.UUID, application_id: uuid.UUID):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        decisions.retry_scoring(db.session, actor(), application_id)
    except DomainError as exc:
        refuse(exc)
    else:
        db.session.commit()
        flash("Scoring queued again.", "success")
    return redirect(url_for("admin.application_detail", client_id=client_id, application_id=application_id))


@bp.route("/model")
def model_page():
    """The scorecard in use: version, training metrics, calibration, recent grade distribution."""
    from sqlalchemy import func, select

    from caas.credit import scoring
    from caas.credit.models import CreditDecision

    if current_user.role != Role.platform_admin:
        abort(403)
    model = scoring.active_model(db.session)
    with operations.platform_access(db.session, actor(), client_id=None, reason="model page"):
        grades = dict(db.session.execute(select(CreditDecision.grade, func.count()).group_by(CreditDecision.grade)
                                         ).all())
        outcomes = dict(db.session.execute(select(CreditDecision.outcome, func.count())
                                           .group_by(CreditDecision.outcome)).all())
    db.session.commit()
    return render_template("admin/model.html", model=model, grades=grades, outcomes=outcomes)
