"""Repayment schedules: due dates, principal, interest and balance of every instalment.

Guarantees of :func:`build_schedule` (tested against Apache Fineract's own
schedules and by property tests):

- every amount is an ``int`` of the currency's minor unit; each period's
  interest is rounded once, with the product's rounding mode (half-even by default);
- principal parts sum exactly to the principal (plus any interest capitalised
  during grace), balances never go negative and the last one is zero;
- the last instalment absorbs every rounding remainder.

Equal instalments on a declining balance use Fineract's *progressive EMI*: the
instalment is computed from each period's own rate factor (so months of 28 and
31 days weigh differently under actual-day conventions), then nudged as
Fineract does when the last instalment would differ from the others by more
than half a minor unit per period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum

from caas.money import DEFAULT_ROUNDING, exponent, format_minor, normalise_currency, round_minor

from ._solve import decimal_context
from .daycount import DayCount, Unit, due_dates, period_fraction

__all__ = [
    "Amortization",
    "InterestMethod",
    "LoanTerms",
    "Installment",
    "Schedule",
    "build_schedule",
    "progressive_emi",
]


class Amortization(str, Enum):
    EQUAL_INSTALLMENTS = "equal-installments"
    EQUAL_PRINCIPAL = "equal-principal"

    @classmethod
    def parse(cls, text: "str | Amortization") -> "Amortization":
        try:
            return cls(str(getattr(text, "value", text)).strip().lower().replace("instalments", "installments"))
        except ValueError:
            raise ValueError(f"unknown amortization {text!r} (equal-installments, equal-principal)") from None


class InterestMethod(str, Enum):
    DECLINING_BALANCE = "declining-balance"
    FLAT = "flat"

    @classmethod
    def parse(cls, text: "str | InterestMethod") -> "InterestMethod":
        try:
            return cls(str(getattr(text, "value", text)).strip().lower())
        except ValueError:
            raise ValueError(f"unknown interest method {text!r} (declining-balance, flat)") from None


@dataclass(frozen=True)
class LoanTerms:
    """What a schedule is built from.

    ``annual_rate`` is a fraction (``Decimal("0.12")`` for 12 % a year).
    ``start`` is the disbursement date; the first instalment falls one
    frequency step after it. During ``grace_on_principal`` periods no principal
    is due; during ``grace_on_interest`` periods no interest is due, and the
    interest of those periods is either deferred to the first instalment after
    the grace (default) or, with ``capitalise_grace_interest``, added to the balance.
    """

    principal_minor: int
    annual_rate: Decimal
    installments: int
    start: date
    every: int = 1
    unit: Unit = Unit.MONTHS
    day_count: DayCount = DayCount.ACTUAL_ACTUAL
    amortization: Amortization = Amortization.EQUAL_INSTALLMENTS
    interest_method: InterestMethod = InterestMethod.DECLINING_BALANCE
    currency: str = "NGN"
    grace_on_principal: int = 0
    grace_on_interest: int = 0
    capitalise_grace_interest: bool = False
    rounding: str = DEFAULT_ROUNDING

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "unit", Unit.parse(self.unit))
        put(self, "day_count", DayCount.parse(self.day_count))
        put(self, "amortization", Amortization.parse(self.amortization))
        put(self, "interest_method", InterestMethod.parse(self.interest_method))
        put(self, "currency", normalise_currency(self.currency))
        if isinstance(self.annual_rate, float):
            raise TypeError("annual_rate must be a Decimal, not a float")
        put(self, "annual_rate", Decimal(self.annual_rate))
        if isinstance(self.principal_minor, bool) or not isinstance(self.principal_minor, int):
            raise TypeError("principal_minor must be an int of minor units")
        if self.principal_minor <= 0:
            raise ValueError("principal must be positive")
        if self.annual_rate < 0:
            raise ValueError("annual rate must not be negative")
        if self.installments < 1 or self.every < 1:
            raise ValueError("need at least one instalment and a frequency of at least one unit")
        for name in ("grace_on_principal", "grace_on_interest"):
            value = getattr(self, name)
            if value < 0 or value >= self.installments:
                raise ValueError(f"{name} must be between 0 and installments - 1")


@dataclass(frozen=True)
class Installment:
    """One row of a schedule. Amounts in minor units; ``interest_minor`` is the interest due then."""

    number: int
    from_date: date
    due_date: date
    principal_minor: int
    interest_minor: int
    balance_minor: int
    capitalised_minor: int = 0

    @property
    def days(self) -> int:
        return (self.due_date - self.from_date).days

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.interest_minor


@dataclass(frozen=True)
class Schedule:
    terms: LoanTerms
    installments: tuple[Installment, ...]
    # The level instalment (equal instalments) or level principal (equal principal), minor units.
    level_amount_minor: int
    period_rates: tuple[Decimal, ...] = field(repr=False, default=())

    @property
    def total_principal_minor(self) -> int:
        return sum(row.principal_minor for row in self.installments)

    @property
    def total_interest_minor(self) -> int:
        return sum(row.interest_minor for row in self.installments)

    @property
    def total_minor(self) -> int:
        return self.total_principal_minor + self.total_interest_minor

    @property
    def capitalised_minor(self) -> int:
        return sum(row.capitalised_minor for row in self.installments)

    @property
    def maturity_date(self) -> date:
        return self.installments[-1].due_date

    def to_rows(self) -> list[dict[str, object]]:
        """JSON-friendly rows: amounts as decimal strings in major units ("1623.75")."""
        money = lambda minor: format_minor(minor, self.terms.currency)  # noqa: E731
        return [
            {
                "number": row.number,
                "due_date": row.due_date.isoformat(),
                "days": row.days,
                "principal": money(row.principal_minor),
                "interest": money(row.interest_minor),
                "total": money(row.total_minor),
                "balance": money(row.balance_minor),
            }
            for row in self.installments
        ]


def progressive_emi(principal_minor: int | Decimal, period_rates: list[Decimal]) -> Decimal:
    """Unrounded level instalment that repays ``principal`` over periods with these rates.

    ``EMI = P * prod(1 + r_k) / fn`` where ``fn`` folds from the last period
    back (``fn = 1 + fn * (1 + r_k)`` for k = 2..n), Fineract's formula. With
    equal rates it is the ordinary annuity payment; with zero rates, P / n.
    """
    product = Decimal(1)
    for rate in period_rates:
        product *= 1 + rate
    fn = Decimal(1)
    for rate in period_rates[1:]:
        fn = 1 + fn * (1 + rate)
    return Decimal(principal_minor) * product / fn


@dataclass
class _Row:
    principal: int
    own_interest: int
    capitalised: int
    balance: int


class _Roller:
    """Rolls the balance forward period by period for one set of terms."""

    def __init__(self, terms: LoanTerms, rates: list[Decimal]) -> None:
        self.terms = terms
        self.rates = rates
        self.n = len(rates)
        self.grace_p = terms.grace_on_principal
        self.grace_i = terms.grace_on_interest
        self.flat = terms.interest_method is InterestMethod.FLAT

    def interest(self, k: int, balance: int) -> int:
        base = self.terms.principal_minor if self.flat else balance
        # The hot loop of every schedule: round the Decimal product directly
        # (what round_minor does, without re-validating its argument).
        return int((base * self.rates[k]).to_integral_value(rounding=self.terms.rounding))

    def capitalises(self, k: int) -> bool:
        return self.terms.capitalise_grace_interest and k < self.grace_i

    def grace_rows(self) -> tuple[list[_Row], int]:
        """Rows of the principal-grace periods, and the balance when amortisation starts."""
        rows: list[_Row] = []
        balance = self.terms.principal_minor
        for k in range(self.grace_p):
            interest = self.interest(k, balance)
            capitalised = interest if self.capitalises(k) else 0
            balance += capitalised
            rows.append(_Row(0, interest, capitalised, balance))
        return rows, balance

    def roll(self, principal_for: Callable[[int, int, int], int]) -> list[_Row]:
        """All rows, with ``principal_for(k, balance, interest)`` giving each amortising period's principal."""
        rows, balance = self.grace_rows()
        for k in range(self.grace_p, self.n):
            interest = self.interest(k, balance)
            capitalised = interest if self.capitalises(k) else 0
            balance += capitalised
            if k == self.n - 1:
                principal = balance
            else:
                principal = min(max(principal_for(k, balance, interest), 0), balance)
            balance -= principal
            rows.append(_Row(principal, interest, capitalised, balance))
        return rows


