"""Scoring: decisions by grade with the approval rate, and the calibration check — for loans old
enough to tell, the default rate the scorecard predicted (its PD) against the one observed.

- Decisions: credit decisions made in the window (``decided_at``) by grade (no grade: declined
  before the scorecard, e.g. by KYC or policy rules) and outcome; approval rate = applications
  of those decisions that were approved in the end (by the scorecard, or by a person after a
  referral) ÷ decisions.
- Calibration: loans paid out at least ``MIN_AGE_DAYS`` days before the window's last day (the
  window's start does not matter: calibration needs every loan old enough), by the grade and PD the
  marketplace listed them with. A loan has defaulted when it was written off or was ever more than
  90 days past due (the servicing job's bucket history, or its days past due now). Expected = the
  mean PD; observed = defaults ÷ loans. A well calibrated scorecard has the two close per grade.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import Numeric, String, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from caas.analytics import charts, tables
from caas.analytics.window import RATIO_PLACES, Window, ratio
from caas.credit.models import ApplicationEvent, CreditDecision
from caas.loans.models import BucketChange, Loan, LoanStatus
from caas.market.models import Listing

MIN_AGE_DAYS = 180
NO_GRADE = "—"
GRADES = ("A", "B", "C", "D", "E")


@dataclass(frozen=True)
class GradeDecisions:
    grade: str
    decisions: int
    approve: int  # the decision's own outcome…
    refer: int
    decline: int
    approved: int  # …and approved in the end

    @property
    def approval_rate(self) -> Decimal | None:
        return ratio(self.approved, self.decisions)


def decisions_by_grade(session: Session, window: Window, client_id: uuid.UUID | None = None) -> list[GradeDecisions]:
    approved = exists().where(ApplicationEvent.application_id == CreditDecision.application_id,
                              ApplicationEvent.to_status == "approved")
    grade = func.coalesce(CreditDecision.grade, cast(literal(NO_GRADE), String))
    query = (select(grade, func.count(), *(func.count().filter(CreditDecision.outcome == o)
                                           for o in ("approve", "refer", "decline")),
                    func.count().filter(approved))
             .where(CreditDecision.decided_at >= window.starts_at, CreditDecision.decided_at < window.ends_at)
             .group_by(grade))
    if client_id:
        query = query.where(CreditDecision.client_id == client_id)
    found = {row[0]: row[1:] for row in session.execute(query)}
    order = list(GRADES) + sorted(set(found) - set(GRADES) - {NO_GRADE}) + [NO_GRADE]
    return [GradeDecisions(g, *found.get(g, (0, 0, 0, 0, 0))) for g in order if g in found or g in GRADES]


@dataclass(frozen=True)
class GradeCalibration:
    grade: str
    loans: int
    defaults: int
    expected: Decimal | None  # mean PD, a fraction

    @property
    def observed(self) -> Decimal | None:
        return ratio(self.defaults, self.loans)


def calibration(session: Session, window: Window, client_id: uuid.UUID | None = None,
                min_age_days: int = MIN_AGE_DAYS) -> list[GradeCalibration]:
    aged_by = window.end - timedelta(days=min_age_days)
    ever_90 = exists().where(BucketChange.loan_id == Loan.id, BucketChange.to_bucket == "90+")
    defaulted = or_(Loan.status == LoanStatus.written_off, Loan.days_past_due > 90, ever_90)
    query = (select(Listing.grade, func.count(), func.count().filter(defaulted), cast(func.avg(Listing.pd), Numeric))
             .join(Listing, Listing.application_id == Loan.application_id)
             .where(Loan.status != LoanStatus.pending_disbursement, Loan.start_date <= aged_by)
             .group_by(Listing.grade))
    if client_id:
        query = query.where(Loan.client_id == client_id)
    found = {g: (n, d, pd) for g, n, d, pd in session.execute(query)}
    grades = list(GRADES) + sorted(set(found) - set(GRADES))
    return [GradeCalibration(g, n, d, None if pd is None else Decimal(pd).quantize(RATIO_PLACES, ROUND_HALF_EVEN))
            for g in grades for n, d, pd in [found.get(g, (0, 0, None))]]


def dashboard(session: Session, window: Window, client_id: uuid.UUID | None = None) -> tables.Dashboard:
    decisions = decisions_by_grade(session, window, client_id)
    fit = calibration(session, window, client_id)
    decisions_chart = charts.bar_chart(
        "Decisions by grade and outcome", [d.grade for d in decisions],
        [charts.Series("Approve", tuple(d.approve for d in decisions)),
         charts.Series("Refer", tuple(d.refer for d in decisions)),
         charts.Series("Decline", tuple(d.decline for d in decisions))])
    calibration_chart = charts.bar_chart(
        "Expected against observed default rate by grade", [f"Grade {c.grade}" for c in fit],
        [charts.Series("Expected (mean PD) %", tuple(charts.percent(c.expected) for c in fit)),
         charts.Series("Observed %", tuple(charts.percent(c.observed) for c in fit))],
        fmt=lambda v: f"{v}%")
    total = sum(d.decisions for d in decisions)
    return tables.Dashboard("scoring", "Scoring", (
        tables.Section("Decisions by grade", tables.Table(
            "decisions", "Credit decisions made in the period, by grade and outcome, and the approval rate",
            ("Grade", "Decisions", "Approve", "Refer", "Decline", "Approved in the end", "Approval rate"),
            tuple((d.grade, d.decisions, d.approve, d.refer, d.decline, d.approved, tables.Rate(d.approval_rate))
                  for d in decisions) + (("All", total, sum(d.approve for d in decisions),
                                          sum(d.refer for d in decisions), sum(d.decline for d in decisions),
                                          sum(d.approved for d in decisions),
                                          tables.Rate(ratio(sum(d.approved for d in decisions), total))),)),
            decisions_chart),
        tables.Section("Calibration", tables.Table(
            "calibration", f"Loans paid out at least {MIN_AGE_DAYS} days before the period's last day: "
                           "expected (mean PD) against observed default rate by grade",
            ("Grade", "Loans", "Defaults", "Expected (mean PD)", "Observed default rate"),
            tuple((c.grade, c.loans, c.defaults, tables.Rate(c.expected), tables.Rate(c.observed)) for c in fit)),
            calibration_chart,
            note="A default: written off, or more than 90 days past due at any time."),
    ))
