"""Due dates (Fineract's month-end rule) and day-count conventions, with hand-computed values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from caas.loans.maths import DayCount, Unit, add_months, due_dates, year_fraction
from caas.loans.maths.daycount import period_fraction


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert add_months(date(2023, 11, 15), 3) == date(2024, 2, 15)


def test_month_end_seed_returns_to_the_31st() -> None:
    # Disbursed 31 January: due on each month's last day, never drifting to the 29th.
    assert due_dates(date(2024, 1, 31), 5, 1, Unit.MONTHS) == [
        date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31), date(2024, 6, 30)]


def test_seed_on_the_30th_stays_on_the_30th() -> None:
    assert due_dates(date(2023, 12, 30), 3, 1, Unit.MONTHS) == [
        date(2024, 1, 30), date(2024, 2, 29), date(2024, 3, 30)]


def test_seed_on_the_29th_in_a_common_year() -> None:
    assert due_dates(date(2023, 1, 29), 3, 1, Unit.MONTHS) == [
        date(2023, 2, 28), date(2023, 3, 29), date(2023, 4, 29)]


def test_every_two_months_and_weekly_and_daily() -> None:
    assert due_dates(date(2024, 1, 1), 3, 2, Unit.MONTHS) == [date(2024, 3, 1), date(2024, 5, 1), date(2024, 7, 1)]
    assert due_dates(date(2024, 2, 26), 2, 1, Unit.WEEKS) == [date(2024, 3, 4), date(2024, 3, 11)]
    assert due_dates(date(2024, 2, 27), 2, 3, Unit.DAYS) == [date(2024, 3, 1), date(2024, 3, 4)]


@pytest.mark.parametrize(
    ("text", "convention"),
    [("30/360", DayCount.THIRTY_360), ("360/30", DayCount.THIRTY_360), ("actual/actual", DayCount.ACTUAL_ACTUAL),
     ("act/act", DayCount.ACTUAL_ACTUAL), ("Actual/365", DayCount.ACTUAL_365), ("365/actual", DayCount.ACTUAL_365),
     ("actual/360", DayCount.ACTUAL_360)],
)
def test_day_count_names(text: str, convention: DayCount) -> None:
    assert DayCount.parse(text) is convention


def test_unknown_day_count_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown day count"):
        DayCount.parse("30/365")


def test_actual_conventions() -> None:
    start, end = date(2024, 1, 1), date(2024, 2, 1)  # 31 days
    assert year_fraction(start, end, DayCount.ACTUAL_365) == Decimal(31) / 365
    assert year_fraction(start, end, DayCount.ACTUAL_360) == Decimal(31) / 360
    assert year_fraction(start, end, DayCount.ACTUAL_ACTUAL) == Decimal(31) / 366


def test_actual_actual_across_a_year_end_counts_31_december_in_the_new_year() -> None:
    # Fineract: 12 Dec 2023 -> 31 Dec is 19 days of 365, 31 Dec -> 12 Jan 2024 is 12 of 366.
    fraction = year_fraction(date(2023, 12, 12), date(2024, 1, 12), DayCount.ACTUAL_ACTUAL)
    assert fraction == Decimal(19) / 365 + Decimal(12) / 366


def test_thirty_360_counts_whole_months_as_30_days() -> None:
    assert year_fraction(date(2024, 1, 1), date(2024, 2, 1), DayCount.THIRTY_360) == Decimal(30) / 360
    assert year_fraction(date(2024, 1, 31), date(2024, 2, 29), DayCount.THIRTY_360) == Decimal(30) / 360
    assert year_fraction(date(2024, 2, 1), date(2024, 3, 11), DayCount.THIRTY_360) == Decimal(40) / 360
    # A loan seeded on the 30th runs 29 Feb -> 30 Mar: one whole month, not a month and a day.
    assert year_fraction(date(2000, 2, 29), date(2000, 3, 30), DayCount.THIRTY_360) == Decimal(30) / 360
    # Weekly periods under 30/360 are their actual days over 360.
    assert period_fraction(date(2024, 1, 29), date(2024, 3, 4), DayCount.THIRTY_360, Unit.WEEKS) == Decimal(35) / 360


def test_end_before_start_is_refused() -> None:
    with pytest.raises(ValueError):
        year_fraction(date(2024, 2, 1), date(2024, 1, 1), DayCount.ACTUAL_365)
