"""Analytics dashboards in the admin portal: funnel, volumes, revenue, providers and scoring, each
a page of SVG charts with their tables, and every table as CSV.

Platform admins read every client (or one, ``?client=<slug>``) through the audited all-tenants
read; client admins see the funnel and volumes of their own tenant, which row-level security
enforces (revenue, providers and scoring are the platform's business). The period is
``?date_from=YYYY-MM-DD&date_to=YYYY-MM-DD`` (default: the last 90 days); a bad one answers 400
with the message at the field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import abort, make_response, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from blueprints.admin import bp
from blueprints.admin.routes import acting_for
from blueprints.common import render, wants_partial
from blueprints.forms_util import apply_error
from caas.analytics import funnel, providers, revenue, scoring, tables, volumes
from caas.analytics.window import Window
from caas.core import clock
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.tenancy import operations
from caas.tenancy.models import Client, Role


@dataclass(frozen=True)
class Board:
    title: str
    about: str
    build: Callable[..., tables.Dashboard]
    platform_only: bool


BOARDS = {
    "funnel": Board("Funnel", "Applications submitted → approved → offered → accepted → disbursed, with conversion "
                    "rates, per client and overall.", funnel.dashboard, False),
    "volumes": Board("Volumes", "Disbursed per currency and week, the outstanding portfolio, PAR30 and PAR90 week "
                     "by week.", volumes.dashboard, False),
    "revenue": Board("Revenue", "Invoiced per month and metric, and commissions from repayments.",
                     revenue.dashboard, True),
    "providers": Board("Providers", "Active providers, bids per provider, win rates, average offered APR by grade.",
                       providers.dashboard, True),
    "scoring": Board("Scoring", "Decisions by grade, approval rate, and the observed default rate by grade against "
                     "the predicted one.", scoring.dashboard, True),
}
NAMES = ", ".join(BOARDS)


class AnalyticsFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET that changes nothing

    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    client = SelectField("Client", choices=[("", "All clients")], default="")


def _platform() -> bool:
    return current_user.role == Role.platform_admin


def _boards() -> dict[str, Board]:
    return {name: b for name, b in BOARDS.items() if _platform() or not b.platform_only}


def _filters() -> tuple[AnalyticsFilterForm, Window | None, Client | None]:
    """The form from the query string, and the window and client it names (None when refused)."""
    form = AnalyticsFilterForm(request.args)
    if _platform():
        clients = db.session.scalars(select(Client).order_by(Client.display_name)).all()
        form.client.choices = [("", "All clients")] + [(c.slug, c.display_name) for c in clients]
    else:
        del form.client  # a client admin's view is their tenant; there is nothing to choose
    if not form.validate():
        return form, None, None
    try:
        window = Window.between(form.date_from.data, form.date_to.data, clock.today())
    except DomainError as exc:
        apply_error(form, exc)
        return form, None, None
    form.date_from.data, form.date_to.data = window.start, window.end
    chosen = (operations.get_client_by_slug(db.session, form.client.data) if form.client.data else None) \
        if _platform() else current_user.client
    return form, window, chosen


def _query(form: AnalyticsFilterForm) -> dict[str, str]:
    """The filter as query parameters, for links to the other dashboards and the CSV files."""
    args = {"date_from": form.date_from.data.isoformat() if form.date_from.data else "",
            "date_to": form.date_to.data.isoformat() if form.date_to.data else ""}
    if getattr(form, "client", None) is not None and form.client.data:
        args["client"] = form.client.data
    return {k: v for k, v in args.items() if v}


def _page(form: AnalyticsFilterForm, window: Window | None, current: str | None,
          result: tables.Dashboard | None):
    """The page (or, for htmx, the filter and figures alone). A refused filter answers 400, or 422
    over htmx, which swaps 422 answers (app.js) so the messages appear at the fields in place."""
    page = render("admin/analytics.html", "admin/_analytics.html", form=form, boards=_boards(), current=current,
                  query=_query(form), dashboard=result, window=window, show=tables.show)
    if window is None:
        return page, (422 if wants_partial() else 400)
    return page


@bp.route("/analytics")
def analytics_home():
    form, window, _ = _filters()
    return _page(form, window, None, None)


def _dashboard(name: str) -> tuple[AnalyticsFilterForm, Window | None, tables.Dashboard | None, str]:
    board = _boards().get(name)
    if board is None:
        abort(403 if name in BOARDS else 404)
    form, window, chosen = _filters()
    if window is None:
        return form, None, None, ""
    scope = chosen.slug if chosen else "all"
    with acting_for(None, f"analytics:{name}:{scope}:{window.start}:{window.end}"):
        # row-level security already limits a client admin to their tenant; the filter says so too
        result = board.build(db.session, window, chosen.id if chosen else None)
    db.session.commit()
    return form, window, result, scope


@bp.route("/analytics/<any(" + NAMES + "):name>")
def analytics_board(name: str):
    if request.args.get("format") == "csv":
        return analytics_csv(name)
    form, window, result, _ = _dashboard(name)
    return _page(form, window, name, result)


@bp.route("/analytics/<any(" + NAMES + "):name>.csv")
def analytics_csv(name: str):
    """One table of the dashboard (``?table=<name>``, by default its first) as CSV."""
    form, window, result, scope = _dashboard(name)
    if result is None:
        messages = "; ".join(e for errors in form.errors.values() for e in errors)
        response = make_response(messages, 400)
        response.mimetype = "text/plain"
        return response
    table = result.table(request.args.get("table"))
    if table is None:
        abort(404)
    response = make_response(tables.to_csv(table))
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name}-{table.name}-{scope}-{window.start}-{window.end}.csv"')
    response.headers["Cache-Control"] = "private, no-store"
    return response
