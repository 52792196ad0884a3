"""Providers: who lends, how much they bid, how often they win, and what they offer by grade.

Bids made in the window (``bids.created_at``):
- bids: every bid not withdrawn; won = accepted, lost = rejected (another offer was taken),
  expired = the application expired or was withdrawn with the bid open; open = still undecided;
- win rate = won ÷ (won + lost + expired), the definition providers see on "My bids" (bids still
  open or withdrawn are not decided, so they are left out);
- average offered APR: the mean APR (percent) of the bids, per provider and per listing grade,
  rounded half-even to 0.01.
Active providers: providers whose status is active (with a client filter: in that client's network).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import Numeric, cast, func, select
from sqlalchemy.orm import Session

from caas.analytics import charts, tables
from caas.analytics.window import Window, ratio
from caas.market.models import Bid, BidStatus, Listing
from caas.tenancy.models import Provider, ProviderAccess, Status

APR_PLACES = Decimal("0.01")
GRADES = ("A", "B", "C", "D", "E")


def _apr(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(APR_PLACES, ROUND_HALF_EVEN)


@dataclass(frozen=True)
class ProviderRow:
    provider_id: uuid.UUID
    provider: str
    active: bool
    bids: int
    won: int
    lost: int
    expired: int
    open: int
    withdrawn: int
    average_apr: Decimal | None

    @property
    def win_rate(self) -> Decimal | None:
        return ratio(self.won, self.won + self.lost + self.expired)


def _bids_in(window: Window, client_id: uuid.UUID | None) -> list:
    where = [Bid.created_at >= window.starts_at, Bid.created_at < window.ends_at]
    if client_id:
        where.append(Bid.client_id == client_id)
    return where


def activity(session: Session, window: Window, client_id: uuid.UUID | None = None) -> list[ProviderRow]:
    """Every active provider (those without bids as zeros) and every provider that bid, by name."""
    offered = Bid.status != BidStatus.withdrawn
    found = {row[0]: row[1:] for row in session.execute(
        select(Bid.provider_id, func.count().filter(offered),
               *(func.count().filter(Bid.status == s) for s in (BidStatus.accepted, BidStatus.rejected,
                                                                 BidStatus.expired, BidStatus.open,
                                                                 BidStatus.withdrawn)),
               cast(func.avg(Bid.apr).filter(offered), Numeric))
        .where(*_bids_in(window, client_id)).group_by(Bid.provider_id))}
    providers = select(Provider.id, Provider.legal_name, Provider.status)
    if client_id:
        network = select(ProviderAccess.provider_id).where(ProviderAccess.client_id == client_id)
        providers = providers.where((Provider.id.in_(network)) | Provider.id.in_(list(found)))
    rows = []
    for pid, name, status in session.execute(providers):
        if status != Status.active and pid not in found:
            continue
        bids, won, lost, expired, still_open, withdrawn, apr = found.get(pid, (0, 0, 0, 0, 0, 0, None))
        rows.append(ProviderRow(pid, name, status == Status.active, bids, won, lost, expired, still_open, withdrawn,
                                _apr(apr)))
    return sorted(rows, key=lambda r: (-r.bids, r.provider))


@dataclass(frozen=True)
class GradeApr:
    grade: str
    bids: int
    average_apr: Decimal | None
    lowest_apr: Decimal | None
    highest_apr: Decimal | None


def apr_by_grade(session: Session, window: Window, client_id: uuid.UUID | None = None) -> list[GradeApr]:
    """Bids not withdrawn, by the grade of the listing they were made on (every grade A–E listed)."""
    found = {g: (n, avg, low, high) for g, n, avg, low, high in session.execute(
        select(Listing.grade, func.count(), cast(func.avg(Bid.apr), Numeric), func.min(Bid.apr), func.max(Bid.apr))
        .join(Listing, Listing.id == Bid.listing_id)
        .where(Bid.status != BidStatus.withdrawn, *_bids_in(window, client_id)).group_by(Listing.grade))}
    grades = list(GRADES) + sorted(set(found) - set(GRADES))
    out = []
    for g in grades:
        n, avg, low, high = found.get(g, (0, None, None, None))
        out.append(GradeApr(g, n, _apr(avg), _apr(low), _apr(high)))
    return out


def dashboard(session: Session, window: Window, client_id: uuid.UUID | None = None) -> tables.Dashboard:
    rows = activity(session, window, client_id)
    grades = apr_by_grade(session, window, client_id)
    bidding = [r for r in rows if r.bids]
    bids_chart = charts.bar_chart(
        "Bids per provider: made and won", [r.provider[:14] for r in bidding],
        [charts.Series("Bids", tuple(r.bids for r in bidding)), charts.Series("Won", tuple(r.won for r in bidding))])
    apr_chart = charts.bar_chart(
        "Average offered APR by grade", [f"Grade {g.grade}" for g in grades],
        [charts.Series("Average APR %", tuple(g.average_apr for g in grades))], fmt=lambda v: f"{v}%")
    summary = tables.Table(
        "summary", "Providers at a glance", ("Figure", "Value"),
        (("Active providers", sum(1 for r in rows if r.active)), ("Providers that bid", len(bidding)),
         ("Bids", sum(r.bids for r in rows)), ("Won", sum(r.won for r in rows)),
         ("Win rate", tables.Rate(ratio(sum(r.won for r in rows),
                                        sum(r.won + r.lost + r.expired for r in rows))))),
        numeric=(False, True))
    return tables.Dashboard("providers", "Providers", (
        tables.Section("Summary", summary),
        tables.Section("Bids and wins per provider", tables.Table(
            "providers", "Bids made in the period per provider, their outcome, win rate and average APR",
            ("Provider", "Active", "Bids", "Won", "Lost", "Expired", "Open", "Withdrawn", "Win rate", "Average APR"),
            tuple((r.provider, "yes" if r.active else "no", r.bids, r.won, r.lost, r.expired, r.open, r.withdrawn,
                   tables.Rate(r.win_rate), tables.Percent(r.average_apr)) for r in rows)), bids_chart,
            note="Win rate: won ÷ (won + lost + expired); open and withdrawn bids are not decided."),
        tables.Section("Offered APR by grade", tables.Table(
            "apr", "APR offered on bids made in the period, by the listing's grade",
            ("Grade", "Bids", "Average APR", "Lowest", "Highest"),
            tuple((g.grade, g.bids, tables.Percent(g.average_apr), tables.Percent(g.lowest_apr),
                   tables.Percent(g.highest_apr)) for g in grades)), apr_chart),
    ))
