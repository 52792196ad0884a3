"""Billing in the admin portal. Platform admins: runs (queue one, issue a month's drafts), invoices
of every client with issue / record payment / void, revenue by month. Client admins: their usage
this month against the plan, the last 12 months, their invoices (issued ones) as PDF, the quota
banner. Every read of another tenant goes through the audited platform access."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.admin import bp
from blueprints.admin.forms import (BillingRunForm, BillingTermsForm, ConfirmForm, InvoicePaymentForm,
                                   PriceOverrideForm, ReasonForm)
from blueprints.admin.routes import acting_for, platform_only, tenant_of, tenant_page
from blueprints.common import actor, refuse
from blueprints.forms_util import apply_error
from blueprints.pdf import pdf_response
from caas.billing import invoices, jobs, prices, pricing, quotas, reports
from caas.billing.models import Invoice, InvoiceStatus
from caas.billing.periods import Period
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.tenancy.models import Client, Role


def _is_platform() -> bool:
    return current_user.role == Role.platform_admin


@bp.route("/billing", methods=["GET", "POST"])
@platform_only
def billing_home():
    form = BillingRunForm()
    if request.method == "GET":
        form.period.data = str(Period.of(datetime.now(timezone.utc)).previous())
    elif form.validate_on_submit():
        try:
            period = Period.parse(form.period.data)
            jobs.queue_run(db.session, period, (form.client.data or "").strip() or None)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            flash(f"The billing run for {period} is queued; it appears below when it starts.", "success")
            return redirect(url_for("admin.billing_home"))
    with acting_for(None, "billing overview"):
        runs = reports.recent_runs(db.session)
        revenue = reports.revenue_by_month(db.session)
        statuses = {p: invoices.period_status(db.session, p) for p in sorted({r.period for r in runs}, reverse=True)}
        db.session.commit()
    return render_template("admin/billing.html", form=form, runs=runs, revenue=revenue, statuses=statuses,
                           metrics=pricing.METRICS, labels=pricing.LABELS, confirm=ConfirmForm(),
                           peak=reports.chart_scale([m.total_minor for m in revenue])), (422 if form.errors else 200)


@bp.route("/billing/periods/<period>/issue", methods=["POST"])
@platform_only
def billing_issue_period(period: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        issued = invoices.issue_period(db.session, actor(), period)
    except DomainError as exc:
        refuse(exc)
    else:
        flash(f"{issued} draft invoices of {period} issued.", "success")
    return redirect(url_for("admin.billing_home"))


@bp.route("/billing/invoices")
def invoice_list():
    filters = invoices.InvoiceFilters(
        client_id=_uuid_arg("client_id") if _is_platform() else current_user.client_id,
        period=request.args.get("period") or None, status=request.args.get("status") or None)
    try:
        with acting_for(None, "invoices list"):
            rows = invoices.list_invoices(db.session, filters, include_drafts=_is_platform())
            names = {c.id: c.display_name for c in db.session.query(Client).filter(
                Client.id.in_({r.client_id for r in rows}))} if rows else {}
            db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("admin.invoice_list"))
    return render_template("admin/invoices.html", rows=rows, names=names, filters=filters,
                           states=[s.value for s in InvoiceStatus])


def _uuid_arg(name: str) -> uuid.UUID | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def _visible_invoice(invoice_id: uuid.UUID) -> Invoice:
    """The invoice in the acting scope; a client admin never sees drafts (not yet sent to them)."""
    try:
        invoice = invoices.get(db.session, invoice_id)
    except DomainError:
        abort(404)
    if not _is_platform() and invoice.status == InvoiceStatus.draft:
        abort(404)
    return invoice


@bp.route("/billing/invoices/<uuid:invoice_id>")
def invoice_detail(invoice_id: uuid.UUID):
    with acting_for(tenant_of(Invoice, invoice_id), "invoice detail"):
        invoice = _visible_invoice(invoice_id)
        client = db.session.get(Client, invoice.client_id)
        page = render_template("admin/invoice_detail.html", invoice=invoice, client=client,
                               lines=invoices.lines_of(db.session, invoice), pay_form=InvoicePaymentForm(),
                               void_form=ReasonForm(), confirm=ConfirmForm())
        db.session.commit()
    return page


@bp.route("/billing/invoices/<uuid:invoice_id>.pdf")
def invoice_pdf(invoice_id: uuid.UUID):
    with acting_for(tenant_of(Invoice, invoice_id), "invoice pdf"):
        invoice = _visible_invoice(invoice_id)
        html = render_template("billing/invoice_pdf.html", invoice=invoice,
                               client=db.session.get(Client, invoice.client_id),
                               lines=invoices.lines_of(db.session, invoice),
                               period_label=Period.parse(invoice.period).label(),
                               payee=current_app.config["BILLING_PAYEE"])
        db.session.commit()
    return pdf_response(html, f"{invoice.number}.pdf")


def _invoice_action(invoice_id: uuid.UUID, reason: str, operation, success: str, form=None):  # noqa: ANN001
    if form is not None and not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "danger")
        return redirect(url_for("admin.invoice_detail", invoice_id=invoice_id))
    if form is None and not ConfirmForm().validate_on_submit():
        abort(400)
    with acting_for(tenant_of(Invoice, invoice_id), reason):
        try:
            invoice = operation()
        except DomainError as exc:
            refuse(exc)
        else:
            db.session.commit()
            flash(success.format(number=invoice.number), "success")
    return redirect(url_for("admin.invoice_detail", invoice_id=invoice_id))


@bp.route("/billing/invoices/<uuid:invoice_id>/issue", methods=["POST"])
@platform_only
def invoice_issue(invoice_id: uuid.UUID):
    return _invoice_action(invoice_id, "invoice issue", lambda: invoices.issue(db.session, actor(), invoice_id),
                           "Invoice {number} issued: the client's admins are told.")


@bp.route("/billing/invoices/<uuid:invoice_id>/paid", methods=["POST"])
@platform_only
def invoice_paid(invoice_id: uuid.UUID):
    form = InvoicePaymentForm()
    return _invoice_action(invoice_id, "invoice payment", lambda: invoices.record_paid(
        db.session, actor(), invoice_id, reference=form.reference.data, paid_on=form.paid_on.data),
        "Payment of invoice {number} recorded.", form)


@bp.route("/billing/invoices/<uuid:invoice_id>/void", methods=["POST"])
@platform_only
def invoice_void(invoice_id: uuid.UUID):
    form = ReasonForm()
    return _invoice_action(invoice_id, "invoice void", lambda: invoices.void(
        db.session, actor(), invoice_id, reason=form.reason.data), "Invoice {number} voided.", form)


def _price_form() -> PriceOverrideForm:
    form = PriceOverrideForm()
    form.metric.choices = [(m, pricing.LABELS[m]) for m in pricing.METRICS]
    return form


def _terms_form(client: Client) -> BillingTermsForm:
    form = BillingTermsForm()
    if not form.is_submitted():
        form.tax_rate.data = f"{(client.billing_tax_rate * 100).normalize():f}"
        form.payment_terms_days.data = client.payment_terms_days
    return form


@bp.route("/clients/<uuid:client_id>/usage")
@tenant_page
def client_usage(client_id: uuid.UUID):
    return _usage_page(g.scoped_client)


def _usage_page(client: Client, *, terms_form=None, price_form=None, status: int = 200):  # noqa: ANN001
    client_id = client.id
    now = datetime.now(timezone.utc)
    months = reports.monthly_usage(db.session, client_id, now=now)
    return render_template(
        "admin/usage.html", client=client, terms_form=terms_form or _terms_form(client),
        price_form=price_form or _price_form(), overrides=prices.overrides_of(db.session, client_id), usage=reports.current_usage(db.session, client, now), months=months,
        quota=quotas.applications_state(db.session, client, now), warnings=quotas.warnings_for(db.session, client_id, now),
        invoices=invoices.list_invoices(db.session, invoices.InvoiceFilters(client_id=client_id),
                                        include_drafts=_is_platform(), limit=24),
        outstanding=reports.outstanding(db.session, client_id), metrics=pricing.METRICS, labels=pricing.LABELS,
        peaks={m: reports.chart_scale([mo.by_metric.get(m, 0) for mo in months]) for m in pricing.METRICS},
        period_label=Period.of(now).label(), override_form=ReasonForm()), status


def _platform_client_form(client_id: uuid.UUID, form, reason: str, operation, success: str):  # noqa: ANN001
    """A platform admin changes a client's billing: the operation in the client's tenant, or the usage
    page again with the refusal at its field (422)."""
    client = db.session.get(Client, client_id) or abort(404)
    refused = None
    if form.validate_on_submit():
        with acting_for(client_id, reason):
            try:
                operation(client)
            except DomainError as exc:
                refused = exc
            else:
                db.session.commit()
                flash(success, "success")
                return redirect(url_for("admin.client_usage", client_id=client_id))
        db.session.rollback()  # out of the tenant's scope: the admin's own row must reload
        apply_error(form, refused)
    forms = {"terms_form": form} if isinstance(form, BillingTermsForm) else {"price_form": form}
    with acting_for(client_id, reason):
        page = _usage_page(db.session.get(Client, client_id), status=422, **forms)
        db.session.commit()
    return page


@bp.route("/clients/<uuid:client_id>/billing-terms", methods=["POST"])
@platform_only
def billing_terms(client_id: uuid.UUID):
    form = BillingTermsForm()
    return _platform_client_form(client_id, form, "billing terms", lambda client: prices.set_billing_terms(
        db.session, actor(), client, tax_rate_percent=form.tax_rate.data,
        payment_terms_days=form.payment_terms_days.data), "Billing terms saved; they apply to invoices made from now.")


@bp.route("/clients/<uuid:client_id>/prices", methods=["POST"])
@platform_only
def price_override(client_id: uuid.UUID):
    form = _price_form()

    def save(client: Client) -> None:
        start = Period.parse(form.effective_from.data, "effective_from").start
        prices.set_client_price(db.session, actor(), client, metric=form.metric.data, effective_from=start,
                                unit_price=form.unit_price.data, per_units=form.per_units.data,
                                percent=form.percent.data or "0", included_units=form.included_units.data or 0)
    return _platform_client_form(client_id, form, "price override", save,
                                 "Price saved: it applies from the first day of that month.")


@bp.route("/clients/<uuid:client_id>/quota-override", methods=["POST"])
@platform_only
def quota_override(client_id: uuid.UUID):
    form = ReasonForm()
    if not form.validate_on_submit():
        flash("Say why the quota is lifted.", "danger")
        return redirect(url_for("admin.client_usage", client_id=client_id))
    client = db.session.get(Client, client_id) or abort(404)
    with acting_for(client_id, "quota override"):
        try:
            quotas.grant_override(db.session, actor(), client, reason=form.reason.data)
        except DomainError as exc:
            refuse(exc)
        else:
            db.session.commit()
            flash(f"The application quota of {client.display_name} is lifted until the end of the month.", "success")
    return redirect(url_for("admin.client_usage", client_id=client_id))
