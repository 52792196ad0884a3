"""APR against the worked examples of Regulation Z, Appendix J (reference/apr_cases.csv)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from fractions import Fraction

from caas.loans.maths import UnitPeriod, apr


def _result(case: dict[str, str], payment_stream):
    advance = (date.fromisoformat(case["advance_date"]), Decimal(case["amount_advanced"]))
    return apr([advance], payment_stream(case["payment_streams"]))


def test_apr_matches_appendix_j(apr_case: dict[str, str], payment_stream) -> None:
    assert _result(apr_case, payment_stream).apr == Decimal(apr_case["expected_apr_pct"])


def test_unit_period_and_periods_per_year(apr_case: dict[str, str], payment_stream) -> None:
    result = _result(apr_case, payment_stream)
    expected_unit = UnitPeriod.parse(apr_case["unit_period"])  # "1 month", "3 months", "255 days"...
    assert result.unit_period == expected_unit
    assert Fraction(result.periods_per_year).limit_denominator(1000) == Fraction(apr_case["unit_periods_per_year_w"])


def test_first_payment_counting(apr_case: dict[str, str], payment_stream) -> None:
    # The t and f Appendix J gives for the first payment of the stream.
    first = re.search(r"t=(\d+),f=([\d/]+)", apr_case["t_f_encoding"])
    advance_on = date.fromisoformat(apr_case["advance_date"])
    first_payment_on = min(on for on, _ in payment_stream(apr_case["payment_streams"]))
    t, f = _result(apr_case, payment_stream).unit_period.count_between(advance_on, first_payment_on)
    numerator, _, denominator = first[2].partition("/")
    assert t == int(first[1])
    assert abs(f - Decimal(numerator) / Decimal(denominator or 1)) < Decimal("1e-25")
