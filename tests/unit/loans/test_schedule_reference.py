"""Schedules against Apache Fineract's own (reference/schedules.csv), every period to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from caas.loans.maths import LoanTerms, Schedule, build_schedule
from caas.money import to_minor


@lru_cache(maxsize=None)
def _schedule(principal: str, rate_pct: str, installments: str, repay_every: str, start: str, day_count: str) -> Schedule:
    every, unit = repay_every.split()
    return build_schedule(
        LoanTerms(
            principal_minor=to_minor(principal, "USD"),
            annual_rate=Decimal(rate_pct) / 100,
            installments=int(installments),
            start=date.fromisoformat(start),
            every=int(every),
            unit=unit.lower(),
            day_count=day_count,
            amortization="equal-installments",
            interest_method="declining-balance",
            currency="USD",
        )
    )


def schedule_for(row: dict[str, str], day_count_of) -> Schedule:
    return _schedule(row["principal"], row["annual_rate_pct"], row["n_installments"], row["repay_every"],
                     row["disbursement_date"], day_count_of(row["method"]))


def cents(text: str) -> int:
    return to_minor(Decimal(text), "USD")


def test_period_matches_fineract(schedule_period: dict[str, str], day_count_of) -> None:
    row = schedule_period
    got = schedule_for(row, day_count_of).installments[int(row["period"]) - 1]
    assert got.number == int(row["period"])
    assert got.due_date == date.fromisoformat(row["due_date"])
    assert got.days == int(row["days_in_period"])
    assert got.principal_minor == cents(row["principal_due"])
    assert got.interest_minor == cents(row["interest_due"])
    assert got.total_minor == cents(row["total_due"])
    assert got.balance_minor == cents(row["balance_after"])


def test_case_has_the_reference_number_of_periods_and_totals(schedule_case: list[dict[str, str]], day_count_of) -> None:
    schedule = schedule_for(schedule_case[0], day_count_of)
    assert len(schedule.installments) == len(schedule_case) == int(schedule_case[0]["n_installments"])
    assert schedule.total_interest_minor == sum(cents(r["interest_due"]) for r in schedule_case)
    assert schedule.total_principal_minor == cents(schedule_case[0]["principal"])
