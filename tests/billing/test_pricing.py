"""Pure pricing, to the minor unit. Expected values are worked by hand in each test's comment from the
platform plan (ARCHITECTURE.md "Prices"), not taken from the code under test."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caas.billing.pricing import Price, Usage, adjustment, charge, tax, unit_price_text

APPLICATION = Price("application_processed", Decimal("100.00"))
API = Price("api_call", Decimal("0.10"), per_units=1000, included_units=100_000)
PAYMENT = Price("payment_transaction", Decimal("0.50"), percent=Decimal("1.5"))


def test_per_unit_price_in_minor_units():
    # 37 applications x NGN 100.00 = NGN 3,700.00 = 370,000 kobo
    result = charge(APPLICATION, Usage(37), "NGN")
    assert (result.billable_units, result.amount_minor) == (37, 370_000)


def test_included_units_are_free():
    professional = Price("application_processed", Decimal("100.00"), included_units=200)
    assert charge(professional, Usage(150), "NGN").amount_minor == 0
    result = charge(professional, Usage(260), "NGN")  # 60 billable x 10,000 kobo
    assert (result.included_units, result.billable_units, result.amount_minor) == (200, 60, 600_000)


@pytest.mark.parametrize("calls, expected", [
    (100_000, 0),        # all included
    (123_456, 235),      # 23,456 billable x 10 kobo / 1,000 = 234.56 -> 235
    (101_250, 12),       # 1,250 x 10 / 1,000 = 12.5 -> 12 (half-even)
    (101_350, 14),       # 13.5 -> 14 (half-even)
    (1_100_000, 10_000), # 1,000,000 billable = NGN 100.00
])
def test_per_thousand_pricing_rounds_once_half_even(calls, expected):
    assert charge(API, Usage(calls), "NGN").amount_minor == expected


def test_percentage_fee_on_the_summed_amount_plus_fixed_fee_each():
    # 3 payments summing NGN 1,000,000.00: 1.5% = 1,500,000 kobo, plus 3 x 50 kobo
    assert charge(PAYMENT, Usage(3, base_minor=100_000_000), "NGN").amount_minor == 1_500_150
    # one payment of 3.33: 1.5% = 4.995 kobo -> 5, plus 50
    assert charge(PAYMENT, Usage(1, base_minor=333), "NGN").amount_minor == 55
    # 1.5% of 4.50 = 6.75 -> 7, + 50
    assert charge(PAYMENT, Usage(1, base_minor=450), "NGN").amount_minor == 57


def test_currency_exponent_is_respected():
    # JPY has no minor unit: 100.00 JPY per application is 100; KWD has 3: 0.10 per 1,000 calls = 100 fils
    assert charge(APPLICATION, Usage(2), "JPY").amount_minor == 200
    assert charge(API, Usage(101_000), "KWD").amount_minor == 100


def test_adjustment_charges_only_what_the_late_units_add():
    professional = Price("application_processed", Decimal("100.00"), included_units=200)
    # billed 150 (free); now 260 are known: 60 billable -> 600,000 kobo, 110 late units
    late = adjustment(professional, Usage(150), Usage(260), "NGN")
    assert (late.quantity, late.billable_units, late.amount_minor) == (110, 60, 600_000)
    # nothing new: nothing to charge
    assert adjustment(professional, Usage(260), Usage(260), "NGN").amount_minor == 0
    with pytest.raises(ValueError):
        adjustment(professional, Usage(260), Usage(250), "NGN")


@pytest.mark.parametrize("amount, rate, expected", [
    (370_000, "0.075", 27_750),  # 7.5% VAT on NGN 3,700.00
    (10, "0.075", 1),            # 0.75 -> 1
    (6, "0.075", 0),             # 0.45 -> 0
    (20, "0.075", 2),            # 1.5 -> 2 (half-even)
    (100, "0.025", 2),           # 2.5 -> 2 (half-even)
    (5_000, "0", 0),
])
def test_tax_per_line_half_even(amount, rate, expected):
    assert tax(amount, Decimal(rate)) == expected


def test_price_reads_like_the_plan():
    assert unit_price_text(APPLICATION, "NGN") == "100.00"
    assert unit_price_text(API, "NGN") == "0.10 per 1,000"
    assert unit_price_text(PAYMENT, "NGN") == "1.5% + 0.50"


def test_prices_refuse_bad_values():
    with pytest.raises(ValueError):
        Price("application_processed", Decimal("-1"))
    with pytest.raises(ValueError):
        Price("unknown", Decimal("1"))
    with pytest.raises(ValueError):
        Price("api_call", Decimal("0.10"), per_units=0)
    with pytest.raises(ValueError):
        charge(APPLICATION, Usage(-1), "NGN")


prices = st.builds(Price, metric=st.sampled_from(["api_call", "payment_transaction"]),
                   unit_price=st.decimals(min_value=0, max_value=1000, places=4),
                   per_units=st.sampled_from([1, 100, 1000]),
                   percent=st.decimals(min_value=0, max_value=10, places=3),
                   included_units=st.integers(0, 5_000))
usages = st.tuples(st.integers(0, 100_000), st.integers(0, 10**9))


@given(prices, usages, usages)
def test_adjustments_add_up_to_pricing_everything_at_once(price, first, second):
    # billing a period in two parts (invoice, then a late adjustment) charges exactly what one
    # invoice for all of it would: included units are never granted twice, nothing is lost to rounding
    billed = Usage(first[0], first[1] if first[0] else 0)
    total = Usage(first[0] + second[0], billed.base_minor + (second[1] if second[0] else 0))
    once = charge(price, total, "NGN").amount_minor
    assert charge(price, billed, "NGN").amount_minor + adjustment(price, billed, total, "NGN").amount_minor == once
    assert once >= charge(price, billed, "NGN").amount_minor >= 0


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "0000-01", "1999-12", "3000-01", "", "October"])
def test_a_billing_month_is_yyyy_mm_between_2000_and_2999(text):
    from caas.billing.periods import Period
    from caas.core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        Period.parse(text)
    assert refused.value.field == "period"
    assert str(Period.parse("2999-12").next()) == "3000-01"


def test_periods_step_back_across_years_and_refuse_unfinished_months():
    from datetime import datetime, timezone

    from caas.billing.periods import Period
    from caas.core.errors import DomainError

    assert [str(Period(2026, 11).back(n)) for n in (0, 1, 10, 11, 23)] == [
        "2026-11", "2026-10", "2026-01", "2025-12", "2024-12"]
    Period(2026, 10).require_over(datetime(2026, 11, 1, tzinfo=timezone.utc))  # over at midnight UTC
    with pytest.raises(DomainError) as refused:
        Period(2026, 11).require_over(datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc))
    assert (refused.value.code, refused.value.field) == ("period_not_over", "period")
