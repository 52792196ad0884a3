"""The application funnel: of the applications submitted in the window, how many were approved,
received an offer, accepted one and were paid out, per client and overall.

A cohort funnel: every stage counts applications *submitted in the window* that ever reached it,
whenever that happened, so each stage is a subset of the one before and the conversion rates are
true proportions. Stages come from the application's timeline (``application_events``) and its
bids:
- approved: the timeline has ``approved`` (by the scorecard, or by a person after a referral);
- offered: at least one bid that was not withdrawn;
- accepted: the timeline has ``offer_accepted``;
- disbursed: the timeline has ``active`` (the payout reached the borrower).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from caas.analytics import charts, tables
from caas.analytics.window import Window, ratio
from caas.credit.models import Application, ApplicationEvent
from caas.market.models import Bid, BidStatus
from caas.tenancy.models import Client

STAGES = ("submitted", "approved", "offered", "accepted", "disbursed")
LABELS = {"submitted": "Submitted", "approved": "Approved", "offered": "Offered", "accepted": "Accepted",
          "disbursed": "Disbursed"}


@dataclass(frozen=True)
class Row:
    client_id: uuid.UUID | None  # None: the overall row
    client: str
    submitted: int
    approved: int
    offered: int
    accepted: int
    disbursed: int

    def count(self, stage: str) -> int:
        return getattr(self, stage)

    def step_rate(self, stage: str) -> Decimal | None:
        """This stage over the one before it (None for the first stage, or nothing before)."""
        i = STAGES.index(stage)
        return ratio(self.count(stage), self.count(STAGES[i - 1])) if i else None

    def overall_rate(self, stage: str) -> Decimal | None:
        """This stage over the applications submitted."""
        return ratio(self.count(stage), self.submitted)


@dataclass(frozen=True)
class Funnel:
    window: Window
    clients: tuple[Row, ...]
    overall: Row


def _reached(status: str):
    return exists().where(ApplicationEvent.application_id == Application.id, ApplicationEvent.to_status == status)


def funnel(session: Session, window: Window, client_id: uuid.UUID | None = None) -> Funnel:
    """One grouped query over the window's submitted applications (visible in the session's scope)."""
    offered = exists().where(Bid.application_id == Application.id, Bid.status != BidStatus.withdrawn)
    query = (select(Application.client_id, func.count(), func.count().filter(_reached("approved")),
                    func.count().filter(offered), func.count().filter(_reached("offer_accepted")),
                    func.count().filter(_reached("active")))
             .where(Application.submitted_at >= window.starts_at, Application.submitted_at < window.ends_at)
             .group_by(Application.client_id))
    if client_id:
        query = query.where(Application.client_id == client_id)
    found = session.execute(query).all()
    names = dict(session.execute(select(Client.id, Client.display_name)
                                 .where(Client.id.in_([r[0] for r in found]))).all()) if found else {}
    rows = sorted((Row(r[0], names.get(r[0], str(r[0])), *r[1:]) for r in found), key=lambda r: r.client)
    overall = Row(None, "All clients", *(sum(r.count(s) for r in rows) for s in STAGES))
    return Funnel(window, tuple(rows), overall)


def _table(result: Funnel) -> tables.Table:
    headers = ["Client"]
    for stage in STAGES:
        headers.append(LABELS[stage])
        if stage != "submitted":
            headers += [f"{LABELS[stage]} ÷ previous", f"{LABELS[stage]} ÷ submitted"]
    rows = []
    for row in (*result.clients, result.overall):
        cells: list[tables.Cell] = [row.client]
        for stage in STAGES:
            cells.append(row.count(stage))
            if stage != "submitted":
                cells += [tables.Rate(row.step_rate(stage)), tables.Rate(row.overall_rate(stage))]
        rows.append(tuple(cells))
    return tables.Table("funnel", "Applications submitted in the period and how far they went, per client",
                        tuple(headers), tuple(rows))


def dashboard(session: Session, window: Window, client_id: uuid.UUID | None = None) -> tables.Dashboard:
    result = funnel(session, window, client_id)
    overall = result.overall
    chart = charts.bar_chart(
        "Applications at each stage of the funnel", [LABELS[s] for s in STAGES],
        [charts.Series("Applications", tuple(overall.count(s) for s in STAGES))])
    stages = tables.Table(
        "stages", "The funnel overall: applications at each stage and the conversion from the stage before",
        ("Stage", "Applications", "÷ previous stage", "÷ submitted"),
        tuple((LABELS[s], overall.count(s), tables.Rate(overall.step_rate(s)), tables.Rate(overall.overall_rate(s)))
              for s in STAGES))
    return tables.Dashboard("funnel", "Funnel", (
        tables.Section("Overall", stages, chart),
        tables.Section("Per client", _table(result)),
    ))
