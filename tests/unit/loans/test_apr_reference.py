"""APR against the worked examples of Regulation Z, Appendix J (reference/apr_cases.csv)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from caas.loans.maths import UnitPeriod, add_months, apr


def payment_stream(text: str) -> list[tuple[date, Decimal]]:
    """Expand "24 x 230.00 monthly from 1978-02-10; 1 x 280.00 on 1980-01-10" into dated payments."""
    payments: list[tuple[date, Decimal]] = []
    for part in (p.strip() for p in text.split(";")):
        single = re.fullmatch(r"1 x ([\d.]+) on (\S+)", part)
        if single:
            payments.append((date.fromisoformat(single[2]), Decimal(single[1])))
            continue
        series = re.fullmatch(r"(\d+) x ([\d.]+) (monthly|quarterly|weekly|semimonthly \(1st & 16th\)) from (\S+)", part)
        assert series, f"unrecognised payment stream {part!r}"
        count, amount, frequency, first = int(series[1]), Decimal(series[2]), series[3], date.fromisoformat(series[4])
        for k in range(count):
            if frequency == "monthly":
                on = add_months(first, k)
            elif frequency == "quarterly":
                on = add_months(first, 3 * k)
            elif frequency == "weekly":
                on = first + timedelta(weeks=k)
            else:  # 1st and 16th of each month, starting on a 1st
                on = add_months(first, k // 2).replace(day=16 if k % 2 else 1)
            payments.append((on, amount))
    return payments


def _result(case: dict[str, str]):
    advance = (date.fromisoformat(case["advance_date"]), Decimal(case["amount_advanced"]))
    return apr([advance], payment_stream(case["payment_streams"]))


def test_apr_matches_appendix_j(apr_case: dict[str, str]) -> None:
    assert _result(apr_case).apr == Decimal(apr_case["expected_apr_pct"])


def test_unit_period_and_periods_per_year(apr_case: dict[str, str]) -> None:
    result = _result(apr_case)
    expected_unit = UnitPeriod.parse(apr_case["unit_period"].replace("1 ", "", 1) if apr_case["unit_period"].startswith("1 ") else apr_case["unit_period"])
    assert result.unit_period == expected_unit
    assert Fraction(result.periods_per_year).limit_denominator(1000) == Fraction(apr_case["unit_periods_per_year_w"])


def test_first_payment_counting(apr_case: dict[str, str]) -> None:
    # The t and f Appendix J gives for the first payment of the stream.
    first = re.search(r"t=(\d+),f=([\d/]+)", apr_case["t_f_encoding"])
    advance_on = date.fromisoformat(apr_case["advance_date"])
    first_payment_on = min(on for on, _ in payment_stream(apr_case["payment_streams"]))
    t, f = _result(apr_case).unit_period.count_between(advance_on, first_payment_on)
    numerator, _, denominator = first[2].partition("/")
    assert t == int(first[1])
    assert abs(f - Decimal(numerator) / Decimal(denominator or 1)) < Decimal("1e-25")
