"""Volumes: money paid out per currency and week, the outstanding portfolio now, and portfolio at
risk (PAR30, PAR90) week by week.

- Disbursed: loans whose payout succeeded in the window (a reversed payout is not counted), by the
  UTC week of ``payouts.settled_at``: the principal lent and what reached the borrower (principal
  less the origination fee withheld).
- Outstanding now: principal not yet repaid on active loans, per currency and delinquency bucket
  as the daily servicing job last set it.
- PAR trend: for each week, as of its last day (Sunday, or the window's last day), the loans on the
  book that day — paid out on or before it, not yet closed and not yet written off — with the
  principal outstanding that day (principal less the principal of repayments received on or before
  it) and their days past due that day (from the oldest instalment due before it and not yet fully
  paid on it). PAR30 is the outstanding principal of loans more than 30 days past due over all the
  outstanding principal; PAR90 likewise over 90 days. Recomputed from the instalments and
  repayments, so a day the servicing job did not run still has its figure.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from caas.analytics import charts, tables
from caas.analytics.window import Window, ratio
from caas.loans.models import Loan, LoanInstallment, LoanStatus
from caas.money import describe
from caas.payments.models import Payout
from caas.payments.states import PayoutState

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


@dataclass(frozen=True)
class WeekVolume:
    week: date  # the Monday
    currency: str
    loans: int
    principal_minor: int
    paid_out_minor: int


def _utc_day(column):
    return func.date(func.timezone("UTC", column))


def disbursed_by_week(session: Session, window: Window, client_id: uuid.UUID | None = None) -> list[WeekVolume]:
    """Per currency, every week of the window (weeks with nothing paid out included, as zeros)."""
    week = func.date(func.date_trunc("week", func.timezone("UTC", Payout.settled_at)))
    query = (select(week, Payout.currency, func.count(), func.sum(Loan.principal_minor), func.sum(Payout.amount_minor))
             .join(Loan, Loan.id == Payout.loan_id)
             .where(Payout.status == PayoutState.succeeded, Payout.settled_at >= window.starts_at,
                    Payout.settled_at < window.ends_at)
             .group_by(week, Payout.currency))
    if client_id:
        query = query.where(Payout.client_id == client_id)
    found = {(w, c): (n, int(p), int(o)) for w, c, n, p, o in session.execute(query)}
    currencies = sorted({c for _, c in found})
    return [WeekVolume(w, c, *found.get((w, c), (0, 0, 0))) for c in currencies for w in window.weeks()]


@dataclass(frozen=True)
class Outstanding:
    currency: str
    bucket: str
    loans: int
    principal_minor: int


def outstanding(session: Session, client_id: uuid.UUID | None = None) -> list[Outstanding]:
    """Active loans now, per currency and bucket (every bucket listed, empty ones as zeros)."""
    principal = LoanInstallment.principal_minor - LoanInstallment.paid_principal_minor
    per_loan = (select(Loan.currency, Loan.bucket, func.sum(principal).label("principal"))
                .join(LoanInstallment, LoanInstallment.loan_id == Loan.id)
                .where(Loan.status == LoanStatus.active).group_by(Loan.id))
    if client_id:
        per_loan = per_loan.where(Loan.client_id == client_id)
    sub = per_loan.subquery()
    found = {(c, b): (n, int(p)) for c, b, n, p in session.execute(
        select(sub.c.currency, sub.c.bucket, func.count(), func.sum(sub.c.principal))
        .group_by(sub.c.currency, sub.c.bucket))}
    currencies = sorted({c for c, _ in found})
    return [Outstanding(c, b, *found.get((c, b), (0, 0))) for c in currencies for b in BUCKETS]


@dataclass(frozen=True)
class ParPoint:
    on: date
    currency: str
    loans: int
    outstanding_minor: int
    par30_minor: int
    par90_minor: int

    @property
    def par30(self) -> Decimal | None:
        return ratio(self.par30_minor, self.outstanding_minor)

    @property
    def par90(self) -> Decimal | None:
        return ratio(self.par90_minor, self.outstanding_minor)


# Set-based in three parts, so the work grows with the loans and their events, not with loans × days:
# - book: every loan paid out by the last day, with the day it left the book (closed, or written
#   off: the write-off's ledger entry dates it; journal_entries is the platform's ledger, no RLS);
# - totals: the outstanding principal and the loans per day as running sums of moves (+principal
#   on the payout day, -principal of each repayment, -what was left on the day it left the book);
# - late: the (day, loan) pairs more than 30 days past due, from the instalments that were ever that
#   late (a loan is more than N days past due on d when an instalment due before d - N is not yet
#   paid on d), each with the loan's outstanding principal on that day.
PAR_SQL = """
WITH days AS (SELECT d FROM unnest(CAST(:days AS date[])) AS d),
book AS (
  SELECT l.id, l.currency, l.principal_minor, l.start_date,
         LEAST(CAST(timezone('UTC', l.closed_at) AS date),
               CASE WHEN l.status = 'written_off' THEN (
                 SELECT CAST(timezone('UTC', w.occurred_at) AS date) FROM journal_entries w
                 WHERE w.idempotency_key = 'write-off:' || l.id::text) END) AS left_on
  FROM loans l
  WHERE l.status <> 'pending_disbursement' AND l.start_date <= :last {client}
),
moves AS (
  SELECT b.currency, b.start_date AS on_day, b.principal_minor AS amount, 1 AS loans FROM book b
  UNION ALL
  SELECT b.currency, r.received_on, -CAST(r.allocation ->> 'principal_minor' AS bigint), 0
  FROM repayments r JOIN book b ON b.id = r.loan_id
  WHERE r.status = 'succeeded' AND r.received_on <= :last AND (b.left_on IS NULL OR r.received_on < b.left_on)
  UNION ALL
  SELECT b.currency, b.left_on, -(b.principal_minor - COALESCE((
           SELECT sum(CAST(r.allocation ->> 'principal_minor' AS bigint)) FROM repayments r
           WHERE r.loan_id = b.id AND r.status = 'succeeded' AND r.received_on < b.left_on), 0)), -1
  FROM book b WHERE b.left_on <= :last
),
per_day AS (SELECT currency, on_day, sum(amount) AS amount, sum(loans) AS loans FROM moves GROUP BY currency, on_day),
totals AS (
  SELECT days.d, p.currency, sum(p.loans) AS loans, sum(p.amount) AS outstanding
  FROM days JOIN per_day p ON p.on_day <= days.d GROUP BY days.d, p.currency HAVING sum(p.loans) > 0
),
late AS (
  SELECT days.d, b.id, b.currency, b.principal_minor, max(days.d - i.due_date) AS dpd
  FROM book b
  JOIN loan_installments i ON i.loan_id = b.id
  JOIN days ON i.due_date < days.d - 30 AND (i.paid_on IS NULL OR i.paid_on > days.d)
           AND b.start_date <= days.d AND (b.left_on IS NULL OR b.left_on > days.d)
  WHERE i.due_date < CAST(:last AS date) - 30 AND (i.paid_on IS NULL OR i.paid_on > i.due_date + 30)
  GROUP BY days.d, b.id, b.currency, b.principal_minor
),
at_risk AS (
  SELECT l.d, l.currency, l.dpd, l.principal_minor - COALESCE((
           SELECT sum(CAST(r.allocation ->> 'principal_minor' AS bigint)) FROM repayments r
           WHERE r.loan_id = l.id AND r.status = 'succeeded' AND r.received_on <= l.d), 0) AS outstanding
  FROM late l
),
at_risk_per_day AS (  -- one row per day and currency before the join (not one per late loan)
  SELECT d, currency, sum(outstanding) AS par30, sum(outstanding) FILTER (WHERE dpd > 90) AS par90
  FROM at_risk GROUP BY d, currency
)
SELECT t.d, t.currency, t.loans, t.outstanding, COALESCE(a.par30, 0), COALESCE(a.par90, 0)
FROM totals t LEFT JOIN at_risk_per_day a ON a.d = t.d AND a.currency = t.currency
ORDER BY t.currency, t.d
"""


def par_trend(session: Session, window: Window, client_id: uuid.UUID | None = None) -> list[ParPoint]:
    """One point per week of the window and currency (a week with no loan on the book has none)."""
    sql = text(PAR_SQL.format(client="AND l.client_id = :client" if client_id else ""))
    days = window.week_ends()
    params = {"days": days, "last": days[-1], **({"client": client_id} if client_id else {})}
    return [ParPoint(d, c, n, int(o), int(p30), int(p90)) for d, c, n, o, p30, p90 in session.execute(sql, params)]


def _money(currency: str):
    return lambda v: describe(int(v), currency, with_code=False)


def _per_currency(rows: list, title: str, draw) -> list[charts.Chart]:
    """One chart per currency (``draw(title, currency, rows)``), or one saying there is nothing."""
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups[row.currency].append(row)
    return [draw(f"{title}, {c}", c, group) for c, group in groups.items()] or [charts.placeholder(title)]


def dashboard(session: Session, window: Window, client_id: uuid.UUID | None = None) -> tables.Dashboard:
    weeks = disbursed_by_week(session, window, client_id)
    book = outstanding(session, client_id)
    trend = par_trend(session, window, client_id)
    disbursed_charts = _per_currency(weeks, "Principal disbursed per week", lambda title, c, rows: charts.bar_chart(
        title, [f"{w.week:%d %b}" for w in rows],
        [charts.Series(f"Principal ({c})", tuple(w.principal_minor for w in rows))], fmt=_money(c)))
    book_charts = _per_currency(book, "Outstanding principal by days past due", lambda title, c, rows: charts.bar_chart(
        title, [o.bucket for o in rows],
        [charts.Series(f"Outstanding ({c})", tuple(o.principal_minor for o in rows))], fmt=_money(c)))
    trend_charts = _per_currency(trend, "Portfolio at risk week by week", lambda title, c, rows: charts.line_chart(
        title, [f"{p.on:%d %b}" for p in rows],
        [charts.Series("PAR30 %", tuple(charts.percent(p.par30) for p in rows)),
         charts.Series("PAR90 %", tuple(charts.percent(p.par90) for p in rows))], fmt=lambda v: f"{v}%"))
    totals = defaultdict(int)
    for o in book:
        totals[o.currency] += o.principal_minor
    return tables.Dashboard("volumes", "Volumes", (
        tables.Section("Disbursed per week", tables.Table(
            "disbursed", "Loans paid out per week (Monday) and currency: principal lent and the amount paid out",
            ("Week of", "Currency", "Loans", "Principal", "Paid out"),
            tuple((w.week, w.currency, w.loans, tables.Amount(w.principal_minor, w.currency),
                   tables.Amount(w.paid_out_minor, w.currency)) for w in weeks)),
            disbursed_charts),
        tables.Section("Outstanding portfolio now", tables.Table(
            "outstanding", "Principal outstanding on active loans now, per currency and days past due",
            ("Currency", "Days past due", "Loans", "Outstanding principal", "Share"),
            tuple((o.currency, o.bucket, o.loans, tables.Amount(o.principal_minor, o.currency),
                   tables.Rate(ratio(o.principal_minor, totals[o.currency]))) for o in book)),
            book_charts),
        tables.Section("Portfolio at risk", tables.Table(
            "par", "PAR30 and PAR90 as of the last day of each week, per currency",
            ("As of", "Currency", "Loans", "Outstanding principal", "Over 30 days", "PAR30", "Over 90 days",
             "PAR90"),
            tuple((p.on, p.currency, p.loans, tables.Amount(p.outstanding_minor, p.currency),
                   tables.Amount(p.par30_minor, p.currency), tables.Rate(p.par30),
                   tables.Amount(p.par90_minor, p.currency), tables.Rate(p.par90)) for p in trend)),
            trend_charts,
            note="PAR30: outstanding principal of loans more than 30 days past due ÷ all outstanding principal "
                 "that day; PAR90 likewise over 90 days."),
    ))
