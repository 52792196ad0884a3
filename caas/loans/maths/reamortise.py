"""Re-amortisation of an outstanding balance for hardship plans.

A hardship plan replaces what is left of a schedule with a new one starting
on a given date: optionally a payment holiday of N periods, a longer term,
and/or a new rate. The new schedule is an ordinary :class:`Schedule`, so all of
its guarantees hold (balances end at zero, the last instalment absorbs rounding).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from .schedule import LoanTerms, Schedule, build_schedule

__all__ = ["HardshipPlan", "reamortise"]


@dataclass(frozen=True)
class HardshipPlan:
    """What changes. ``holiday_periods`` are periods with nothing due.

    Interest of the holiday is capitalised (added to the balance, the usual
    hardship treatment) unless ``capitalise_holiday_interest`` is False, in
    which case it falls due with the first instalment after the holiday.
    """

    holiday_periods: int = 0
    extra_periods: int = 0
    new_annual_rate: Decimal | None = None
    capitalise_holiday_interest: bool = True

    def __post_init__(self) -> None:
        if self.holiday_periods < 0 or self.extra_periods < 0:
            raise ValueError("holiday and extension must not be negative")
        if isinstance(self.new_annual_rate, float):
            raise TypeError("new_annual_rate must be a Decimal, not a float")
        if self.new_annual_rate is not None and self.new_annual_rate < 0:
            raise ValueError("new rate must not be negative")


def reamortise(
    terms: LoanTerms,
    outstanding_principal_minor: int,
    remaining_installments: int,
    from_date: date,
    plan: HardshipPlan = HardshipPlan(),
    *,
    capitalised_arrears_minor: int = 0,
) -> Schedule:
    """A new schedule for ``outstanding_principal_minor`` starting ``from_date``.

    ``terms`` supplies the product (frequency, day count, amortisation,
    interest method, currency, rounding, and the rate unless the plan changes
    it). The new schedule has ``remaining_installments + extra_periods``
    amortising instalments after ``holiday_periods`` holiday periods, the first
    due one period after ``from_date``. Overdue amounts the plan folds into the
    balance go in ``capitalised_arrears_minor``.
    """
    if remaining_installments < 1:
        raise ValueError("at least one instalment must remain")
    if capitalised_arrears_minor < 0:
        raise ValueError("capitalised arrears must not be negative")
    holiday = plan.holiday_periods
    new_terms = replace(
        terms,
        principal_minor=outstanding_principal_minor + capitalised_arrears_minor,
        annual_rate=terms.annual_rate if plan.new_annual_rate is None else plan.new_annual_rate,
        installments=holiday + remaining_installments + plan.extra_periods,
        start=from_date,
        grace_on_principal=holiday,
        grace_on_interest=holiday,
        capitalise_grace_interest=plan.capitalise_holiday_interest,
    )
    return build_schedule(new_terms)
