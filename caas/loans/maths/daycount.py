"""Calendars for loan maths: repayment frequencies, due dates and day-count conventions.

Due dates follow Apache Fineract's month-end rule, and period fractions follow
Fineract's progressive-loan rate factors, so that schedules agree with
Fineract's to the cent (see ``docs/loan-maths.md``).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum

__all__ = [
    "DayCount",
    "Unit",
    "add_months",
    "is_month_end",
    "is_months_apart",
    "next_due_date",
    "due_dates",
    "year_fraction",
    "period_fraction",
]


class Unit(str, Enum):
    """Unit of a repayment frequency: every N days, weeks or months."""

    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"

    @classmethod
    def parse(cls, text: "str | Unit") -> "Unit":
        if isinstance(text, Unit):
            return text
        key = str(text).strip().lower()
        key = key if key.endswith("s") else key + "s"
        try:
            return cls(key)
        except ValueError:
            raise ValueError(f"unknown frequency unit {text!r} (days, weeks, months)") from None


class DayCount(str, Enum):
    """Day-count convention: how many years of interest a period is worth."""

    THIRTY_360 = "30/360"
    ACTUAL_ACTUAL = "actual/actual"
    ACTUAL_365 = "actual/365"
    ACTUAL_360 = "actual/360"

    @classmethod
    def parse(cls, text: "str | DayCount") -> "DayCount":
        if isinstance(text, DayCount):
            return text
        key = str(text).strip().lower()
        # Fineract names conventions year-first ("360/30", "365/actual").
        aliases = {
            "360/30": "30/360",
            "365/actual": "actual/365",
            "360/actual": "actual/360",
            "act/act": "actual/actual",
            "act/365": "actual/365",
            "act/360": "actual/360",
        }
        try:
            return cls(aliases.get(key, key))
        except ValueError:
            names = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown day count {text!r} ({names})") from None


def is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def add_months(day: date, months: int) -> date:
    """Same day-of-month ``months`` later (or earlier), clamped to the month's last day.

    2024-01-31 + 1 month is 2024-02-29, as ``java.time.LocalDate.plusMonths``.
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def next_due_date(last_due: date, seed: date, every: int, unit: Unit) -> date:
    """The due date after ``last_due`` for a schedule anchored on ``seed``.

    Fineract's month-end rule: step ``every`` months from the previous due date
    (clamping to the month's end), then, when the seed day is after the 28th and
    the stepped date is on or after the 28th, move to the seed day or the month's
    last day if shorter. A loan disbursed on 31 January is due 29 February,
    31 March, 30 April, 31 May...; one seeded on the 30th is due on the 30th
    (28th/29th in February).
    """
    if unit is Unit.DAYS:
        return last_due + timedelta(days=every)
    if unit is Unit.WEEKS:
        return last_due + timedelta(weeks=every)
    stepped = add_months(last_due, every)
    if seed.day > 28 and stepped.day >= 28:
        last = calendar.monthrange(stepped.year, stepped.month)[1]
        stepped = stepped.replace(day=min(last, seed.day))
    return stepped


def due_dates(start: date, count: int, every: int, unit: Unit) -> list[date]:
    """``count`` due dates, the first one period after ``start``, each by :func:`next_due_date`."""
    if count < 1 or every < 1:
        raise ValueError("need at least one period of at least one unit")
    dates: list[date] = []
    last = start
    for _ in range(count):
        last = next_due_date(last, start, every, unit)
        dates.append(last)
    return dates


def _days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def _actual_actual(start: date, end: date) -> Decimal:
    # Fineract splits a period that crosses a year end into one piece per year,
    # each over its own year's length. Its pieces end on 31 December, not on
    # 1 January, so the day of 31 December counts in the following year; the
    # reference schedules (F-C3152: 101.81 of interest) depend on this.
    if start.year == end.year:
        return Decimal((end - start).days) / _days_in_year(start.year)
    total = Decimal(0)
    cursor = start
    for year in range(start.year, end.year + 1):
        piece_end = end if year == end.year else date(year, 12, 31)
        total += Decimal((piece_end - cursor).days) / _days_in_year(year)
        cursor = piece_end
    return total


def is_months_apart(first: date, second: date, months: int) -> bool:
    """Whether ``second`` is exactly ``months`` calendar months after ``first``.

    Month ends are matched as Fineract's month-end rule matches them: from a
    month's last day, any later-or-equal day is a whole month on (29 February
    to 30 March, for a loan seeded on the 30th); and a shorter month's last day
    stands for a later day (30 January to 29 February).
    """
    if (second.year - first.year) * 12 + second.month - first.month != months:
        return False
    return (
        second.day == first.day
        or (is_month_end(first) and second.day >= first.day)
        or (is_month_end(second) and second.day < first.day)
    )


def _whole_months(start: date, end: date) -> tuple[int, date]:
    """Whole months from ``start`` to ``end`` (month-end aware), and where they end."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and is_months_apart(start, end, months):
        return months, end
    while months > 0 and add_months(start, months) > end:
        months -= 1
    return max(months, 0), add_months(start, max(months, 0))


def _thirty_360(start: date, end: date) -> Decimal:
    # Whole months count 30 days whatever their length (so 31 Jan -> 29 Feb is
    # one month, as Fineract's period ratio has it); a remainder shorter than a
    # month counts its actual days.
    months, anchor = _whole_months(start, end)
    return Decimal(30 * months + (end - anchor).days) / 360


def year_fraction(start: date, end: date, convention: DayCount) -> Decimal:
    """Years of interest from ``start`` to ``end`` under ``convention`` (exact Decimal).

    - ``actual/365``, ``actual/360``: actual days over 365 or 360.
    - ``actual/actual``: actual days over the length of the year they fall in,
      split at year ends as Fineract does (see :func:`_actual_actual`).
    - ``30/360``: 30 days per whole month plus the actual days of the remainder, over 360.
    """
    if end < start:
        raise ValueError("end date is before start date")
    convention = DayCount.parse(convention)
    days = (end - start).days
    if convention is DayCount.ACTUAL_365:
        return Decimal(days) / 365
    if convention is DayCount.ACTUAL_360:
        return Decimal(days) / 360
    if convention is DayCount.ACTUAL_ACTUAL:
        return _actual_actual(start, end)
    return _thirty_360(start, end)


def period_fraction(start: date, end: date, convention: DayCount, unit: Unit) -> Decimal:
    """Fraction of a year that one repayment period is worth.

    As :func:`year_fraction`, except that under 30/360 a period measured in days
    or weeks counts its actual days over 360 (Fineract's rate factor for daily
    and weekly frequencies), even if it happens to span a whole calendar month.
    """
    convention = DayCount.parse(convention)
    if convention is DayCount.THIRTY_360 and unit is not Unit.MONTHS:
        return Decimal((end - start).days) / 360
    return year_fraction(start, end, convention)
