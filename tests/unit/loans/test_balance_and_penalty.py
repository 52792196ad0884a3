"""The balance-over-time points and the chart geometry (pure), and the penalty interest of one
period, with hand-worked amounts and properties."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caas.loans.balance import Chart, Point, balance_points
from caas.loans.maths import penalty_interest

START = date(2026, 11, 22)
# Fineract C3154 (100.00 at 12%, 6 months, 30/360): balance after each instalment
C3154 = [(date(2026, 12, 22), 83_75), (date(2027, 1, 22), 67_34), (date(2027, 2, 22), 50_76),
         (date(2027, 3, 22), 34_02), (date(2027, 4, 22), 17_11), (date(2027, 5, 22), 0)]


def test_on_time_then_one_missed_payment():
    # instalment 1 paid on its due date (principal 16.25); instalment 2 not paid; today 2027-02-01
    points = balance_points(100_00, START, C3154, [(date(2026, 12, 22), 16_25)], as_of=date(2027, 2, 1))
    assert points == [
        Point(START, 100_00, 100_00),
        Point(date(2026, 12, 22), 83_75, 83_75),
        Point(date(2027, 1, 22), 67_34, 83_75),  # planned to fall, did not: instalment 2 is unpaid
        Point(date(2027, 2, 1), 67_34, 83_75),  # today
        Point(date(2027, 2, 22), 50_76, None),  # the future is planned only
        Point(date(2027, 3, 22), 34_02, None),
        Point(date(2027, 4, 22), 17_11, None),
        Point(date(2027, 5, 22), 0, None),
    ]


def test_an_early_payment_and_capitalised_arrears_move_the_actual_balance_on_their_days():
    points = balance_points(100_00, START, C3154[:2], [(date(2026, 12, 10), 20_00), (date(2026, 12, 11), 0)],
                            as_of=date(2027, 1, 30), added=[(date(2027, 1, 25), 1_50)])
    assert [(p.on, p.actual_minor) for p in points] == [
        (START, 100_00), (date(2026, 12, 10), 80_00), (date(2026, 12, 22), 80_00), (date(2027, 1, 22), 80_00),
        (date(2027, 1, 25), 81_50), (date(2027, 1, 30), 81_50)]


def test_chart_geometry_in_whole_units():
    points = [Point(START, 100_00, 100_00), Point(START + timedelta(days=10), 50_00, 80_00),
              Point(START + timedelta(days=20), 0, None)]
    chart = Chart(points, width=220, height=130, left=10, right=10, top=10, bottom=20)
    # x: 10 + days × 200 // 20; y: 110 − amount × 100 // 10000
    assert (chart.x(START), chart.x(START + timedelta(days=10)), chart.x(START + timedelta(days=20))) == (10, 110, 210)
    assert (chart.y(0), chart.y(50_00), chart.y(100_00)) == (110, 60, 10)
    assert chart.scheduled_path == "10,10 110,10 110,60 210,60 210,110"  # steps down on the due dates
    assert chart.actual_path == "10,10 110,10 110,30"  # stops at today
    assert chart.y_ticks == [(0, 110), (50_00, 60), (100_00, 10)]
    assert chart.last_actual == (110, 30)  # today's dot
    assert Chart([Point(START, 100_00, None)]).last_actual is None


payments = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 5_000_00)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(principal=st.integers(1, 10_000_000_00), paid=payments, as_of_days=st.integers(0, 400))
def test_actual_balance_is_principal_less_what_was_paid_by_each_day(principal, paid, as_of_days):
    as_of = START + timedelta(days=as_of_days)
    paid = [(START + timedelta(days=d), a) for d, a in paid]
    schedule = [(START + timedelta(days=30 * k), principal * (6 - k) // 6) for k in range(1, 7)]
    points = balance_points(principal, START, schedule, paid, as_of)
    assert [p.on for p in points] == sorted({p.on for p in points})
    for p in points:
        if p.on <= as_of:
            assert p.actual_minor == principal - sum(a for d, a in paid if d <= p.on)
        else:
            assert p.actual_minor is None
        planned = [b for d, b in schedule if d <= p.on]
        assert p.scheduled_minor == (planned[-1] if planned else principal)
    assert as_of in {p.on for p in points}
    scheduled = [p.scheduled_minor for p in points]
    assert scheduled == sorted(scheduled, reverse=True)  # the plan never goes up


def test_penalty_interest_by_hand():
    # 16.41 overdue at 36% a year: 1641 × 0.36 / 12 = 49.23 → 49
    assert penalty_interest(16_41, Decimal("0.36")) == 49
    # 16.58: 1658 × 0.03 = 49.74 → 50
    assert penalty_interest(16_58, Decimal("0.36")) == 50
    # exact halves go to the even neighbour: 2500 × 0.06 / 12 = 12.5 → 12; 2700 × 0.06 / 12 = 13.5 → 14
    assert penalty_interest(25_00, Decimal("0.06")) == 12
    assert penalty_interest(27_00, Decimal("0.06")) == 14
    assert penalty_interest(0, Decimal("0.36")) == 0 and penalty_interest(100_00, Decimal("0")) == 0
    with pytest.raises(TypeError):
        penalty_interest(100, 0.36)  # type: ignore[arg-type]


@given(st.integers(0, 10**15), st.decimals(min_value=0, max_value=5, places=6))
def test_penalty_interest_is_the_half_even_rounding_of_the_exact_value(principal, rate):
    exact = Decimal(principal) * rate / 12  # exact in 34 digits for these sizes
    assert penalty_interest(principal, rate) == int(exact.quantize(Decimal(1), ROUND_HALF_EVEN))
    assert abs(penalty_interest(principal, rate) - exact) <= Decimal("0.5")
