"""Penalty interest on overdue principal, one period at a time.

A period of lateness is one month of the monthly 30/360 product, so a period's penalty is
``overdue principal × annual rate / 12``, rounded once to the minor unit (half-even unless the
caller names another mode). The daily servicing job charges it in SQL (``caas.loans.servicing``);
this function is the reference the SQL is tested against.
"""
from __future__ import annotations

from decimal import Decimal, localcontext

from caas.money import DEFAULT_ROUNDING, round_minor


def penalty_interest(overdue_principal_minor: int, annual_rate: Decimal, *, months: int = 1,
                     rounding: str = DEFAULT_ROUNDING) -> int:
    if isinstance(annual_rate, float) or isinstance(overdue_principal_minor, float):
        raise TypeError("use Decimal rates and int minor units, never float")
    if overdue_principal_minor < 0 or annual_rate < 0 or months < 0:
        raise ValueError("principal, rate and months must not be negative")
    with localcontext() as ctx:
        ctx.prec = 34
        return round_minor(Decimal(overdue_principal_minor) * annual_rate * months / 12, rounding)
