"""Money: integer amounts in a currency's minor unit, and the rounding rules around them.

Every amount in CaaS is an ``int`` counted in the minor unit of an ISO 4217
currency (kobo for NGN, cents for USD, yen for JPY, fils for KWD). Rates and
intermediate results are :class:`decimal.Decimal`; they become amounts only
through :func:`to_minor` or :func:`round_minor`, which always name their
rounding mode (half-even unless a product says otherwise). Floats are refused.

This module is deliberately small: the ledger, billing and loan maths all
import it, so it holds only what they share.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

__all__ = [
    "DEFAULT_ROUNDING",
    "CURRENCY_EXPONENTS",
    "CurrencyMismatchError",
    "UnknownCurrencyError",
    "Money",
    "exponent",
    "normalise_currency",
    "to_minor",
    "from_minor",
    "format_minor",
    "round_minor",
]

DEFAULT_ROUNDING = ROUND_HALF_EVEN

# ISO 4217 minor-unit exponents. Currencies not listed under 0, 3 or 4 use 2.
_EXPONENT_0 = (
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
).split()
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND".split()
_EXPONENT_4 = "CLF UYW".split()
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL "
    "BSD BTN BWP BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP "
    "ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS "
    "INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD "
    "MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN "
    "PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES "
    "WST XCD YER ZAR ZMW ZWL"
).split()

CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 2 for code in _EXPONENT_2},
    **{code: 0 for code in _EXPONENT_0},
    **{code: 3 for code in _EXPONENT_3},
    **{code: 4 for code in _EXPONENT_4},
}


class UnknownCurrencyError(ValueError):
    """The code is not an ISO 4217 currency this platform knows."""


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies were combined."""


def normalise_currency(currency: str) -> str:
    """Return the upper-case ISO code, or raise :class:`UnknownCurrencyError`."""
    code = str(currency).strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise UnknownCurrencyError(f"unknown currency {currency!r}")
    return code


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (NGN 2, JPY 0, KWD 3)."""
    return CURRENCY_EXPONENTS[normalise_currency(currency)]


def _as_decimal(amount: Decimal | int | str) -> Decimal:
    # Floats carry binary rounding error into money, so they are refused
    # outright rather than converted.
    if isinstance(amount, bool) or isinstance(amount, float):
        raise TypeError("amounts must be Decimal, int or str, never float")
    if isinstance(amount, Decimal):
        value = amount
    else:
        try:
            value = Decimal(str(amount).strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    return value


def round_minor(value: Decimal | int, rounding: str = DEFAULT_ROUNDING) -> int:
    """Round a Decimal count of minor units to a whole minor unit.

    ``round_minor(Decimal("101.5"))`` is 102 under half-even, 101 under
    ``ROUND_DOWN``. This is the single place where fractions of a minor unit
    are given up, so callers name the mode when it is not the default.
    """
    return int(_as_decimal(value).to_integral_value(rounding=rounding))


def to_minor(
    amount: Decimal | int | str, currency: str, rounding: str = DEFAULT_ROUNDING
) -> int:
    """Convert an amount in major units ("1623.75") to integer minor units (162375).

    Digits beyond the currency's exponent are rounded with ``rounding``.
    """
    value = _as_decimal(amount)
    return round_minor(value.scaleb(exponent(currency)), rounding)


def from_minor(amount_minor: int, currency: str) -> Decimal:
    """Exact major-unit Decimal of a minor-unit amount, with the currency's scale.

    ``from_minor(162375, "NGN") == Decimal("1623.75")``; ``from_minor(5, "JPY")``
    is ``Decimal("5")``.
    """
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("minor-unit amounts are int")
    places = exponent(currency)
    return Decimal(amount_minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def format_minor(amount_minor: int, currency: str, *, with_code: bool = False) -> str:
    """Plain decimal string in major units: ``"1623.75"``, ``"-0.05"``, ``"1500"`` (JPY).

    No thousands separators, so the output parses back with ``Decimal``.
    """
    text = f"{from_minor(amount_minor, currency):f}"
    return f"{text} {normalise_currency(currency)}" if with_code else text


def describe(amount_minor: int, currency: str, *, with_code: bool = True) -> str:
    """For people: thousands separators, exact: ``describe(25000000, "NGN") == "250,000.00 NGN"``."""
    text = f"{from_minor(amount_minor, currency):,}"
    return f"{text} {normalise_currency(currency)}" if with_code else text


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency. Immutable; arithmetic refuses mixed currencies."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError("Money.amount_minor must be an int of minor units")
        object.__setattr__(self, "currency", normalise_currency(self.currency))

    @classmethod
    def of(
        cls, amount: Decimal | int | str, currency: str, rounding: str = DEFAULT_ROUNDING
    ) -> "Money":
        """Build from a major-unit amount: ``Money.of("10.005", "USD")`` is 1000 cents (half-even)."""
        return cls(to_minor(amount, currency, rounding), currency)

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(0, currency)

    def _check(self, other: "Money") -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency} with {other.currency}"
            )

    def add(self, other: "Money") -> "Money":
        self._check(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def sub(self, other: "Money") -> "Money":
        self._check(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    __add__ = add
    __sub__ = sub

    def __neg__(self) -> "Money":
        return Money(-self.amount_minor, self.currency)

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def to_decimal(self) -> Decimal:
        """Exact amount in major units."""
        return from_minor(self.amount_minor, self.currency)

    def format(self, *, with_code: bool = True) -> str:
        return format_minor(self.amount_minor, self.currency, with_code=with_code)

    def __str__(self) -> str:
        return self.format()
