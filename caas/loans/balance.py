"""The principal outstanding on a loan over time, as the schedule planned it and as the payments
made it: the points of the borrower's balance chart and its table. Pure: dates and integers in,
dataclasses out; no database, no Flask.

- **Scheduled** is a step function: the principal until the first due date, then each instalment's
  ``balance after`` from its due date on.
- **Actual** is the principal, plus principal added later (arrears capitalised by a hardship plan,
  from the plan's date), less the principal of every repayment from the day it was received. It is
  known only up to ``as_of`` (today): later points have ``actual_minor = None``.

The chart's geometry (x by date, y by amount, in whole SVG units) is here too, so the template
only prints numbers.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Point:
    on: date
    scheduled_minor: int
    actual_minor: int | None  # None: after as_of, not known yet


def balance_points(principal_minor: int, start: date, scheduled: Iterable[tuple[date, int]],
                   principal_paid: Iterable[tuple[date, int]], as_of: date,
                   added: Iterable[tuple[date, int]] = ()) -> list[Point]:
    """One point per date on which either series changes, plus ``start`` and ``as_of``.

    ``scheduled``: (due date, principal balance after that instalment) per instalment.
    ``principal_paid``: (date received, principal part of the repayment) per repayment.
    ``added``: (date, principal added to the balance), e.g. arrears capitalised by a hardship plan.
    """
    if principal_minor < 0:
        raise ValueError("principal_minor must not be negative")
    plan = sorted(scheduled)
    paid = sorted((on, amount) for on, amount in principal_paid if amount)
    extra = sorted((on, amount) for on, amount in added if amount)
    dates = sorted({start, *(d for d, _ in plan), *(d for d, _ in paid), *(d for d, _ in extra),
                    *([as_of] if as_of >= start else [])})
    points = []
    for on in dates:
        if on < start:
            continue
        due = [balance for due_date, balance in plan if due_date <= on]
        planned = due[-1] if due else principal_minor
        actual = None
        if on <= as_of:
            actual = (principal_minor + sum(a for d, a in extra if d <= on) - sum(a for d, a in paid if d <= on))
        points.append(Point(on, planned, actual))
    return points


@dataclass(frozen=True)
class Chart:
    """Integer SVG geometry of the points: a step line for the schedule, a line for the actual
    balance. ``width``/``height`` is the viewBox; the margins leave room for the labels."""

    points: Sequence[Point]
    width: int = 640
    height: int = 220
    left: int = 72  # room for the amounts
    right: int = 12
    top: int = 12
    bottom: int = 28  # room for the dates

    @property
    def start(self) -> date:
        return self.points[0].on

    @property
    def end(self) -> date:
        return self.points[-1].on

    @property
    def peak(self) -> int:
        return max([max(p.scheduled_minor, p.actual_minor or 0) for p in self.points] + [1])

    def x(self, on: date) -> int:
        span = max((self.end - self.start).days, 1)
        return self.left + (on - self.start).days * (self.width - self.left - self.right) // span

    def y(self, minor: int) -> int:
        return self.height - self.bottom - minor * (self.height - self.top - self.bottom) // self.peak

    @property
    def baseline(self) -> int:
        return self.height - self.bottom

    @property
    def scheduled_path(self) -> str:
        """A step line: flat until a due date, then down to the new balance."""
        out, previous = [], None
        for p in self.points:
            if previous is not None and previous != p.scheduled_minor:
                out.append(f"{self.x(p.on)},{self.y(previous)}")
            out.append(f"{self.x(p.on)},{self.y(p.scheduled_minor)}")
            previous = p.scheduled_minor
        return " ".join(out)

    @property
    def actual_path(self) -> str:
        """Steps at each payment: the balance stays until the day the money arrived."""
        out, previous = [], None
        for p in self.points:
            if p.actual_minor is None:
                break
            if previous is not None and previous != p.actual_minor:
                out.append(f"{self.x(p.on)},{self.y(previous)}")
            out.append(f"{self.x(p.on)},{self.y(p.actual_minor)}")
            previous = p.actual_minor
        return " ".join(out)

    @property
    def last_actual(self) -> tuple[int, int] | None:
        """(x, y) of the latest known balance: marked with a dot, so that a single known point (a
        loan paid out today) still shows."""
        known = [p for p in self.points if p.actual_minor is not None]
        return (self.x(known[-1].on), self.y(known[-1].actual_minor)) if known else None

    @property
    def y_ticks(self) -> list[tuple[int, int]]:
        """(amount, y) for 0, half and the peak."""
        return [(amount, self.y(amount)) for amount in (0, self.peak // 2, self.peak)]
