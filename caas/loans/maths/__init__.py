"""Pure loan maths: schedules, APR, time value of money, allocation, re-amortisation.

No Flask, no database: Decimal, dates and integers of minor units only (see
``caas.money``). Every amount a borrower or provider sees is computed here.
"""

from .allocation import (
    DEFAULT_ORDER,
    Allocation,
    AllocationLine,
    Component,
    Due,
    Overpayment,
    PayoffQuote,
    allocate,
    dues_from_schedule,
    payoff_quote,
)
from .apr import AprError, AprResult, UnitPeriod, apr, determine_unit_period
from .daycount import DayCount, Unit, add_months, due_dates, next_due_date, year_fraction
from .penalty import penalty_interest
from .reamortise import HardshipPlan, reamortise
from .schedule import (
    Amortization,
    Installment,
    InterestMethod,
    LoanTerms,
    Schedule,
    build_schedule,
    progressive_emi,
)

__all__ = [
    "DEFAULT_ORDER",
    "Allocation",
    "AllocationLine",
    "Amortization",
    "AprError",
    "AprResult",
    "Component",
    "DayCount",
    "Due",
    "HardshipPlan",
    "Installment",
    "InterestMethod",
    "LoanTerms",
    "Overpayment",
    "PayoffQuote",
    "Schedule",
    "Unit",
    "UnitPeriod",
    "add_months",
    "allocate",
    "apr",
    "build_schedule",
    "determine_unit_period",
    "due_dates",
    "dues_from_schedule",
    "next_due_date",
    "payoff_quote",
    "penalty_interest",
    "progressive_emi",
    "reamortise",
    "year_fraction",
]
