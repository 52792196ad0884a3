"""caas.money: minor units, ISO 4217 exponents, explicit rounding, currency-safe arithmetic."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest

from caas.money import (
    CurrencyMismatchError,
    Money,
    UnknownCurrencyError,
    exponent,
    format_minor,
    from_minor,
    round_minor,
    to_minor,
)


@pytest.mark.parametrize(
    ("currency", "places"),
    [("NGN", 2), ("GHS", 2), ("KES", 2), ("ZAR", 2), ("USD", 2), ("EUR", 2), ("GBP", 2),
     ("JPY", 0), ("KRW", 0), ("XOF", 0), ("UGX", 0), ("KWD", 3), ("BHD", 3), ("OMR", 3), ("CLF", 4)],
)
def test_iso_4217_exponents(currency: str, places: int) -> None:
    assert exponent(currency) == places
    assert exponent(currency.lower()) == places


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrencyError):
        exponent("XXX")
    with pytest.raises(UnknownCurrencyError):
        Money(1, "NAIRA")


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("1623.75", "NGN", 162375), ("1500", "JPY", 1500), ("1.234", "KWD", 1234), ("0.005", "USD", 0),
     ("0.015", "USD", 2), ("0.025", "USD", 2), ("-0.015", "USD", -2), ("10.5", "JPY", 10)],
)
def test_to_minor_rounds_half_even_by_default(amount: str, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor


def test_to_minor_takes_an_explicit_rounding_mode() -> None:
    assert to_minor("0.025", "USD", ROUND_HALF_UP) == 3
    assert to_minor("0.029", "USD", ROUND_DOWN) == 2
    assert round_minor(Decimal("101.5")) == 102
    assert round_minor(Decimal("102.5")) == 102
    assert round_minor(Decimal("102.5"), ROUND_HALF_UP) == 103


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        to_minor(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(1.0, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(162375, "NGN", "1623.75"), (0, "NGN", "0.00"), (-5, "USD", "-0.05"), (1500, "JPY", "1500"),
     (1234, "KWD", "1.234"), (7, "BHD", "0.007")],
)
def test_from_minor_and_format(minor: int, currency: str, text: str) -> None:
    assert from_minor(minor, currency) == Decimal(text)
    assert format_minor(minor, currency) == text
    assert format_minor(minor, currency, with_code=True) == f"{text} {currency}"


def test_money_adds_and_subtracts_in_one_currency() -> None:
    total = Money(1050, "usd") + Money.of("0.25", "USD") - Money(75, "USD")
    assert total == Money(1000, "USD")
    assert total.to_decimal() == Decimal("10.00")
    assert str(total) == "10.00 USD"
    assert (-total).amount_minor == -1000
    assert Money.zero("JPY").is_zero()


def test_money_refuses_mixed_currencies() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money(100, "NGN").add(Money(100, "GHS"))
    with pytest.raises(CurrencyMismatchError):
        Money(100, "NGN") - Money(100, "KES")


def test_money_is_immutable() -> None:
    money = Money(1, "NGN")
    with pytest.raises(AttributeError):
        money.amount_minor = 2  # type: ignore[misc]
