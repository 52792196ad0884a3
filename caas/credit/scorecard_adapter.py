"""The application form mapped onto the scorecard's attributes, and prediction from a stored model.

What the form cannot tell (checking account status A1, credit history A3, savings A6, time at the
address A11, dependants A18) falls in the neutral bin. A real deployment should fill those from a
credit bureau (A3, A16, A14) and from bank-statement analysis (A1, A6). docs/scoring.md has the table.
"""
from __future__ import annotations

from datetime import date

from caas.credit import kyc
from caas.credit.woe_scorecard import UNKNOWN, Prediction, Scorecard

PURPOSE = {"vehicle": "A40", "home improvement": "A45", "education": "A46", "business expansion": "A49",
           "working capital": "A49", "debt consolidation": "A410", "medical": "A410", "personal": "A43"}
JOB = {"unemployed": "A171", "student": "A172", "retired": "A171", "employed": "A173", "self_employed": "A174"}
HOUSING = {"rent": "A151", "own": "A152", "free": "A153"}
# The German data's amounts are 1970s Deutsche Mark. We express the loan as a multiple of the
# applicant's monthly income, scaled to a typical monthly income in that data (about 3,000 DM).
TYPICAL_MONTHLY_INCOME_DM = 3000


def _employment(months: int, status: str) -> str:
    if status == "unemployed":
        return "A71"
    years = months / 12
    return "A72" if years < 1 else "A73" if years < 4 else "A74" if years < 7 else "A75"


def _instalment_rate(instalment_minor: int, income_minor: int) -> int:
    if income_minor <= 0:
        return 4
    share = instalment_minor / income_minor
    return 1 if share < 0.10 else 2 if share < 0.20 else 3 if share < 0.30 else 4


def features(application, profile, today: date) -> dict:
    """Plain JSON values, stored with the decision so that it can be reproduced."""
    income = profile.monthly_net_income_minor
    amount_dm = (application.amount_minor / income * TYPICAL_MONTHLY_INCOME_DM) if income > 0 else 20_000
    has_debt = profile.existing_debt_payments_minor > 0
    return {
        "A1": UNKNOWN, "A2": application.term_months, "A3": UNKNOWN,
        "A4": PURPOSE.get(application.purpose or "", "A410"), "A5": round(amount_dm),
        "A6": UNKNOWN, "A7": _employment(profile.months_employed, profile.employment_status),
        "A8": _instalment_rate(application.indicative_instalment_minor or 0, income),
        "A10": "A101", "A11": UNKNOWN, "A12": "A121" if profile.housing == "own" else UNKNOWN,
        "A13": kyc.age_on(profile.date_of_birth, today), "A14": "A141" if has_debt else "A143",
        "A15": HOUSING.get(profile.housing, UNKNOWN), "A16": 2 if has_debt else 1,
        "A17": JOB.get(profile.employment_status, UNKNOWN), "A18": UNKNOWN, "A19": "A192" if profile.phone else "A191",
    }


def predict(artifact: dict, inputs: dict) -> Prediction:
    return Scorecard(artifact).predict(inputs)
