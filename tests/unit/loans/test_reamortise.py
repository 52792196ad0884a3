"""Hardship re-amortisation: holiday, term extension, rate change (hand-worked, 30/360)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from caas.loans.maths import HardshipPlan, LoanTerms, reamortise

PRODUCT = LoanTerms(principal_minor=120_000, annual_rate=Decimal("0.12"), installments=12, start=date(2024, 1, 1),
                    day_count="30/360", currency="USD")
FROM = date(2024, 5, 1)


def rows(schedule) -> list[tuple[int, int, int]]:
    return [(r.principal_minor, r.interest_minor, r.balance_minor) for r in schedule.installments]


def test_term_extension() -> None:
    # 100.00 left, 2 instalments extended by 1: 34.00 a month (1.030301 / 0.030301 = 34.0022).
    schedule = reamortise(PRODUCT, 10_000, 2, FROM, HardshipPlan(extra_periods=1))
    assert [r.due_date for r in schedule.installments] == [date(2024, 6, 1), date(2024, 7, 1), date(2024, 8, 1)]
    assert rows(schedule) == [(3_300, 100, 6_700), (3_333, 67, 3_367), (3_367, 34, 0)]


def test_payment_holiday_capitalises_its_interest() -> None:
    schedule = reamortise(PRODUCT, 10_000, 3, FROM, HardshipPlan(holiday_periods=1))
    first = schedule.installments[0]
    assert (first.due_date, first.total_minor, first.capitalised_minor) == (date(2024, 6, 1), 0, 100)
    assert rows(schedule) == [(0, 0, 10_100), (3_333, 101, 6_767), (3_366, 68, 3_401), (3_401, 34, 0)]


def test_payment_holiday_with_deferred_interest() -> None:
    plan = HardshipPlan(holiday_periods=1, capitalise_holiday_interest=False)
    schedule = reamortise(PRODUCT, 10_000, 3, FROM, plan)
    assert rows(schedule) == [(0, 0, 10_000), (3_300, 200, 6_700), (3_333, 67, 3_367), (3_367, 34, 0)]


def test_rate_change() -> None:
    # 24 % is 2 % a month: 100 * 1.0404 * 0.02 / 0.0404 = 51.505 -> 51.50.
    schedule = reamortise(PRODUCT, 10_000, 2, FROM, HardshipPlan(new_annual_rate=Decimal("0.24")))
    assert rows(schedule) == [(4_950, 200, 5_050), (5_050, 101, 0)]
    assert schedule.terms.annual_rate == Decimal("0.24")


def test_arrears_folded_into_the_balance() -> None:
    schedule = reamortise(PRODUCT, 9_000, 2, FROM, HardshipPlan(extra_periods=1), capitalised_arrears_minor=1_000)
    assert rows(schedule) == [(3_300, 100, 6_700), (3_333, 67, 3_367), (3_367, 34, 0)]


@pytest.mark.parametrize(
    "make",
    [lambda: reamortise(PRODUCT, 10_000, 0, FROM), lambda: HardshipPlan(holiday_periods=-1),
     lambda: HardshipPlan(new_annual_rate=Decimal("-0.01")), lambda: HardshipPlan(new_annual_rate=0.1),
     lambda: reamortise(PRODUCT, 10_000, 2, FROM, capitalised_arrears_minor=-1)],
)
def test_invalid_plans_are_refused(make) -> None:
    with pytest.raises((ValueError, TypeError)):
        make()
