"""Platform admins: the trial balance per currency, and a provider's funding deposits."""
from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import DecimalField, StringField
from wtforms.validators import DataRequired, Length

from blueprints.admin import bp
from blueprints.admin.routes import platform_only
from blueprints.common import actor
from blueprints.forms_util import apply_error
from caas import ledger
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.money import format_minor, to_minor
from caas.tenancy.models import Provider


class FundingForm(FlaskForm):
    amount = DecimalField("Amount", places=None, validators=[DataRequired()])
    currency = StringField("Currency", validators=[DataRequired(), Length(min=3, max=3)])
    reference = StringField("Bank reference", validators=[DataRequired(), Length(max=100)])


@bp.route("/ledger")
@platform_only
def trial_balance():
    return render_template("admin/trial_balance.html", balances=ledger.trial_balance(db.session),
                           mismatches=ledger.verify_balances(db.session), fmt=format_minor)


@bp.route("/providers/<uuid:provider_id>/funding", methods=["GET", "POST"])
@platform_only
def provider_funding(provider_id: uuid.UUID):
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        abort(404)
    form = FundingForm()
    if form.validate_on_submit():
        try:
            currency = form.currency.data.strip().upper()
            ledger.fund_provider(db.session, actor(), provider.id, to_minor(form.amount.data, currency), currency,
                                 form.reference.data.strip())
        except (DomainError, ledger.LedgerError, ValueError) as exc:
            db.session.rollback()
            if isinstance(exc, DomainError):
                apply_error(form, exc)
            else:
                form.amount.errors = [*form.amount.errors, str(exc)]
        else:
            db.session.commit()
            flash("Deposit recorded.", "success")
            return redirect(url_for("admin.provider_funding", provider_id=provider.id))
    funds = [ledger.provider_funds(db.session, provider.id, c) for c in (provider.currencies or [])]
    return render_template("admin/provider_funding.html", provider=provider, form=form, funds=funds,
                           fmt=format_minor), (422 if form.errors else 200)
