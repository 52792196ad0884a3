"""Indicative figures for a borrower before any offer: the monthly payment and APR at the client's
reference rate, from the loan maths. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from caas.loans.maths import LoanTerms, apr, build_schedule
from caas.money import from_minor


@dataclass(frozen=True)
class Indicative:
    instalment_minor: int  # the first (regular) instalment
    total_repayable_minor: int
    apr_percent: Decimal


def indicative(amount_minor: int, currency: str, term_months: int, annual_rate: Decimal, start: date,
               fee_minor: int = 0) -> Indicative:
    terms = LoanTerms(principal_minor=amount_minor, annual_rate=annual_rate, installments=term_months, start=start,
                      every=1, unit="months", day_count="30/360", amortization="equal-installments",
                      interest_method="declining-balance", currency=currency)
    schedule = build_schedule(terms)
    rows = schedule.installments
    payments = [(row.due_date, from_minor(row.principal_minor + row.interest_minor, currency)) for row in rows]
    result = apr([(start, from_minor(amount_minor, currency))], payments,
                 prepaid_finance_charge=from_minor(fee_minor, currency))
    total = sum(row.principal_minor + row.interest_minor for row in rows)
    return Indicative(instalment_minor=rows[0].principal_minor + rows[0].interest_minor,
                      total_repayable_minor=total, apr_percent=result.apr)
