"""Schedule features beyond the Fineract references, with values worked by hand.

30/360 keeps the hand arithmetic exact: 12 % a year is 1 % a month.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from caas.loans.maths import LoanTerms, build_schedule, progressive_emi


def terms(**changes) -> LoanTerms:
    base = dict(principal_minor=10_000, annual_rate=Decimal("0.12"), installments=4, start=date(2024, 1, 1),
                day_count="30/360", currency="USD")
    base.update(changes)
    return LoanTerms(**base)


def rows(schedule) -> list[tuple[int, int, int]]:
    return [(r.principal_minor, r.interest_minor, r.balance_minor) for r in schedule.installments]


def test_equal_principal_declining_balance() -> None:
    schedule = build_schedule(terms(amortization="equal-principal"))
    assert rows(schedule) == [(2500, 100, 7500), (2500, 75, 5000), (2500, 50, 2500), (2500, 25, 0)]
    assert schedule.level_amount_minor == 2500


def test_flat_interest_equal_installments() -> None:
    # 1,200.00 at 12 % flat over a year: 12.00 interest a month, 112.00 a month.
    schedule = build_schedule(terms(principal_minor=120_000, installments=12, interest_method="flat"))
    assert {(r.principal_minor, r.interest_minor, r.total_minor) for r in schedule.installments} == {(10_000, 1_200, 11_200)}
    assert schedule.total_interest_minor == 14_400


def test_flat_interest_equal_principal() -> None:
    schedule = build_schedule(terms(amortization="equal-principal", interest_method="flat"))
    assert rows(schedule) == [(2500, 100, 7500), (2500, 100, 5000), (2500, 100, 2500), (2500, 100, 0)]


def test_grace_on_principal() -> None:
    # Two interest-only months, then 100.00 amortised over two: 100 * 1.01^2 * 0.01 / 0.0201 = 50.7512.
    schedule = build_schedule(terms(grace_on_principal=2))
    assert rows(schedule) == [(0, 100, 10_000), (0, 100, 10_000), (4975, 100, 5025), (5025, 50, 0)]
    assert schedule.level_amount_minor == 5075


def test_grace_on_interest_defers_it_to_the_next_instalment() -> None:
    # EMI over three months: 1.030301 / 0.030301 = 34.0022 -> 34.00; the first month's 1.00 falls due in the second.
    schedule = build_schedule(terms(grace_on_principal=1, grace_on_interest=1))
    assert rows(schedule) == [(0, 0, 10_000), (3300, 200, 6700), (3333, 67, 3367), (3367, 34, 0)]
    assert schedule.total_interest_minor == 301


def test_grace_interest_capitalised() -> None:
    schedule = build_schedule(terms(grace_on_principal=1, grace_on_interest=1, capitalise_grace_interest=True))
    assert rows(schedule) == [(0, 0, 10_100), (3333, 101, 6767), (3366, 68, 3401), (3401, 34, 0)]
    assert schedule.capitalised_minor == 100
    assert schedule.total_principal_minor == 10_100


def test_zero_decimal_currency_rounds_to_whole_yen() -> None:
    schedule = build_schedule(terms(principal_minor=100_000, installments=3, currency="JPY"))
    assert rows(schedule) == [(33_002, 1_000, 66_998), (33_332, 670, 33_666), (33_666, 337, 0)]
    assert schedule.to_rows()[0]["total"] == "34002"


def test_weekly_actual_365() -> None:
    # r = 0.10 * 7 / 365; EMI = 1000 * (1 + r)^2 / (2 + r) = 501.4388.
    schedule = build_schedule(terms(principal_minor=100_000, annual_rate=Decimal("0.10"), installments=2,
                                    unit="weeks", day_count="actual/365"))
    assert [r.due_date for r in schedule.installments] == [date(2024, 1, 8), date(2024, 1, 15)]
    assert rows(schedule) == [(49_952, 192, 50_048), (50_048, 96, 0)]


def test_every_three_days_actual_360() -> None:
    schedule = build_schedule(terms(principal_minor=36_000, annual_rate=Decimal("0.36"), installments=2,
                                    every=3, unit="days", day_count="actual/360", amortization="equal-principal"))
    # 360.00 at 36 % over 3 days of 360: 1.08 then 0.54.
    assert rows(schedule) == [(18_000, 108, 18_000), (18_000, 54, 0)]
    assert [r.days for r in schedule.installments] == [3, 3]


def test_rounding_mode_is_the_products_choice() -> None:
    # 100.50 at 1 % for a month is 1.005 of interest: half-even keeps 1.00, half-up makes 1.01.
    even = build_schedule(terms(principal_minor=10_050, installments=1))
    up = build_schedule(terms(principal_minor=10_050, installments=1, rounding=ROUND_HALF_UP))
    assert even.installments[0].interest_minor == 100
    assert up.installments[0].interest_minor == 101


def test_zero_rate_spreads_principal_and_last_absorbs_the_remainder() -> None:
    schedule = build_schedule(terms(principal_minor=10_000, annual_rate=Decimal(0), installments=3))
    assert rows(schedule) == [(3333, 0, 6667), (3333, 0, 3334), (3334, 0, 0)]


def test_progressive_emi_equals_the_annuity_formula_for_equal_rates() -> None:
    rate = Decimal("0.01")
    annuity = 10_000 * rate * (1 + rate) ** 6 / ((1 + rate) ** 6 - 1)
    assert abs(progressive_emi(10_000, [rate] * 6) - annuity) < Decimal("1e-20")


def test_json_rows() -> None:
    first = build_schedule(terms()).to_rows()[0]
    assert first == {"number": 1, "due_date": "2024-02-01", "days": 31, "principal": "24.63",
                     "interest": "1.00", "total": "25.63", "balance": "75.37"}


@pytest.mark.parametrize(
    "changes",
    [dict(principal_minor=0), dict(annual_rate=Decimal("-0.01")), dict(installments=0), dict(every=0),
     dict(grace_on_principal=4), dict(grace_on_interest=-1), dict(unit="fortnights"), dict(day_count="30/365"),
     dict(amortization="balloon"), dict(interest_method="compound"), dict(currency="ABC")],
)
def test_invalid_terms_are_refused(changes) -> None:
    with pytest.raises(ValueError):
        terms(**changes)


def test_float_rate_is_refused() -> None:
    with pytest.raises(TypeError):
        terms(annual_rate=0.12)
