"""The borrower's journey: profile and KYC, consents, documents, the application wizard, the
status page, data export."""
from __future__ import annotations

import json
import uuid

from flask import abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from blueprints.auth.sessions import recent_login_required
from blueprints.borrower import bp
from blueprints.borrower.forms import (AcceptOfferForm, BankAccountForm, ConfirmForm, ConsentForm, DocumentForm,
                                     HardshipForm, IncomeForm, PayForm, ProfileForm, TermsForm)
from blueprints.common import actor, local_url, redirect_after_post, render, wants_partial
from blueprints.forms_util import apply_error
from blueprints.pdf import statement_response
from caas.core import clock
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.credit import applications, consents, documents, notifications, profiles, states
from caas.credit.applications import Terms
from caas.credit.models import ApplicationStatus as S
from caas.loans import operations as loans
from caas.loans import repayments, statements
from caas.loans.models import HardshipRequest
from caas.market import acceptance, listings
from caas.payments import payouts
from caas.payments import service as payment_service
from caas.money import describe, from_minor

STEPS = ("terms", "income", "review")
STEP_TITLES = {"terms": "Amount and term", "income": "Your income", "review": "Review and submit"}


# --- Profile ----------------------------------------------------------------------------------------

@bp.route("/profile", methods=["GET", "POST"])
def profile():
    existing = profiles.get(db.session, current_user.id)
    form = ProfileForm(obj=None)
    if request.method == "GET" and existing is not None:
        currency = existing.currency
        form.process(data={
            "legal_name": existing.legal_name, "date_of_birth": existing.date_of_birth, "phone": existing.phone,
            "address": existing.address, "national_id": existing.national_id,
            "employment_status": existing.employment_status, "employer": existing.employer,
            "months_employed": existing.months_employed,
            "monthly_net_income": from_minor(existing.monthly_net_income_minor, currency),
            "monthly_expenses": from_minor(existing.monthly_expenses_minor, currency),
            "existing_debt_payments": from_minor(existing.existing_debt_payments_minor, currency),
            "housing": existing.housing})
    elif request.method == "GET":
        form.legal_name.data = current_user.full_name
    if form.validate_on_submit():
        values = profiles.ProfileInput(**{name: getattr(form, name).data for name in (
            "legal_name", "date_of_birth", "phone", "address", "national_id", "employment_status", "employer",
            "months_employed", "monthly_net_income", "monthly_expenses", "existing_debt_payments", "housing")})
        try:
            profiles.save(db.session, current_user, g.client, values, clock.today())
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            db.session.commit()
            flash("Your profile is saved.", "success")
            return redirect(local_url(request.args.get("next"), url_for("borrower.home")))
    return render_template("borrower/profile.html", form=form, currency=g.client.default_currency), \
        (422 if form.errors else 200)


# --- Consents and your data ---------------------------------------------------------------------------

@bp.route("/consents", methods=["GET", "POST"])
def consent_page():
    form = ConsentForm()
    if form.validate_on_submit():
        kinds = [kind for kind in consents.REQUIRED if getattr(form, kind).data]
        consents.grant(db.session, current_user.id, g.client.id, kinds, request.remote_addr)
        db.session.commit()
        flash("Thank you: your consents are recorded.", "success")
        return redirect(local_url(request.args.get("next"), url_for("borrower.consent_page")))
    texts = {kind: (version, text.format(client=g.client.display_name))
             for kind, (version, text) in consents.TEXTS.items()}
    return render_template("borrower/consents.html", form=form, texts=texts,
                           active=consents.active(db.session, current_user.id), confirm=ConfirmForm())