def _equal_installment_rows(roller: _Roller) -> tuple[list[_Row], int]:
    terms = roller.terms
    _, opening = roller.grace_rows()
    amortising = roller.rates[roller.grace_p :]
    if roller.flat:
        # Fineract's flat method: the interest of every amortising period is
        # charged on the original principal, and the instalment spreads
        # principal plus that interest evenly.
        interest_total = sum(roller.interest(k, opening) for k in range(roller.grace_p, roller.n))
        emi = round_minor(Decimal(opening + interest_total) / len(amortising), terms.rounding)
    else:
        emi = round_minor(progressive_emi(opening, amortising), terms.rounding)
    rows = roller.roll(lambda k, balance, interest: emi - interest)
    if roller.flat:
        return rows, emi
    return _streamline(roller, emi, rows)


def _last_difference(rows: list[_Row], emi: int) -> int:
    last = rows[-1]
    return last.principal + last.own_interest - emi


def _streamline(roller: _Roller, emi: int, rows: list[_Row]) -> tuple[list[_Row], int]:
    # Fineract's EMI adjustment: when the last instalment differs from the
    # others by more than half a minor unit per amortising period (Fineract
    # tests |difference| * 100 > floor(periods / 2) in major units), spread the
    # difference over the periods and keep the new instalment only if it leaves
    # a smaller difference; at most three rounds.
    periods = roller.n - roller.grace_p
    half = periods // 2
    scale = 10 ** exponent(roller.terms.currency)
    for _ in range(3):
        difference = _last_difference(rows, emi)
        if half == 0 or difference == 0 or abs(difference) * 100 <= half * scale:
            break
        adjusted = emi + round_minor(Decimal(difference) / periods, roller.terms.rounding)
        if adjusted == emi:
            break
        new_rows = roller.roll(lambda k, balance, interest: adjusted - interest)
        if abs(_last_difference(new_rows, adjusted)) >= abs(difference):
            break
        emi, rows = adjusted, new_rows
    return rows, emi


