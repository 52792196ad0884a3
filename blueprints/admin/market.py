"""The marketplace overview: live listings, bids per application, time to first bid, acceptance
rate and the spread of offered APRs over 7, 30 or 90 days, as a page or as CSV.

Platform admins read every client (or one, ``?client=<slug>``) through the audited all-tenants
read; client admins see their own tenant, which row-level security enforces.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal

from flask import abort, make_response, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField

from blueprints.admin import bp
from blueprints.common import actor
from caas.core.extensions import db
from caas.market import overview
from caas.tenancy import operations
from caas.tenancy.models import Client, Role

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
MAX_AXIS_LABELS = 8  # "100–105%" at 11px is about 50 units wide; 8 fit under a 640-unit chart


class MarketFilterForm(FlaskForm):
    class Meta:
        csrf = False

    days = SelectField("Period", choices=[(d, f"Last {d} days") for d in PERIODS], coerce=int,
                       default=DEFAULT_PERIOD)
    client = SelectField("Client", choices=[("", "All clients")], default="")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def percent(fraction: Decimal | None) -> str:
    """A fraction as a percentage to one place (0.6667 → "66.7%"); an em dash when undefined."""
    if fraction is None:
        return "—"
    return f"{(fraction * 100).quantize(Decimal('0.1'), ROUND_HALF_EVEN)}%"


def number(value: Decimal | int | None) -> str:
    return "—" if value is None else f"{value:f}" if isinstance(value, Decimal) else str(value)


def apr(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.quantize(Decimal('0.01'), ROUND_HALF_EVEN)}%"


def bucket_label(bucket: overview.AprBucket) -> str:
    return f"{bucket.low.normalize():f}–{bucket.high.normalize():f}%"


# --- The chart, laid out on the server (no script, no inline style) ----------------------------------

@dataclass(frozen=True)
class Bar:
    label: str
    bids: int
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal
    centre: Decimal
    labelled: bool  # with many bars only every n-th carries its axis label, so labels never overlap


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: int
    left: int
    right: int
    bars: tuple[Bar, ...]


def chart(histogram: tuple[overview.AprBucket, ...], *, width: int = 640, height: int = 260) -> Chart:
    """Bars for an SVG viewBox of ``width`` × ``height``: room above each bar for its count and
    below the baseline for its label; the tallest bar fills the plot."""
    left, right, top, bottom = 8, width - 8, 24, height - 36
    tallest = max((b.bids for b in histogram), default=0) or 1
    slot = Decimal(right - left) / max(len(histogram), 1)
    q = Decimal("0.1")
    label_every = -(-len(histogram) // MAX_AXIS_LABELS)  # ceiling
    bars = []
    for i, bucket in enumerate(histogram):
        bar_height = (Decimal(bottom - top) * bucket.bids / tallest).quantize(q)
        x = Decimal(left) + slot * i + slot / 10
        bars.append(Bar(label=bucket_label(bucket), bids=bucket.bids, x=x.quantize(q),
                        y=(Decimal(bottom) - bar_height).quantize(q), width=(slot * 8 / 10).quantize(q),
                        height=bar_height, centre=(Decimal(left) + slot * i + slot / 2).quantize(q),
                        labelled=i % label_every == 0))
    return Chart(width=width, height=height, baseline=bottom, left=left, right=right, bars=tuple(bars))


# --- CSV -----------------------------------------------------------------------------------------------

def csv_rows(figures: overview.Overview, days: int, scope: str) -> list[list[str]]:
    """One tidy table: the figures (no range) then the histogram (one row per APR bucket)."""
    spread = figures.apr
    plain = [
        ("period_days", days), ("since", figures.since.isoformat()), ("client", scope),
        ("open_listings", figures.open_listings), ("listings_opened", figures.listings_opened),
        ("bids_on_listings_opened", figures.bids_on_opened), ("bids_per_application", figures.bids_per_application),
        ("median_minutes_to_first_bid", figures.median_minutes_to_first_bid),
        ("listings_accepted", figures.accepted), ("listings_expired", figures.expired),
        ("acceptance_rate", figures.acceptance_rate), ("bids_made", figures.bids_made),
        ("apr_min", spread and spread.minimum), ("apr_p25", spread and spread.p25),
        ("apr_median", spread and spread.median), ("apr_p75", spread and spread.p75),
        ("apr_max", spread and spread.maximum),
    ]
    rows = [["figure", "apr_from", "apr_to", "value"]]
    rows += [[name, "", "", "" if value is None else str(value)] for name, value in plain]
    rows += [["bids_in_apr_bucket", str(b.low), str(b.high), str(b.bids)] for b in figures.histogram]
    return rows


def _csv_response(figures: overview.Overview, days: int, scope: str):
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(csv_rows(figures, days, scope))
    response = make_response(out.getvalue())
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = f'attachment; filename="market-{scope}-{days}d.csv"'
    return response


@bp.route("/market")
def market_overview():
    form = MarketFilterForm(request.args)
    platform = current_user.role == Role.platform_admin
    if platform:
        clients = db.session.scalars(select(Client).order_by(Client.display_name)).all()
        form.client.choices = [("", "All clients")] + [(c.slug, c.display_name) for c in clients]
    else:
        del form.client  # a client admin's view is their tenant; there is nothing to choose
    if not form.validate():
        abort(404 if platform and form.client.errors else 400)
    days = form.days.data
    since = _now() - timedelta(days=days)

    if platform:
        chosen = operations.get_client_by_slug(db.session, form.client.data) if form.client.data else None
        scope = chosen.slug if chosen else "all"
        with operations.platform_access(db.session, actor(), client_id=None, reason=f"market overview:{scope}:{days}d"):
            figures = overview.compute(db.session, since, client_id=chosen.id if chosen else None)
        db.session.commit()
    else:
        chosen = current_user.client
        scope = chosen.slug
        # row-level security already limits this to the tenant; the filter says so in the query too
        figures = overview.compute(db.session, since, client_id=chosen.id)

    if request.args.get("format") == "csv":
        return _csv_response(figures, days, scope)
    return render_template("admin/market.html", form=form, figures=figures, days=days, chosen=chosen,
                           chart=chart(figures.histogram), percent=percent, number=number, apr=apr)
