"""Annual percentage rate by the actuarial method of US Regulation Z, Appendix J (12 CFR 1026).

The APR is ``i * w``, where ``i`` is the rate per unit period that makes the
advances and the payments equal in value at the start of the term,

    sum A_k / ((1 + f_k i)(1 + i)^t_k)  =  sum P_j / ((1 + f_j i)(1 + i)^t_j)

``t`` being the whole unit periods and ``f`` the fraction of a unit period from
the start of the term (the first advance) to each cash flow, and ``w`` the
number of unit periods in a year. Prepaid finance charges (fees) reduce the
amount financed, i.e. the first advance.

Counting follows Appendix J (b)(5): whole months are counted back from the
later date, the odd days left at the start are divided by 30 (month, semimonth
and multi-month unit periods, which count 30 days per whole month); weeks and
days divide the actual days. The unit period is the common interval that
occurs most often between cash flows, the smaller one on a tie (b)(3).

The solver brackets ``i`` between 0 and a rate where the payments are worth
less than the advances and closes the bracket with Brent's method, so it
cannot diverge.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from ._solve import brent, decimal_context
from .daycount import add_months, is_months_apart

__all__ = ["UnitPeriod", "AprResult", "AprError", "apr", "determine_unit_period"]

_DAYS_PER_YEAR = 365
_KIND_DAYS = {"day": Decimal(1), "week": Decimal(7), "semimonth": Decimal(365) / 24,
              "month": Decimal(365) / 12, "year": Decimal(365)}


class AprError(ValueError):
    """The cash flows do not describe a loan an APR can be computed for."""


@dataclass(frozen=True, order=True)
class UnitPeriod:
    """A unit period of Appendix J: ``count`` days, weeks or months, a semimonth or a year."""

    kind: str  # "day" | "week" | "semimonth" | "month" | "year"
    count: int = 1

    def __post_init__(self) -> None:
        if self.kind not in _KIND_DAYS:
            raise ValueError(f"unknown unit period kind {self.kind!r}")
        if self.count < 1 or (self.kind in ("semimonth", "year") and self.count != 1):
            raise ValueError(f"invalid unit period count {self.count} for {self.kind}")
        if self.kind == "month" and self.count == 12:
            object.__setattr__(self, "kind", "year")
            object.__setattr__(self, "count", 1)
        if self.approx_days > _DAYS_PER_YEAR:
            raise ValueError("a unit period may not exceed one year")

    @classmethod
    def parse(cls, text: str) -> "UnitPeriod":
        """``month``, ``3months``, ``quarter``, ``semimonth``, ``week``, ``2weeks``, ``255days``, ``year``."""
        key = text.strip().lower().replace(" ", "").replace("-", "")
        named = {"quarter": cls("month", 3), "quarterly": cls("month", 3), "monthly": cls("month"),
                 "weekly": cls("week"), "daily": cls("day"), "annual": cls("year"),
                 "semimonthly": cls("semimonth"), "biweekly": cls("week", 2), "fortnight": cls("week", 2)}
        if key in named:
            return named[key]
        match = re.fullmatch(r"(\d*)(day|week|semimonth|month|year)s?", key)
        if not match:
            raise ValueError(f"unknown unit period {text!r}")
        return cls(match.group(2), int(match.group(1) or 1))

    @property
    def approx_days(self) -> Decimal:
        """Nominal length, used only to rank periods (ties go to the smaller)."""
        return _KIND_DAYS[self.kind] * self.count

    @property
    def periods_per_year(self) -> Decimal:
        """``w`` of Appendix J (b)(4): 12/months, 24, 52/weeks, 365/days or 1."""
        per_year = {"month": Decimal(12), "semimonth": Decimal(24), "week": Decimal(52),
                    "day": Decimal(_DAYS_PER_YEAR), "year": Decimal(1)}[self.kind]
        return per_year / self.count

    @property
    def label(self) -> str:
        if self.kind in ("semimonth", "year") or self.count == 1:
            return self.kind
        return f"{self.count} {self.kind}s"

    def __str__(self) -> str:
        return self.label

    def count_between(self, earlier: date, later: date) -> tuple[int, Decimal]:
        """``(t, f)``: whole unit periods and the fraction left at the start, Appendix J (b)(5)."""
        if later < earlier:
            raise ValueError("later date is before earlier date")
        if self.kind in ("day", "week"):
            size = self.count * (7 if self.kind == "week" else 1)
            whole, rest = divmod((later - earlier).days, size)
            return whole, Decimal(rest) / size
        months, odd_days = _months_back(earlier, later)
        if self.kind == "year":
            years, left_months = divmod(months, 12)
            if odd_days == 0:
                return years, Decimal(left_months) / 12
            return years, Decimal((add_months(later, -12 * years) - earlier).days) / _DAYS_PER_YEAR
        if self.kind == "month" and self.count == 1:
            return months, Decimal(odd_days) / 30
        size = 15 if self.kind == "semimonth" else 30 * self.count
        whole, rest = divmod(30 * months + odd_days, size)
        return whole, Decimal(rest) / size


def _months_back(earlier: date, later: date) -> tuple[int, int]:
    """Whole months counted back from ``later`` without passing ``earlier``, and the odd days left.

    A month also counts as whole when it runs from one month end to the next
    (31 January to 28 February), which counting back from the 28th alone would miss.
    """
    back = (later.year - earlier.year) * 12 + later.month - earlier.month
    while back > 0 and add_months(later, -back) < earlier:
        back -= 1
    forward = back + 1
    while forward > 0 and add_months(earlier, forward) > later:
        forward -= 1
    months = max(back, forward, 0)
    anchor = max(add_months(later, -months), earlier)
    return months, (anchor - earlier).days


def _classify(first: date, second: date) -> UnitPeriod | None:
    """The common period that the interval ``first -> second`` is, if any (at most a year)."""
    days = (second - first).days
    months = (second.year - first.year) * 12 + second.month - first.month
    if 1 <= months <= 12 and is_months_apart(first, second, months):
        return UnitPeriod("month", months)
    # Semimonthly dates (1st and 16th) are 13, 15 or 16 days apart; 14 days
    # is left to the two-week period, which wins ties as the smaller one.
    if days in (13, 15, 16):
        return UnitPeriod("semimonth")
    if days % 7 == 0 and 0 < days < _DAYS_PER_YEAR:
        return UnitPeriod("week", days // 7)
    if 0 < days <= _DAYS_PER_YEAR:
        return UnitPeriod("day", days)
    return None


def _nearest_standard_unit(average_days: Decimal) -> UnitPeriod:
    standard = [UnitPeriod("day"), UnitPeriod("week"), UnitPeriod("semimonth"),
                UnitPeriod("month"), UnitPeriod("year")]
    # min() keeps the first (smaller) unit on a tie, as (b)(3)(i)(B) requires.
    return min(standard, key=lambda unit: abs(unit.approx_days - average_days))


def determine_unit_period(advance_dates: Sequence[date], payment_dates: Sequence[date]) -> UnitPeriod:
    """The unit period of Appendix J (b)(3) for these cash-flow dates.

    Single advance and single payment: the term, if it is at most a year (in
    months when it is a whole number of months, else in days); otherwise a year.
    Otherwise the interval between consecutive cash flows that occurs most
    often, the smaller on a tie; if none occurs twice, the average interval
    rounded to the nearest standard unit.
    """
    if len(advance_dates) == 1 and len(payment_dates) == 1:
        start, end = advance_dates[0], payment_dates[0]
        term = _classify(start, end)
        if term is None:
            return UnitPeriod("year")
        if term.kind in ("week", "semimonth"):  # a single term is counted in days
            return UnitPeriod("day", (end - start).days)
        return term
    dates = sorted(set(advance_dates) | set(payment_dates))
    intervals = [_classify(a, b) for a, b in zip(dates, dates[1:])]
    counts = Counter(unit for unit in intervals if unit is not None)
    if counts and max(counts.values()) > 1:
        top = max(counts.values())
        return min(unit for unit, n in counts.items() if n == top)
    average = Decimal((dates[-1] - dates[0]).days) / max(len(dates) - 1, 1)
    return _nearest_standard_unit(average)


@dataclass(frozen=True)
class AprResult:
    apr: Decimal  # percent, rounded to 2 decimals
    apr_exact: Decimal  # percent, unrounded
    rate_per_period: Decimal  # i, as a fraction
    unit_period: UnitPeriod
    periods_per_year: Decimal
    amount_financed: Decimal


def _as_amount(value: object, what: str) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise TypeError(f"{what} must be Decimal, int or str, not {type(value).__name__}")
    try:
        amount = Decimal(value)  # type: ignore[arg-type]
    except InvalidOperation:
        raise AprError(f"{what} is not a number: {value!r}") from None
    if not amount.is_finite():
        raise AprError(f"{what} is not a finite number")
    if amount < 0:
        raise AprError(f"{what} is negative ({amount})")
    return amount


# (amount, whole unit periods t, fraction f) of one cash flow.
_Term = tuple[Decimal, int, Decimal]


def _discount_terms(flows: Iterable[tuple[date, Decimal]], start: date, unit: UnitPeriod) -> list[_Term]:
    terms = []
    for on, amount in flows:
        t, f = unit.count_between(start, on)
        terms.append((amount, t, f))
    return terms


def _present_value(terms: list[_Term], i: Decimal, powers: dict[int, Decimal]) -> Decimal:
    total = Decimal(0)
    for amount, t, f in terms:
        power = powers.get(t)
        if power is None:
            power = powers[t] = (1 + i) ** t
        total += amount / ((1 + f * i) * power)
    return total


@decimal_context()
def apr(
    advances: Sequence[tuple[date, Decimal | int | str]],
    payments: Sequence[tuple[date, Decimal | int | str]],
    *,
    prepaid_finance_charge: Decimal | int | str = 0,
    unit_period: UnitPeriod | str | None = None,
) -> AprResult:
    """APR of a loan given its dated advances and payments (amounts in any one unit).

    ``unit_period`` of ``None`` or ``"auto"`` determines it from the dates.
    Raises :class:`AprError` naming the problem when there is no advance or
    payment, an amount is negative, a payment precedes the first advance, or
    the payments do not repay the amount financed.
    """
    if not advances:
        raise AprError("no advance")
    if not payments:
        raise AprError("no payments")
    advance_flows = sorted((on, _as_amount(a, f"advance on {on}")) for on, a in advances)
    payment_flows = sorted((on, _as_amount(p, f"payment on {on}")) for on, p in payments)
    fee = _as_amount(prepaid_finance_charge, "prepaid finance charge")
    start = advance_flows[0][0]
    if payment_flows[0][0] < start:
        raise AprError(f"payment on {payment_flows[0][0]} is before the advance on {start}")
    # The amount financed is the advance less the finance charges paid up front.
    first_on, first_amount = advance_flows[0]
    if fee >= first_amount:
        raise AprError("prepaid finance charge is not less than the advance")
    advance_flows[0] = (first_on, first_amount - fee)
    financed = sum(amount for _, amount in advance_flows)
    repaid = sum(amount for _, amount in payment_flows)
    if repaid < financed:
        raise AprError(f"payments total {repaid}, less than the amount financed {financed}")

    if unit_period is None or (isinstance(unit_period, str) and unit_period.strip().lower() == "auto"):
        unit = determine_unit_period([d for d, _ in advance_flows], [d for d, _ in payment_flows])
    else:
        unit = unit_period if isinstance(unit_period, UnitPeriod) else UnitPeriod.parse(unit_period)

    advance_terms = _discount_terms(advance_flows, start, unit)
    payment_terms = _discount_terms(payment_flows, start, unit)

    def excess_of_payments(i: Decimal) -> Decimal:
        powers: dict[int, Decimal] = {}
        return _present_value(payment_terms, i, powers) - _present_value(advance_terms, i, powers)

    rate = _solve_rate(excess_of_payments, repaid - financed)
    per_year = unit.periods_per_year
    exact = rate * per_year * 100
    return AprResult(
        apr=exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN),
        apr_exact=exact,
        rate_per_period=rate,
        unit_period=unit,
        periods_per_year=per_year,
        amount_financed=financed,
    )


def _solve_rate(excess_of_payments: Callable[[Decimal], Decimal], excess_at_zero: Decimal) -> Decimal:
    """Smallest-bracket root of ``excess_of_payments`` with i >= 0 (it is positive at 0)."""
    if excess_at_zero == 0:
        return Decimal(0)
    low, high = Decimal(0), Decimal("0.01")
    f_low, f_high = excess_at_zero, excess_of_payments(high)
    while f_high > 0:
        low, f_low = high, f_high
        high *= 4
        if high > 10**18:
            # Payments made on the advance date are not discounted at any rate.
            raise AprError("no rate balances the payments with the amount financed "
                           "(payments on the advance date alone exceed it)")
        f_high = excess_of_payments(high)
    return brent(excess_of_payments, low, high, fa=f_low, fb=f_high, xtol=Decimal("1e-20"))
