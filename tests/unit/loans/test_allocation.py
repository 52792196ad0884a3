"""Payment allocation waterfall and payoff quotes, with hand-worked amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from caas.loans.maths import (
    Component,
    Due,
    LoanTerms,
    Overpayment,
    allocate,
    build_schedule,
    dues_from_schedule,
    payoff_quote,
)

JAN, FEB, MAR, APR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)


def two_dues() -> list[Due]:
    return [
        Due(1, JAN, FEB, principal_minor=3_000, interest_minor=500, fees_minor=100, penalties_minor=200),
        Due(2, FEB, MAR, principal_minor=3_000, interest_minor=400, fees_minor=100, penalties_minor=0),
    ]


def lines(result) -> list[tuple[int, str, int]]:
    return [(l.number, l.component.value, l.amount_minor) for l in result.lines]


def test_default_order_fees_penalties_interest_principal_oldest_first() -> None:
    # 4,000 clears instalment 1 (3,800), then instalment 2's fee (100) and 100 of its interest.
    result = allocate(4_000, two_dues(), on=MAR)
    assert lines(result) == [(1, "fees", 100), (1, "penalties", 200), (1, "interest", 500), (1, "principal", 3_000),
                             (2, "fees", 100), (2, "interest", 100)]
    assert result.credit_minor == 0
    assert result.remaining[0].total_minor == 0
    assert result.remaining[1].interest_minor == 300


def test_partial_payment_stops_inside_the_oldest_instalment() -> None:
    result = allocate(650, two_dues(), on=MAR)
    assert lines(result) == [(1, "fees", 100), (1, "penalties", 200), (1, "interest", 350)]
    assert result.credit_minor == 0
    assert result.remaining[0].interest_minor == 150
    assert result.remaining[1] == two_dues()[1]


def test_order_is_configurable_per_product() -> None:
    result = allocate(3_200, two_dues(), on=MAR, order=["principal", "interest", "penalties", "fees"])
    assert lines(result) == [(1, "principal", 3_000), (1, "interest", 200)]


def test_instalments_not_yet_due_are_untouched_and_the_rest_is_held_as_credit() -> None:
    result = allocate(5_000, two_dues(), on=date(2024, 2, 15))
    assert lines(result) == [(1, "fees", 100), (1, "penalties", 200), (1, "interest", 500), (1, "principal", 3_000)]
    assert result.credit_minor == 1_200
    assert result.remaining[1] == two_dues()[1]


def test_overpayment_reducing_the_term_prepays_principal_from_the_last_instalment() -> None:
    dues = two_dues() + [Due(3, MAR, APR, principal_minor=3_000, interest_minor=300)]
    result = allocate(8_000, dues, on=date(2024, 2, 15), overpayment=Overpayment.REDUCE_TERM)
    assert lines(result)[-2:] == [(3, "principal", 3_000), (2, "principal", 1_200)]
    assert [l.prepayment for l in result.lines][-2:] == [True, True]
    assert result.credit_minor == 0
    assert result.remaining[2].principal_minor == 0 and result.remaining[2].interest_minor == 300


def test_overpayment_beyond_all_principal_is_held_as_credit() -> None:
    result = allocate(20_000, two_dues(), on=FEB, overpayment="reduce-term")
    assert result.total_for(Component.PRINCIPAL) == 6_000
    assert result.credit_minor == 20_000 - 3_800 - 3_000


@pytest.mark.parametrize("order", [["fees", "interest", "principal"], ["fees", "fees", "interest", "principal"]])
def test_order_must_name_every_component_once(order) -> None:
    with pytest.raises(ValueError, match="allocation order"):
        allocate(100, two_dues(), on=MAR, order=order)


def test_negative_payment_and_negative_dues_are_refused() -> None:
    with pytest.raises(ValueError):
        allocate(-1, two_dues(), on=MAR)
    with pytest.raises(ValueError):
        Due(1, JAN, FEB, principal_minor=-5)


def test_payoff_quote_accrues_the_current_period_pro_rata() -> None:
    # 100.00 at 12 % 30/360 over 3 months: 34.00 a month; rows (33.00 + 1.00), (33.33 + 0.67), (33.67 + 0.34).
    schedule = build_schedule(LoanTerms(principal_minor=10_000, annual_rate=Decimal("0.12"), installments=3,
                                        start=JAN, day_count="30/360", currency="USD"))
    quote = payoff_quote(dues_from_schedule(schedule), date(2024, 2, 16))
    # Instalment 1 is due in full; instalment 2 has run 15 of its 29 days: 0.67 * 15 / 29 = 0.3466 -> 0.35.
    assert quote.principal_minor == 10_000
    assert quote.interest_minor == 100 + 35
    assert quote.total_minor == 10_135


def test_payoff_quote_charges_fees_only_once_due() -> None:
    quote = payoff_quote(two_dues(), date(2024, 2, 1))
    assert (quote.principal_minor, quote.interest_minor, quote.fees_minor, quote.penalties_minor) == (6_000, 500, 100, 200)
