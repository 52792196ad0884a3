"""Hypothesis properties of schedules, APR and allocation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from caas.loans.maths import (
    Component,
    Due,
    LoanTerms,
    Overpayment,
    allocate,
    apr,
    build_schedule,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

rates = st.integers(min_value=0, max_value=6000).map(lambda bp: Decimal(bp) / 10_000)  # 0 % .. 60 %
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


@st.composite
def loan_terms(draw, **fixed) -> LoanTerms:
    installments = draw(st.integers(min_value=1, max_value=72))
    grace_p = draw(st.integers(min_value=0, max_value=installments - 1))
    values = dict(
        principal_minor=draw(st.integers(min_value=1, max_value=10**11)),
        annual_rate=draw(rates),
        installments=installments,
        start=draw(starts),
        every=draw(st.integers(min_value=1, max_value=3)),
        unit=draw(st.sampled_from(["days", "weeks", "months"])),
        day_count=draw(st.sampled_from(["30/360", "actual/actual", "actual/365", "actual/360"])),
        amortization=draw(st.sampled_from(["equal-installments", "equal-principal"])),
        interest_method=draw(st.sampled_from(["declining-balance", "flat"])),
        currency=draw(st.sampled_from(["NGN", "JPY", "KWD", "USD"])),
        grace_on_principal=grace_p,
        grace_on_interest=draw(st.integers(min_value=0, max_value=installments - 1)),
        capitalise_grace_interest=draw(st.booleans()),
    )
    values.update(fixed)
    return LoanTerms(**values)


@SETTINGS
@given(loan_terms())
def test_principal_parts_sum_to_the_principal_and_balances_end_at_zero(terms: LoanTerms) -> None:
    schedule = build_schedule(terms)
    rows = schedule.installments
    assert len(rows) == terms.installments
    assert schedule.total_principal_minor == terms.principal_minor + schedule.capitalised_minor
    if not terms.capitalise_grace_interest:
        assert schedule.total_principal_minor == terms.principal_minor
    balance = terms.principal_minor
    for row in rows:
        assert row.principal_minor >= 0 and row.interest_minor >= 0
        balance = balance + row.capitalised_minor - row.principal_minor
        assert row.balance_minor == balance >= 0
        assert row.due_date > row.from_date
    assert rows[-1].balance_minor == 0


@SETTINGS
@given(
    principal=st.integers(min_value=100_000, max_value=10**10),
    rate=st.integers(min_value=100, max_value=6000).map(lambda bp: Decimal(bp) / 10_000),
    installments=st.integers(min_value=1, max_value=120),
    start=starts,
    day_count=st.sampled_from(["30/360", "actual/actual", "actual/365", "actual/360"]),
    unit=st.sampled_from(["weeks", "months"]),
)
def test_equal_principal_costs_no_more_interest_than_equal_installments(
    principal: int, rate: Decimal, installments: int, start: date, day_count: str, unit: str
) -> None:
    common = dict(principal_minor=principal, annual_rate=rate, installments=installments, start=start,
                  day_count=day_count, unit=unit, currency="NGN")
    level_principal = build_schedule(LoanTerms(amortization="equal-principal", **common))
    level_instalment = build_schedule(LoanTerms(amortization="equal-installments", **common))
    assert level_principal.total_interest_minor <= level_instalment.total_interest_minor


def _cash_flows(schedule):
    return [(row.due_date, Decimal(row.total_minor)) for row in schedule.installments]


@SETTINGS
@given(
    principal=st.integers(min_value=10**7, max_value=10**11),
    rate_bp=st.integers(min_value=100, max_value=3600),
    installments=st.integers(min_value=1, max_value=120),
    start=starts,
)
def test_apr_equals_the_nominal_rate_without_fees_on_regular_periods(
    principal: int, rate_bp: int, installments: int, start: date
) -> None:
    # Monthly 30/360 periods are regular: every period is one Appendix J month.
    # Payments are whole minor units, and on a small loan that rounding alone
    # moves the true APR: 1,000.00 for one month at 1.89 % accrues 1.575 of
    # interest, charged as 1.58, which is an APR of 1.896 %. The loans here are
    # large enough (100,000.00 and up) for rounding to stay below 0.005 points.
    nominal = Decimal(rate_bp) / 100  # percent with two decimals
    schedule = build_schedule(LoanTerms(principal_minor=principal, annual_rate=nominal / 100,
                                        installments=installments, start=start, day_count="30/360"))
    result = apr([(start, Decimal(principal))], _cash_flows(schedule))
    assert result.unit_period.label == "month"
    assert result.apr == nominal


@SETTINGS
@given(
    principal=st.integers(min_value=100_000, max_value=10**10),
    rate_bp=st.integers(min_value=0, max_value=3600),
    installments=st.integers(min_value=1, max_value=120),
    start=starts,
    fee_share=st.integers(min_value=50, max_value=1000),  # 0.5 % .. 10 % of the principal
)
def test_apr_exceeds_the_nominal_rate_with_a_fee(
    principal: int, rate_bp: int, installments: int, start: date, fee_share: int
) -> None:
    nominal = Decimal(rate_bp) / 100
    schedule = build_schedule(LoanTerms(principal_minor=principal, annual_rate=nominal / 100,
                                        installments=installments, start=start, day_count="30/360"))
    flows = _cash_flows(schedule)
    fee = Decimal(principal * fee_share // 10_000)
    without = apr([(start, Decimal(principal))], flows)
    with_fee = apr([(start, Decimal(principal))], flows, prepaid_finance_charge=fee)
    assert with_fee.apr_exact > without.apr_exact
    assert with_fee.apr > nominal


@SETTINGS
@given(
    advance=st.integers(min_value=1, max_value=10**9),
    gaps=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=40),
    amounts=st.lists(st.integers(min_value=0, max_value=10**9), min_size=40, max_size=40),
    start=starts,
)
def test_apr_solver_satisfies_the_appendix_j_equation(advance, gaps, amounts, start) -> None:
    # Irregular dates and amounts: whatever the unit period, the rate found
    # must balance advances and payments.
    # The first payment comes at least a day after the advance: payments on the
    # advance date are not discounted, so a large one leaves nothing to solve.
    dates, on = [], start
    for k, gap in enumerate(gaps):
        on += timedelta(days=max(gap, 1) if k == 0 else gap)
        dates.append(on)
    payments = list(zip(dates, (Decimal(a) for a in amounts)))
    assume(sum(a for _, a in payments) >= advance)
    result = apr([(start, Decimal(advance))], payments)
    i = result.rate_per_period
    assert i >= 0
    value = Decimal(0)
    for on, amount in payments:
        t, f = result.unit_period.count_between(start, on)
        value += amount / ((1 + f * i) * (1 + i) ** t)
    assert abs(value - advance) <= Decimal("1e-12") * advance


@st.composite
def dues_and_payment(draw):
    count = draw(st.integers(min_value=1, max_value=8))
    start = draw(starts)
    dues = []
    for number in range(1, count + 1):
        amounts = [draw(st.integers(min_value=0, max_value=10**7)) for _ in range(4)]
        dues.append(Due(number, start + timedelta(days=30 * (number - 1)), start + timedelta(days=30 * number),
                        *amounts))
    on = start + timedelta(days=draw(st.integers(min_value=0, max_value=30 * count + 10)))
    payment = draw(st.integers(min_value=0, max_value=sum(d.total_minor for d in dues) + 10**6))
    order = draw(st.permutations(list(Component)))
    overpayment = draw(st.sampled_from(list(Overpayment)))
    return dues, payment, on, order, overpayment


@SETTINGS
@given(dues_and_payment())
def test_allocation_never_creates_or_loses_a_minor_unit(case) -> None:
    dues, payment, on, order, overpayment = case
    result = allocate(payment, dues, on=on, order=order, overpayment=overpayment)
    assert result.allocated_minor + result.credit_minor == payment
    assert result.credit_minor >= 0
    before = {d.number: d for d in dues}
    after = {d.number: d for d in result.remaining}
    for component in Component:
        for number, due in before.items():
            paid = sum(l.amount_minor for l in result.lines if l.number == number and l.component is component)
            assert paid >= 0
            assert after[number].amount(component) == due.amount(component) - paid >= 0
