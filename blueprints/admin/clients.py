"""Platform admins: the client list, the onboarding wizard, a client's page, suspension, network."""
from __future__ import annotations

import uuid

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from blueprints.admin import bp
from blueprints.admin.forms import (ClientIdentityForm, ClientServicesForm, ClientTierForm, ConfirmForm, NetworkForm,
                                    PersonForm, StatusForm)
from blueprints.admin.routes import platform_only, tenant_page
from blueprints.common import actor, redirect_after_post, render
from blueprints.forms_util import apply_error
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.tenancy import branding, operations
from caas.tenancy.models import Client, Status
from caas.tenancy.tiers import DEFAULT_SERVICES, SERVICES, TIER_QUOTAS, effective_quotas

DRAFT = "client_draft"
STEPS = ("identity", "tier", "services", "admin")
STEP_TITLES = {"identity": "Identity and brand", "tier": "Tier and quotas", "services": "Services",
               "admin": "First client admin"}


@bp.route("/clients")
@platform_only
def clients():
    rows, next_after = operations.list_clients(db.session, q=request.args.get("q", ""),
                                               status=request.args.get("status", ""), after=request.args.get("after"))
    return render("admin/clients.html", "admin/_clients_table.html", clients=rows, next_after=next_after,
                  q=request.args.get("q", ""), status=request.args.get("status", ""))


def _form_for(step: str, draft: dict):
    if step == "identity":
        return ClientIdentityForm(data=draft.get("identity"))
    if step == "tier":
        return ClientTierForm(data=draft.get("tier"))
    if step == "services":
        return ClientServicesForm(data=draft.get("services") or {"services": DEFAULT_SERVICES})
    return PersonForm(data=draft.get("admin"))


def _render_step(step: str, form, status: int = 200):
    context = dict(step=step, steps=STEPS, titles=STEP_TITLES, form=form, tiers=TIER_QUOTAS,
                   draft=session.get(DRAFT, {}))
    return render("admin/client_new.html", "admin/_wizard.html", **context), status


@bp.route("/clients/new", methods=["GET"])
@platform_only
def client_new():
    if request.args.get("restart"):
        session.pop(DRAFT, None)
    step = request.args.get("step", "identity")
    if step not in STEPS:
        abort(404)
    return _render_step(step, _form_for(step, session.get(DRAFT, {})))


@bp.route("/clients/new/<step>", methods=["POST"])
@platform_only
def client_new_step(step: str):
    """Validate one step; keep it in the draft (the session) and show the next. The last step creates
    the client, its policy and the invited admin in one transaction."""
    if step not in STEPS:
        abort(404)
    draft = dict(session.get(DRAFT, {}))
    form = {"identity": ClientIdentityForm, "tier": ClientTierForm, "services": ClientServicesForm,
            "admin": PersonForm}[step]()
    if not form.validate_on_submit():
        return _render_step(step, form, 422)
    try:
        if step == "identity":
            values = operations.check_identity(
                db.session, slug=form.slug.data, legal_name=form.legal_name.data, display_name=form.display_name.data,
                country=form.country.data, currency=form.currency.data, brand_colour=form.brand_colour.data)
            upload = form.logo.data
            if upload and getattr(upload, "filename", ""):
                values["logo_path"] = branding.store_logo(current_app.config["UPLOAD_DIR"], upload.read())
            elif draft.get("identity", {}).get("logo_path"):
                values["logo_path"] = draft["identity"]["logo_path"]
            draft["identity"] = values
        elif step == "tier":
            draft["tier"] = {"tier": form.tier.data, "quota_api_calls_per_hour": form.quota_api_calls_per_hour.data,
                             "quota_applications_per_month": form.quota_applications_per_month.data}
        elif step == "services":
            draft["services"] = {"services": form.services.data}
        else:
            if "identity" not in draft:
                return redirect(url_for("admin.client_new", step="identity"))
            identity = dict(draft["identity"])
            client = operations.onboard_client(
                db.session, actor(), admin_email=form.email.data, admin_name=form.full_name.data,
                slug=identity["slug"], legal_name=identity["legal_name"], display_name=identity["display_name"],
                country=identity["country"], currency=identity["currency"], brand_colour=identity["brand_colour"],
                logo_path=identity.get("logo_path"), tier=draft.get("tier", {}).get("tier", "starter"),
                quota_api_calls_per_hour=draft.get("tier", {}).get("quota_api_calls_per_hour"),
                quota_applications_per_month=draft.get("tier", {}).get("quota_applications_per_month"),
                services=draft.get("services", {}).get("services", DEFAULT_SERVICES))
            db.session.commit()
            session.pop(DRAFT, None)
            return redirect_after_post(url_for("admin.client_welcome", client_id=client.id))
    except DomainError as exc:
        db.session.rollback()
        if exc.field in ("slug", "legal_name", "display_name", "country", "currency", "brand_colour", "logo") \
                and step != "identity":
            # a value from an earlier step became invalid (e.g. the slug was taken meanwhile): go back
            flash(exc.message, "error")
            return redirect(url_for("admin.client_new", step="identity"))
        apply_error(form, exc, {"currency": "currency", "email": "email", "full_name": "full_name"})
        return _render_step(step, form, 422)
    session[DRAFT] = draft
    next_step = STEPS[STEPS.index(step) + 1]
    return _render_step(next_step, _form_for(next_step, draft))


