"""The provider (lender) portal: criteria, the marketplace, bids. Every request acts in the
provider's own scope (``app.provider_id``, no tenant): row-level security shows the listings of its
network and its own bids and loans only."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from blueprints.common import actor, redirect_after_post, refuse, render, wants_partial
from blueprints.forms_util import apply_error
from blueprints import notification_centre
from blueprints.guards import require_roles
from blueprints.provider import bp
from blueprints.provider.forms import BidForm, CriteriaForm, FilterForm
from caas.core import clock, tenant
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.ledger import operations as ledger
from caas.market import bids, board, criteria
from caas.market.models import ProviderNotification
from caas.money import to_minor
from caas.tenancy.models import Role

_role_guard = require_roles(Role.provider_user)
SEEN_KEY = "market_seen_at"


@bp.before_request
def guard():
    denied = _role_guard()
    if denied is not None:
        return denied
    tenant.set_tenant(None, db.session, provider_id=current_user.provider_id)
    return None


def _provider_id() -> uuid.UUID:
    return current_user.provider_id


@bp.route("/")
def home():
    from sqlalchemy import select

    provider = current_user.provider
    funds = [ledger.provider_funds(db.session, provider.id, c) for c in (provider.currencies or [])]
    notices = db.session.scalars(select(ProviderNotification).where(ProviderNotification.provider_id == provider.id)
                                 .order_by(ProviderNotification.created_at.desc()).limit(10)).all()
    return render_template("provider/home.html", provider=provider, funds=funds, notices=notices,
                           stats=bids.stats(db.session, provider.id, clock.now()),
                           criteria_count=len(criteria.active_for(db.session, provider.id)))


# --- Criteria ---------------------------------------------------------------------------------------

def _criteria_form(row=None) -> CriteriaForm:
    form = CriteriaForm() if request.method == "POST" else CriteriaForm(formdata=None)
    form.client_ids.choices = [(str(c.id), c.display_name) for c in criteria.network(db.session, _provider_id())]
    if request.method == "GET" and row is not None:
        from caas.money import from_minor

        currency = row.currencies[0]
        form.name.data, form.currencies.data = row.name, ", ".join(row.currencies)
        form.min_amount.data = from_minor(row.min_amount_minor, currency)
        form.max_amount.data = from_minor(row.max_amount_minor, currency)
        form.min_term_months.data, form.max_term_months.data = row.min_term_months, row.max_term_months
        form.worst_grade.data, form.max_pd.data = row.worst_grade, row.max_pd
        form.purposes.data, form.countries.data = list(row.purposes), ", ".join(row.countries)
        form.client_ids.data = [str(c) for c in row.client_ids]
    return form


def _criteria_values(form: CriteriaForm) -> criteria.CriteriaInput:
    currencies = [c.strip().upper() for c in (form.currencies.data or "").split(",") if c.strip()]
    unit_currency = currencies[0] if currencies else "NGN"
    try:
        amounts = (to_minor(form.min_amount.data, unit_currency), to_minor(form.max_amount.data, unit_currency))
    except (ValueError, KeyError):
        raise DomainError("invalid_criteria", "Use ISO 4217 codes we support, e.g. NGN, USD.", "currencies") from None
    return criteria.CriteriaInput(
        name=form.name.data or "", currencies=currencies, min_amount_minor=amounts[0], max_amount_minor=amounts[1],
        min_term_months=form.min_term_months.data, max_term_months=form.max_term_months.data,
        worst_grade=form.worst_grade.data, max_pd=form.max_pd.data, purposes=list(form.purposes.data or []),
        countries=[c for c in (form.countries.data or "").split(",") if c.strip()],
        client_ids=[uuid.UUID(c) for c in form.client_ids.data or []])


_CRITERIA_FIELDS = {"min_amount_minor": "min_amount", "max_amount_minor": "max_amount"}


@bp.route("/criteria", methods=["GET", "POST"])
@bp.route("/criteria/<uuid:criteria_id>", methods=["GET", "POST"])
def criteria_page(criteria_id: uuid.UUID | None = None):
    row = None
    if criteria_id is not None:
        try:
            row = criteria.get(db.session, _provider_id(), criteria_id)
        except DomainError:
            abort(404)
    form = _criteria_form(row)
    if form.validate_on_submit():
        try:
            criteria.save(db.session, actor(), _provider_id(), _criteria_values(form), criteria_id)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc, _CRITERIA_FIELDS)
        else:
            db.session.commit()
            flash("Lending criteria saved.", "success")
            return redirect(url_for("provider.criteria_page"))
    rows = criteria.list_for(db.session, _provider_id())
    return render_template("provider/criteria.html", form=form, rows=rows, editing=row), (422 if form.errors else 200)


@bp.route("/criteria/<uuid:criteria_id>/toggle", methods=["POST"])
def criteria_toggle(criteria_id: uuid.UUID):
    try:
        row = criteria.get(db.session, _provider_id(), criteria_id)
        criteria.set_active(db.session, actor(), _provider_id(), criteria_id, not row.active)
    except DomainError as exc:
        refuse(exc)
    else:
        db.session.commit()
    return redirect(url_for("provider.criteria_page"))


# --- Marketplace ------------------------------------------------------------------------------------

def _filters(form: FilterForm) -> board.Filters:
    return board.Filters(currency=(form.currency.data or "").upper() or None, worst_grade=form.worst_grade.data or None,
                         purpose=form.purpose.data or None, term_months=form.term_months.data or None,
                         sort=form.sort.data or "newest")


@bp.route("/market")
def market():
    form = FilterForm(request.args)
    form.validate()
    now = clock.now()
    active = criteria.active_for(db.session, _provider_id())
    try:
        rows, cursor = board.page(db.session, _provider_id(), _filters(form), now, after=request.args.get("after"),
                                  rows=active)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("provider.market"))
    if not request.args.get("after") and not wants_partial():
        session[SEEN_KEY] = now.isoformat()
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    return render("provider/market.html", "provider/_market_rows.html", rows=rows, cursor=cursor, form=form,
                  args=args, now=now, has_criteria=bool(active))


@bp.route("/market/new")
def market_new():
    """HTMX poll: how many matching listings opened since the provider last loaded the list."""
    try:
        since = datetime.fromisoformat(session.get(SEEN_KEY, ""))
    except ValueError:
        since = clock.now()
    count = board.new_since(db.session, _provider_id(), since, clock.now())
    return render_template("provider/_market_new.html", count=count, cap=board.NEW_CAP)


def _listing_or_404(listing_id: uuid.UUID):
    try:
        return bids.visible_listing(db.session, _provider_id(), listing_id)
    except DomainError:
        abort(404)


def _bid_form(listing, own) -> BidForm:
    form = BidForm() if request.method == "POST" else BidForm(formdata=None)
    form.term_months.choices = [(t, f"{t} months") for t in listing.allowed_terms]
    if request.method == "GET":
        if own is not None:
            form.annual_rate.data = (own.annual_rate * 100).normalize()
            form.fee_kind.data = "percent" if own.fee_percent is not None else "amount"
            from caas.money import from_minor

            form.fee.data = own.fee_percent if own.fee_percent is not None else from_minor(own.fee_minor, own.currency)
            form.term_months.data = own.term_months
            form.valid_until.data = own.valid_until.replace(tzinfo=None)
        else:
            form.term_months.data = listing.term_months if listing.term_months in listing.allowed_terms \
                else listing.allowed_terms[-1]
            form.valid_until.data = (listing.closes_at + timedelta(hours=48)).replace(tzinfo=None, second=0,
                                                                                     microsecond=0)
    return form


def _bid_values(form: BidForm, listing) -> bids.BidInput:
    fee = form.fee.data if form.fee.data is not None else Decimal(0)
    valid_until = form.valid_until.data.replace(tzinfo=timezone.utc)
    if form.fee_kind.data == "percent":
        return bids.BidInput(form.annual_rate.data, form.term_months.data, valid_until, fee_percent=fee)
    return bids.BidInput(form.annual_rate.data, form.term_months.data, valid_until,
                         fee_minor=to_minor(fee, listing.currency))


@bp.route("/market/<uuid:listing_id>", methods=["GET", "POST"])
def listing_page(listing_id: uuid.UUID):
    listing = _listing_or_404(listing_id)
    own = bids.own_bid(db.session, _provider_id(), listing.id)
    form = _bid_form(listing, own)
    figures = None
    if form.validate_on_submit():
        try:
            bids.place(db.session, actor(), _provider_id(), listing.id, _bid_values(form, listing), clock.now())
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc, {"fee_minor": "fee"})
        else:
            db.session.commit()
            flash("Your bid is saved. The borrower sees it now.", "success")
            return redirect_after_post(url_for("provider.listing_page", listing_id=listing.id))
    funds = ledger.provider_funds(db.session, _provider_id(), listing.currency)
    return render_template("provider/listing.html", listing=listing, own=own, form=form, figures=figures,
                           funds=funds, now=clock.now(),
                           display=bids.display_status(own, clock.now()) if own else None), (422 if form.errors else 200)


@bp.route("/market/<uuid:listing_id>/preview", methods=["POST"])
def bid_preview(listing_id: uuid.UUID):
    """HTMX: what the borrower would pay under the terms in the form, from the loan maths. Saves
    nothing (a POST only because it carries the form and its CSRF token)."""
    listing = _listing_or_404(listing_id)
    form = _bid_form(listing, None)
    figures, error = None, None
    if form.validate():
        try:
            figures = bids.price(listing, _bid_values(form, listing), clock.now())
        except DomainError as exc:
            error = exc.message
    else:
        error = next(iter(next(iter(form.errors.values()))), "Check the terms.")
    return render_template("provider/_bid_preview.html", figures=figures, error=error, listing=listing)


@bp.route("/bids/<uuid:bid_id>/withdraw", methods=["POST"])
def bid_withdraw(bid_id: uuid.UUID):
    try:
        bid = bids.withdraw(db.session, actor(), _provider_id(), bid_id, clock.now())
    except DomainError as exc:
        refuse(exc)
        return redirect(request.referrer or url_for("provider.my_bids"))
    db.session.commit()
    flash("Your bid is withdrawn.", "info")
    return redirect(url_for("provider.listing_page", listing_id=bid.listing_id))


@bp.route("/bids")
def my_bids():
    status = request.args.get("status") or None
    if status is not None and status not in bids.DISPLAY:
        abort(404)
    now = clock.now()
    rows = bids.my_bids(db.session, _provider_id(), status, now)
    return render_template("provider/bids.html", rows=rows, status=status, statuses=bids.DISPLAY, now=now,
                           stats=bids.stats(db.session, _provider_id(), now), display=bids.display_status)


@bp.route("/disbursements")
def disbursements():
    """The provider's loans as they are paid out (row-level security: its own payouts only)."""
    from caas.payments import payouts

    rows = payouts.list_page(db.session, provider_id=_provider_id(), status=request.args.get("status") or None)
    return render_template("provider/disbursements.html", rows=rows)


