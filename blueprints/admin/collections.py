"""Collections for agents (client admins for their tenant, platform admins through the audited
path): loans in collections, pending hardship requests, a loan's log with promises to pay, and the
hardship decision."""
from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, DecimalField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from blueprints.admin import bp
from blueprints.admin.routes import acting_for, tenant_of

from blueprints.common import actor
from blueprints.pdf import statement_response
from blueprints.forms_util import apply_error
from caas.core import clock, tenant
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.loans import collections, repayments, statements
from caas.loans.models import HardshipRequest, Loan
from caas.money import to_minor


class NoteForm(FlaskForm):
    kind = SelectField("Entry", choices=[("contact", "Contact"), ("promise", "Promise to pay")])
    note = TextAreaField("What was said", validators=[DataRequired(message="Write what was said."), Length(max=2000)])
    promised_on = DateField("Promised date", validators=[Optional()])
    promised_amount = DecimalField("Promised amount", places=None, validators=[Optional()])


class DecisionForm(FlaskForm):
    outcome = SelectField("Decision", choices=[("approve", "Approve the new plan"), ("decline", "Decline")])
    note = TextAreaField("Note to the file", validators=[DataRequired(message="Write a note that explains the decision."),
                                                         Length(max=2000)])


@bp.route("/collections")
def collections_queue():
    with acting_for(None, "collections queue"):
        loans = collections.in_collections(db.session)
        hardship = collections.pending_hardship(db.session)
        db.session.commit()
    return render_template("admin/collections.html", loans=loans, hardship=hardship)


def _page(loan_id: uuid.UUID, note_form=None, decision_form=None, status=200):
    loan = tenant.get_visible(db.session, Loan, loan_id)
    if loan is None:
        abort(404)
    today = clock.today()
    pending = db.session.scalar(select(HardshipRequest).where(HardshipRequest.loan_id == loan.id,
                                                              HardshipRequest.status == "pending"))
    return render_template("admin/loan_collections.html", loan=loan, today=today,
                           rows=repayments.installments(db.session, loan),
                           notes=collections.notes(db.session, loan.id, today), pending=pending,
                           note_form=note_form or NoteForm(formdata=None),
                           decision_form=decision_form or DecisionForm(formdata=None)), status


@bp.route("/loans/<uuid:loan_id>", methods=["GET"])
def loan_collections(loan_id: uuid.UUID):
    with acting_for(tenant_of(Loan, loan_id), "loan in collections"):
        response = _page(loan_id)
        db.session.commit()
    return response


@bp.route("/loans/<uuid:loan_id>/statement.pdf")
def loan_statement_pdf(loan_id: uuid.UUID):
    """The borrower's loan statement, for the client's admins and (audited) platform admins."""
    with acting_for(tenant_of(Loan, loan_id), "loan statement"):
        loan = tenant.get_visible(db.session, Loan, loan_id)
        if loan is None:
            abort(404)
        response = statement_response(statements.loan_statement(db.session, loan, clock.today()))
        db.session.commit()
    return response


@bp.route("/loans/<uuid:loan_id>/notes", methods=["POST"])
def loan_note(loan_id: uuid.UUID):
    with acting_for(tenant_of(Loan, loan_id), "collections log"):
        form = NoteForm()
        if form.validate_on_submit():
            try:
                loan = tenant.get_visible(db.session, Loan, loan_id)
                if loan is None:
                    abort(404)
                amount = to_minor(form.promised_amount.data, loan.currency) if form.promised_amount.data else None
                collections.log(db.session, actor(), loan_id, kind=form.kind.data, note=form.note.data,
                                promised_on=form.promised_on.data, promised_minor=amount)
            except DomainError as exc:
                db.session.rollback()
                apply_error(form, exc, {"promised_minor": "promised_amount"})
            else:
                db.session.commit()
                flash("Logged.", "success")
                return redirect(url_for("admin.loan_collections", loan_id=loan_id))
        return _page(loan_id, note_form=form, status=422)


@bp.route("/hardship/<uuid:request_id>", methods=["POST"])
def hardship_decide(request_id: uuid.UUID):
    with acting_for(tenant_of(HardshipRequest, request_id), "hardship decision"):
        found = tenant.get_visible(db.session, HardshipRequest, request_id)
        if found is None:
            abort(404)
        loan_id = found.loan_id
        form = DecisionForm()
        if form.validate_on_submit():
            try:
                collections.decide_hardship(db.session, actor(), request_id, form.outcome.data == "approve",
                                            form.note.data, clock.today())
            except DomainError as exc:
                db.session.rollback()
                apply_error(form, exc)
            else:
                db.session.commit()
                flash("Decision recorded; the borrower is told.", "success")
                return redirect(url_for("admin.loan_collections", loan_id=loan_id))
        return _page(loan_id, decision_form=form, status=422)