@bp.route("/consents/<kind>/withdraw", methods=["POST"])
def consent_withdraw(kind: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        consents.withdraw(db.session, current_user.id, kind)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Consent withdrawn. Applications need it again before they can be submitted.", "info")
    return redirect(url_for("borrower.consent_page"))


@bp.route("/export")
def export_data():
    """Everything we hold about you, as JSON."""
    data = notifications.export_for(db.session, current_user, g.client)
    response = current_app.response_class(json.dumps(data, indent=2, default=str), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="my-data-{g.client.slug}.json"'
    return response


# --- Documents ---------------------------------------------------------------------------------------

@bp.route("/documents", methods=["GET", "POST"])
def documents_page():
    form = DocumentForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            documents.upload(db.session, current_app.config["UPLOAD_DIR"], user_id=current_user.id,
                             client_id=g.client.id, kind=form.kind.data, filename=upload.filename or "upload",
                             data=upload.read())
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            db.session.commit()
            flash(f"{documents.KINDS[form.kind.data]} uploaded.", "success")
            return redirect(url_for("borrower.documents_page"))
    return render_template("borrower/documents.html", form=form, kinds=documents.KINDS,
                           docs=documents.list_for(db.session, current_user.id)), (422 if form.errors else 200)


@bp.route("/documents/<uuid:document_id>")
def document_download(document_id: uuid.UUID):
    try:
        document, path = documents.open_for_download(db.session, actor(), current_app.config["UPLOAD_DIR"],
                                                     document_id, owner_id=current_user.id)
    except DomainError:
        abort(404)
    db.session.commit()  # the audit row
    return send_file(path, mimetype=document.content_type, as_attachment=True,
                     download_name=f"{document.kind}{path.suffix}")


# --- Applications ------------------------------------------------------------------------------------

def _mine(application_id: uuid.UUID):
    try:
        return applications.get(db.session, application_id, borrower_id=current_user.id)
    except DomainError:
        abort(404)


@bp.route("/apply", methods=["GET", "POST"])
def apply():
    """POST (the home page's button) starts a draft, or resumes the open one. A GET writes nothing:
    it resumes the open draft if there is one, else goes to the home page and its button."""
    if request.method == "GET":
        draft = applications.open_draft(db.session, current_user.id)
        return redirect(url_for("borrower.application_edit", application_id=draft.id) if draft
                        else url_for("borrower.home"))
    application = applications.start(db.session, current_user.id, g.client.id)
    db.session.commit()
    return redirect(url_for("borrower.application_edit", application_id=application.id))


def _terms_form(policy, application, formdata=True):
    form = TermsForm() if formdata else TermsForm(formdata=None)
    form.currency.choices = [(c, c) for c in policy.currencies]
    form.term_months.choices = [(t, f"{t} months") for t in policy.allowed_terms]
    if not formdata and application.amount_minor is not None:
        form.amount.data = from_minor(application.amount_minor, application.currency)
        form.currency.data = application.currency
        form.term_months.data = application.term_months
        form.purpose.data = application.purpose
    return form


def _step_context(application, step, form):
    policy = applications.policy_for(db.session, g.client.id)
    return dict(application=application, step=step, steps=STEPS, titles=STEP_TITLES, form=form, policy=policy,
                profile=profiles.get(db.session, current_user.id),
                missing_consents=consents.missing(db.session, current_user.id), confirm=ConfirmForm())


def _reachable(application, step: str) -> str:
    """The later steps show (and act on) the terms, so before the terms are set only they are open."""
    return step if step == "terms" or application.amount_minor is not None else "terms"


@bp.route("/applications/<uuid:application_id>/edit")
def application_edit(application_id: uuid.UUID):
    application = _mine(application_id)
    if application.status != S.draft:
        return redirect(url_for("borrower.application_status", application_id=application.id))
    step = request.args.get("step", "terms")
    if step not in STEPS:
        abort(404)
    step = _reachable(application, step)
    policy = applications.policy_for(db.session, g.client.id)
    form = _terms_form(policy, application, formdata=False) if step == "terms" else \
        (IncomeForm(formdata=None) if step == "income" else ConfirmForm())
    return render("borrower/apply.html", "borrower/_apply_step.html", **_step_context(application, step, form))


@bp.route("/applications/<uuid:application_id>/step/<step>", methods=["POST"])
def application_step(application_id: uuid.UUID, step: str):
    """One wizard step; the draft is saved after each. Review submits to scoring."""
    application = _mine(application_id)
    if step not in STEPS:
        abort(404)
    if application.status != S.draft:
        return redirect(url_for("borrower.application_status", application_id=application.id))
    if _reachable(application, step) != step:
        return redirect_after_post(url_for("borrower.application_edit", application_id=application.id))
    policy = applications.policy_for(db.session, g.client.id)
    form = _terms_form(policy, application) if step == "terms" else (IncomeForm() if step == "income" else ConfirmForm())
    if form.validate_on_submit():
        try:
            if step == "terms":
                currency = form.currency.data
                amount_minor = applications.amount_to_minor(form.amount.data, currency)
                applications.set_terms(db.session, application, Terms(amount_minor, currency, form.term_months.data,
                                                                      form.purpose.data), clock.today())
            elif step == "income":
                applications.confirm_income(db.session, application, form.income_confirmed.data)
            else:
                applications.submit(db.session, application)
                db.session.commit()
                return redirect_after_post(url_for("borrower.application_status", application_id=application.id))
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc, {"term_months": "term_months"})
            return render("borrower/apply.html", "borrower/_apply_step.html",
                          **_step_context(application, step, form)), 422
        db.session.commit()
        next_step = STEPS[STEPS.index(step) + 1]
        next_form = IncomeForm(formdata=None) if next_step == "income" else ConfirmForm()
        return render("borrower/apply.html", "borrower/_apply_step.html",
                      **_step_context(application, next_step, next_form))
    return render("borrower/apply.html", "borrower/_apply_step.html", **_step_context(application, step, form)), 422


@bp.route("/applications/<uuid:application_id>")
def application_status(application_id: uuid.UUID):
    application = _mine(application_id)
    now = clock.now()
    context = dict(application=application, main_path=states.MAIN_PATH, final=application.status in states.FINAL,
                   withdrawable=application.status in states.WITHDRAWABLE, confirm=ConfirmForm(),
                   offers=acceptance.offers(db.session, application, now),
                   listing=listings.for_application(db.session, application.id),
                   loan=loans.for_application(db.session, application.id), now=now)
    if wants_partial():
        # Polling: 286 tells htmx to stop once the application has reached a final state.
        status = 286 if application.status in states.FINAL else 200
        return render_template("borrower/_status.html", **context), status
    return render_template("borrower/status.html", **context)


@bp.route("/applications/<uuid:application_id>/withdraw", methods=["POST"])
def application_withdraw(application_id: uuid.UUID):
    application = _mine(application_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        applications.withdraw(db.session, application)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Your application is withdrawn.", "info")
    return redirect(url_for("borrower.application_status", application_id=application.id))


@bp.route("/bank-account", methods=["GET", "POST"])
@recent_login_required
def bank_account():
    """Where the payout goes, in the client's currency. Checked here and again by the gateway."""
    currency = g.client.default_currency
    existing = payouts.bank_account_for(db.session, current_user.id, currency)
    form = BankAccountForm()
    if request.method == "GET" and existing is not None:
        form.process(data={"bank_code": existing.bank_code, "account_number": existing.account_number,
                           "account_name": existing.account_name})
    if form.validate_on_submit():
        try:
            payouts.save_bank_account(db.session, current_user.id, g.client.id, payouts.BankDetails(
                currency, form.bank_code.data, form.account_number.data, form.account_name.data),
                router=payment_service.router())
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            db.session.commit()
            flash("Your bank account is saved.", "success")
            return redirect(local_url(request.args.get("next"), url_for("borrower.home")))
    return render_template("borrower/bank_account.html", form=form, currency=currency), (422 if form.errors else 200)


# --- Offers and the loan ----------------------------------------------------------------------------

@bp.route("/applications/<uuid:application_id>/offers/<uuid:bid_id>", methods=["GET", "POST"])
def offer_accept(application_id: uuid.UUID, bid_id: uuid.UUID):
    """The loan agreement of one offer, signed by typing one's name; accepting makes the loan."""
    application = _mine(application_id)
    try:
        bid = acceptance.get_offer(db.session, application, bid_id)
    except DomainError:
        abort(404)
    profile = profiles.get(db.session, current_user.id)
    text = acceptance.agreement_text(application, bid, profile.legal_name, g.client.display_name)
    form = AcceptOfferForm()
    if request.method == "GET":
        form.agreement_sha256.data = acceptance.sha256(text)
    if form.validate_on_submit():
        try:
            loan = acceptance.accept(db.session, actor(), application_id=application.id, bid_id=bid.id,
                                     typed_name=form.typed_name.data, consent=bool(form.consent.data),
                                     agreement_sha256=form.agreement_sha256.data or None, channel="portal",
                                     ip_address=request.remote_addr, now=clock.now(),
                                     borrower_id=current_user.id)
        except DomainError as exc:
            db.session.rollback()
            if exc.field in ("consent", "typed_name"):
                apply_error(form, exc)
            elif exc.code == "bank_account_required":
                flash(exc.message, "error")
                return redirect(url_for("borrower.bank_account", next=request.path))
            else:
                form.form_errors.append(exc.message)
        else:
            db.session.commit()
            flash("You accepted the offer. Your loan is being prepared for payout.", "success")
            return redirect(url_for("borrower.loan_page", loan_id=loan.id))
    return render_template("borrower/offer.html", application=application, bid=bid, text=text, form=form,
                           now=clock.now(),
                           account=payouts.bank_account_for(db.session, current_user.id, bid.currency)), (422 if request.method == "POST" else 200)


def _my_loan(loan_id: uuid.UUID):
    try:
        return loans.get(db.session, loan_id, borrower_id=current_user.id)
    except DomainError:
        abort(404)


def _loan_page(loan, form, status=200, hardship_form=None):
    today = clock.today()
    # (not "where": base.html sets a variable of that name, which would shadow it in the page)
    standing = repayments.position(db.session, loan, today) if loan.status.value == "active" else None
    from caas.loans import collections

    hardship = db.session.scalar(select(HardshipRequest).where(HardshipRequest.loan_id == loan.id)
                                 .order_by(HardshipRequest.created_at.desc()).limit(1))
    return render_template("borrower/loan.html", loan=loan, payout=payouts.for_loan(db.session, loan.id),
                           standing=standing, today=today, form=form, history=repayments.history(db.session, loan.id),
                           rows=repayments.installments(db.session, loan), confirm=ConfirmForm(),
                           authorization=collections.authorization_for(db.session, current_user.id),
                           hardship=hardship, hardship_form=hardship_form or HardshipForm(formdata=None),
                           chart=statements.balance_chart(db.session, loan, today)), status


@bp.route("/loans/<uuid:loan_id>")
def loan_page(loan_id: uuid.UUID):
    return _loan_page(_my_loan(loan_id), PayForm(formdata=None))


@bp.route("/loans/<uuid:loan_id>/statement.pdf")
def loan_statement(loan_id: uuid.UUID):
    """The loan statement as PDF, rendered now (another borrower's loan answers 404)."""
    return statement_response(statements.loan_statement(db.session, _my_loan(loan_id), clock.today()))


@bp.route("/loans/<uuid:loan_id>/pay", methods=["POST"])
def loan_pay(loan_id: uuid.UUID):
    """Pay now through the gateway's charge flow (the sandbox charges at once in development); the
    gateway's webhook confirms it again, and is applied once."""
    loan = _my_loan(loan_id)
    form = PayForm()
    if not form.validate_on_submit():
        return _loan_page(loan, form, 422)
    today = clock.today()
    try:
        locked = repayments.lock_loan(db.session, loan.id)
        amount = None
        if form.kind.data == "partial" and form.amount.data is not None:
            amount = applications.amount_to_minor(form.amount.data, locked.currency)
        amount = repayments.quote(db.session, locked, form.kind.data, today, amount)
        repayment = repayments.start(db.session, locked, amount, "portal")
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        apply_error(form, exc, {"kind": "kind"})
        return _loan_page(loans.get(db.session, loan_id), form, 422)
    done = repayments.charge(db.session, repayment, payment_service.router(),
                             authorization_code="sandbox-checkout", email=current_user.email, on=today)
    db.session.commit()
    if done.status == "succeeded":
        flash(f"Thank you: {describe(done.amount_minor, done.currency)} received.", "success")
    elif done.status == "failed":
        flash(f"The payment did not go through: {done.failure_reason}", "error")
    else:
        flash("Your payment is being confirmed by the bank.", "info")
    return redirect(url_for("borrower.loan_page", loan_id=loan_id))


@bp.route("/loans/<uuid:loan_id>/auto-debit", methods=["POST"])
def loan_auto_debit(loan_id: uuid.UUID):
    """Authorise (or, with action=revoke, cancel) auto-debit. In development the sandbox returns a
    token at once; a real gateway returns it after its card or mandate checkout."""
    from caas.loans import collections

    _my_loan(loan_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        if request.form.get("action") == "revoke":
            collections.revoke(db.session, actor(), current_user.id)
            message = "Auto-debit is cancelled."
        else:
            collections.authorize(db.session, actor(), current_user.id, g.client.id, gateway="sandbox",
                                  authorization_code=f"AUTH_sandbox_{uuid.uuid4().hex[:12]}",
                                  label="Sandbox card •••• 4242")
            message = "Auto-debit is on: instalments are charged on their due dates."
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("borrower.loan_page", loan_id=loan_id))


@bp.route("/loans/<uuid:loan_id>/hardship", methods=["POST"])
def loan_hardship(loan_id: uuid.UUID):
    from caas.loans import collections

    loan = _my_loan(loan_id)
    form = HardshipForm()
    if form.validate_on_submit():
        try:
            collections.request_hardship(db.session, repayments.lock_loan(db.session, loan.id),
                                         reason=form.reason.data, plan=form.plan.data, periods=form.periods.data,
                                         on=clock.today())
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            db.session.commit()
            flash("Your request is with our team. We will tell you the answer here.", "success")
            return redirect(url_for("borrower.loan_page", loan_id=loan_id))
    return _loan_page(loans.get(db.session, loan_id), PayForm(formdata=None), 422, hardship_form=form)


@bp.route("/notifications/read", methods=["POST"])
def notifications_read():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    notifications.mark_all_read(db.session, current_user.id)
    db.session.commit()
    return redirect(url_for("borrower.home"))