@bp.route("/clients/<uuid:client_id>/welcome")
@tenant_page
def client_welcome(client_id: uuid.UUID):
    client = db.session.get(Client, client_id)
    return render_template("admin/client_welcome.html", client=client, form=ConfirmForm(),
                           portal_url=url_for("borrower.login", client_slug=client.slug, _external=True))


@bp.route("/clients/<uuid:client_id>")
@tenant_page
def client_detail(client_id: uuid.UUID):
    client = db.session.get(Client, client_id)
    return render_template("admin/client_detail.html", client=client, quotas=effective_quotas(client),
                           services=SERVICES, status_form=StatusForm(), network=operations.network(db.session))


@bp.route("/clients/<uuid:client_id>/status", methods=["POST"])
@platform_only
def client_status(client_id: uuid.UUID):
    form = StatusForm()
    try:
        wanted = Status(request.form.get("status", "suspended"))
    except ValueError:
        abort(400)  # the buttons post one of the statuses; anything else is not from our page
    if not form.validate_on_submit():
        flash("Give a reason for the change.", "error")
        return redirect(url_for("admin.client_detail", client_id=client_id))
    try:
        client = operations.set_client_status(db.session, actor(), client_id, wanted, form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("admin.client_detail", client_id=client_id))
    db.session.commit()
    flash(f"{client.display_name} is now {client.status.value}.", "success")
    return redirect(url_for("admin.client_detail", client_id=client_id))


@bp.route("/clients/<uuid:client_id>/network", methods=["GET", "POST"])
@tenant_page
def client_network(client_id: uuid.UUID):
    providers, _ = operations.list_providers(db.session, limit=500)
    form = NetworkForm()
    form.providers.choices = [(str(p.id), f"{p.legal_name} ({p.country})") for p in providers]
    editable = current_user.role.value == "platform_admin"
    if request.method == "POST":
        if not editable:
            abort(403)
        if form.validate_on_submit():
            try:
                operations.set_provider_network(db.session, actor(), client_id,
                                                [uuid.UUID(p) for p in form.providers.data])
            except DomainError as exc:
                db.session.rollback()
                apply_error(form, exc)
            else:
                db.session.commit()
                flash("Provider network saved.", "success")
                return redirect(url_for("admin.client_network", client_id=client_id))
    else:
        form.providers.data = [str(row.provider_id) for row in operations.network(db.session)]
    return render_template("admin/client_network.html", form=form, editable=editable,
                           client=db.session.get(Client, client_id))