@bp.route("/portfolio")
def portfolio():
    """Outstanding, income, PAR30/PAR90, defaults, yield, expected vs received by month, loans."""
    from caas.loans import portfolio as book

    flows = book.cash_flow(db.session, _provider_id())
    peak = max([max(m.expected_minor, m.received_minor) for m in flows] or [1]) or 1
    return render_template("provider/portfolio.html", summaries=book.summary(db.session, _provider_id(), clock.today()),
                           flows=flows, peak=peak,
                           loans=book.loans_list(db.session, _provider_id(), status=request.args.get("status") or None,
                                                 bucket=request.args.get("bucket") or None))


@bp.route("/statements")
def statements_page():
    """Per month: received from borrowers, the platform's commission, and net to the provider."""
    from caas.loans import statements

    months = statements.provider_months(db.session, _provider_id(), currency=request.args.get("currency") or None)
    return render_template("provider/statements.html", months=months, totals=statements.totals(months),
                           currency=request.args.get("currency") or "")


@bp.route("/statements.csv")
def statements_csv():
    from flask import Response

    from caas.loans import statements

    months = statements.provider_months(db.session, _provider_id(), currency=request.args.get("currency") or None)
    return Response(statements.provider_csv(months), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="statement-by-month.csv"', "Cache-Control": "private, no-store"})


notification_centre.add_routes(bp)