def _equal_principal_rows(roller: _Roller) -> tuple[list[_Row], int]:
    _, opening = roller.grace_rows()
    periods = roller.n - roller.grace_p
    level = round_minor(Decimal(opening) / periods, roller.terms.rounding)
    return roller.roll(lambda k, balance, interest: level), level


def _defer_grace_interest(rows: list[_Row], grace_i: int, capitalise: bool) -> list[int]:
    """Interest due per period once interest grace is applied."""
    due: list[int] = []
    deferred = 0
    for k, row in enumerate(rows):
        if k < grace_i:
            deferred += 0 if capitalise else row.own_interest
            due.append(0)
        elif k == grace_i:
            due.append(row.own_interest + deferred)
        else:
            due.append(row.own_interest)
    return due


@decimal_context()
def build_schedule(terms: LoanTerms) -> Schedule:
    """The repayment schedule for ``terms`` (see the module docstring for guarantees)."""
    dates = due_dates(terms.start, terms.installments, terms.every, terms.unit)
    starts = [terms.start, *dates[:-1]]
    rates = [
        terms.annual_rate * period_fraction(begin, end, terms.day_count, terms.unit)
        for begin, end in zip(starts, dates)
    ]
    roller = _Roller(terms, rates)
    if terms.amortization is Amortization.EQUAL_PRINCIPAL:
        rows, level = _equal_principal_rows(roller)
    else:
        rows, level = _equal_installment_rows(roller)
    interest_due = _defer_grace_interest(rows, terms.grace_on_interest, terms.capitalise_grace_interest)
    installments = tuple(
        Installment(
            number=k + 1,
            from_date=starts[k],
            due_date=dates[k],
            principal_minor=row.principal,
            interest_minor=interest_due[k],
            balance_minor=row.balance,
            capitalised_minor=row.capitalised,
        )
        for k, row in enumerate(rows)
    )
    return Schedule(terms, installments, level, tuple(rates))

