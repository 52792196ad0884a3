"""Platform admins: providers (licensed lenders shared across clients)."""
from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for

from blueprints.admin import bp
from blueprints.admin.forms import ProviderForm
from blueprints.admin.routes import platform_only
from blueprints.common import actor, render
from blueprints.forms_util import apply_error, split_codes
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.tenancy import operations
from caas.tenancy.models import Provider


@bp.route("/providers")
@platform_only
def providers():
    rows, next_after = operations.list_providers(db.session, q=request.args.get("q", ""),
                                                 status=request.args.get("status", ""),
                                                 after=request.args.get("after"))
    return render("admin/providers.html", "admin/_providers_table.html", providers=rows, next_after=next_after,
                  q=request.args.get("q", ""), status=request.args.get("status", ""))


@bp.route("/providers/new", methods=["GET", "POST"])
@platform_only
def provider_new():
    form = ProviderForm()
    if form.validate_on_submit():
        try:
            provider = operations.onboard_provider(
                db.session, actor(), legal_name=form.legal_name.data, licence_number=form.licence_number.data,
                country=form.country.data, currencies=split_codes(form.currencies.data),
                contact_name=form.contact_name.data, contact_email=form.contact_email.data,
                contact_phone=form.contact_phone.data, user_email=form.user_email.data, user_name=form.user_name.data)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc, {"email": "user_email", "full_name": "user_name"})
        else:
            db.session.commit()
            flash(f"{provider.legal_name} onboarded; {form.user_email.data} has been invited.", "success")
            return redirect(url_for("admin.provider_detail", provider_id=provider.id))
    return render_template("admin/provider_new.html", form=form), (422 if form.errors else 200)


@bp.route("/providers/<uuid:provider_id>")
@platform_only
def provider_detail(provider_id: uuid.UUID):
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        abort(404)
    return render_template("admin/provider_detail.html", provider=provider)
