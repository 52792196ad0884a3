"""The German Credit attributes, their reader, and the mapping of an application onto them.

The model speaks the attributes of the Statlog German Credit data (german.doc): A1..A20, values
as coded there ("A11", 24, ...). Personal status and sex (A9) and foreign worker (A20) are
protected characteristics: they are read from the data file (it has them) but are not in
``MODEL_ATTRIBUTES``, so no model can use them, and ``application_attributes`` never produces them.

``application_attributes`` maps an application-like dict onto the other 18. What a field means,
its unit and its default are listed in docs/scoring.md; in short, a missing field gives ``None``,
which the model treats as "unknown" (weight of evidence 0: the population average, neither
rewarded nor penalised), and an unrecognised value is an error rather than a silent "unknown".
Amounts are compared with income in the same currency and expressed in 1970s Deutsche Mark
through ``REFERENCE_MONTHLY_INCOME_DM``: the data's DM thresholds only mean something relative
to what people earned then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

Value = str | int | None


class FeatureError(ValueError):
    """An application field, or a line of a german.data file, that cannot be mapped."""


@dataclass(frozen=True)
class Attribute:
    code: str  # "A1"
    name: str  # stable, used in reason codes
    kind: str  # "categorical" or "numeric"
    text: str  # the reason text shown to the applicant
    values: tuple[str, ...] = ()  # the codes of a categorical attribute
    ordered: tuple[str, ...] = ()  # categories in risk order, for a monotone weight of evidence

    @property
    def number(self) -> int:
        return int(self.code[1:])

    @property
    def reason_code(self) -> str:
        return f"R{self.number:02d}_{self.name}"


def _codes(prefix: str, last: int, first: int = 0) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(first, last + 1))


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("A1", "checking_account_status", "categorical", "Status of the existing checking account",
              _codes("A1", 4, 1), ordered=("A11", "A12", "A13")),
    Attribute("A2", "duration_months", "numeric", "Duration of the credit"),
    Attribute("A3", "credit_history", "categorical", "Credit history", _codes("A3", 4)),
    Attribute("A4", "purpose", "categorical", "Purpose of the credit", (*_codes("A4", 9), "A410")),
    Attribute("A5", "credit_amount", "numeric", "Amount of the credit"),
    Attribute("A6", "savings", "categorical", "Savings and bonds", _codes("A6", 5, 1),
              ordered=("A61", "A62", "A63", "A64")),
    Attribute("A7", "employment_length", "categorical", "Length of present employment", _codes("A7", 5, 1),
              ordered=("A72", "A73", "A74", "A75")),
    Attribute("A8", "instalment_rate", "numeric", "Instalment as a share of disposable income"),
    Attribute("A9", "personal_status_sex", "categorical", "Personal status and sex", _codes("A9", 5, 1)),
    Attribute("A10", "other_debtors", "categorical", "Other debtors or guarantors", _codes("A10", 3, 1)),
    Attribute("A11", "residence_since", "numeric", "Time at the present residence"),
    Attribute("A12", "property", "categorical", "Property", _codes("A12", 4, 1)),
    Attribute("A13", "age_years", "numeric", "Age"),
    Attribute("A14", "other_instalment_plans", "categorical", "Other instalment plans", _codes("A14", 3, 1)),
    Attribute("A15", "housing", "categorical", "Housing", _codes("A15", 3, 1)),
    Attribute("A16", "existing_credits", "numeric", "Number of existing credits"),
    Attribute("A17", "job", "categorical", "Job", _codes("A17", 4, 1)),
    Attribute("A18", "dependants", "numeric", "Number of people the applicant provides for"),
    Attribute("A19", "telephone", "categorical", "Telephone", _codes("A19", 2, 1)),
    Attribute("A20", "foreign_worker", "categorical", "Foreign worker", _codes("A20", 2, 1)),
)
BY_CODE = {attribute.code: attribute for attribute in ATTRIBUTES}
PROTECTED_ATTRIBUTES = frozenset({"A9", "A20"})
MODEL_ATTRIBUTES: tuple[str, ...] = tuple(a.code for a in ATTRIBUTES if a.code not in PROTECTED_ATTRIBUTES)


# --- german.data -------------------------------------------------------------------------------

def parse_german(text: str, source: str = "german.data") -> tuple[list[dict[str, Value]], list[int]]:
    """Rows (attribute code -> value) and labels (1 bad, 0 good) of a german.data text: 20
    space-separated attributes and the class (1 good, 2 bad) per line; blank lines are skipped."""
    rows: list[dict[str, Value]] = []
    labels: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(ATTRIBUTES) + 1:
            raise FeatureError(f"{source}: line {number}: expected {len(ATTRIBUTES) + 1} fields, found {len(fields)}")
        row: dict[str, Value] = {}
        for attribute, raw in zip(ATTRIBUTES, fields):
            if attribute.kind == "numeric":
                try:
                    row[attribute.code] = int(raw)
                except ValueError:
                    raise FeatureError(f"{source}: line {number}: {attribute.code} is not a number: {raw!r}") from None
            elif raw not in attribute.values:
                raise FeatureError(f"{source}: line {number}: {attribute.code} has no value {raw!r}")
            else:
                row[attribute.code] = raw
        if fields[-1] not in ("1", "2"):
            raise FeatureError(f"{source}: line {number}: class must be 1 (good) or 2 (bad), found {fields[-1]!r}")
        rows.append(row)
        labels.append(1 if fields[-1] == "2" else 0)
    if not rows:
        raise FeatureError(f"{source}: no data")
    return rows, labels


def read_german(path: str | Path) -> tuple[list[dict[str, Value]], list[int]]:
    path = Path(path)
    return parse_german(path.read_text(encoding="ascii"), source=str(path))


# --- application form -> attributes --------------------------------------------------------------

# A 1970s West German monthly net income, in DM. The data's DM thresholds (200 DM on the
# checking account, 100/500/1000 DM of savings, a median credit of about 2,300 DM) are scaled
# by the applicant's own monthly net income through it. An assumption, see docs/scoring.md.
REFERENCE_MONTHLY_INCOME_DM = 1500

PURPOSES = {
    "new_car": "A40", "car_new": "A40", "used_car": "A41", "car_used": "A41", "furniture": "A42",
    "equipment": "A42", "electronics": "A43", "radio_tv": "A43", "appliances": "A44", "repairs": "A45",
    "home_improvement": "A45", "education": "A46", "retraining": "A48", "business": "A49",
    # The platform's own purposes (caas.credit.applications.PURPOSES). A vehicle of unknown age
    # counts as a new car, the more common (and riskier) of the two in the data.
    "business_expansion": "A49", "working_capital": "A49", "vehicle": "A40",
    # "vacation" (A47) does not occur in the data: it and everything else count as "others".
    "vacation": "A410", "debt_consolidation": "A410", "medical": "A410", "personal": "A410", "other": "A410",
}
HOUSING = {"rent": "A151", "own": "A152", "free": "A153"}
CREDIT_HISTORY = {"no_credits": "A30", "all_paid_here": "A31", "paid_duly": "A32", "delayed": "A33",
                  "critical": "A34"}
SAVINGS_BANDS = {"none": "A65", "under_100dm": "A61", "100_500dm": "A62", "500_1000dm": "A63",
                 "over_1000dm": "A64"}
CHECKING_BANDS = {"none": "A14", "negative": "A11", "under_200dm": "A12", "over_200dm": "A13"}
GUARANTORS = {"none": "A101", "co_applicant": "A102", "guarantor": "A103"}
PROPERTY = {"real_estate": "A121", "savings_insurance": "A122", "car_other": "A123", "none": "A124"}
OTHER_PLANS = {"bank": "A141", "stores": "A142", "none": "A143"}
JOBS = {"unskilled_non_resident": "A171", "unskilled": "A172", "skilled": "A173", "management": "A174"}
EMPLOYMENT_STATUSES = {"employed", "self_employed", "unemployed", "student", "retired"}
JOB_BY_STATUS = {"employed": "A173", "self_employed": "A174", "unemployed": "A171"}


def _choice(app: Mapping, field: str, table: Mapping[str, str]) -> str | None:
    value = app.get(field)
    if value is None or value == "":
        return None
    key = "_".join(str(value).strip().lower().replace("-", " ").split())  # "Home improvement" too
    if key not in table:
        raise FeatureError(f"{field}: unknown value {value!r}; expected one of {', '.join(sorted(table))}")
    return table[key]


def _number(app: Mapping, field: str, *, minimum: float | None = 0) -> float | None:
    value = app.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FeatureError(f"{field}: expected a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise FeatureError(f"{field}: must be at least {minimum}, got {value}")
    return value


def _clamp(value: float, low: int, high: int) -> int:
    return int(min(high, max(low, round(value))))


def _in_dm(app: Mapping, field: str) -> float | None:
    """An amount of the application as 1970s DM, scaled by the applicant's monthly net income."""
    amount = _number(app, field, minimum=None)
    income = _number(app, "monthly_net_income_minor")
    if amount is None or not income:
        return None
    return amount / income * REFERENCE_MONTHLY_INCOME_DM


def _age(app: Mapping, as_of: date | None) -> int | None:
    age = _number(app, "age")
    if age is None and app.get("date_of_birth"):
        born = app["date_of_birth"]
        if isinstance(born, str):
            try:
                born = date.fromisoformat(born)
            except ValueError:
                raise FeatureError(f"date_of_birth: not a date: {born!r}") from None
        today = as_of or date.today()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return None if age is None else _clamp(age, 19, 75)


def _instalment_rate(app: Mapping) -> int | None:
    """A8 as coded 1..4, read in the order german.doc lists it: 1 under 20% of disposable income,
    2 20-25%, 3 25-35%, 4 35% and over (or nothing disposable). The observed bad rate rises with
    the code, which this order agrees with; Grömping (2019) reads the codes the other way round."""
    income = _number(app, "monthly_net_income_minor")
    if not income:
        return None
    payment = _number(app, "monthly_payment_minor")
    if payment is None:
        amount, term = _number(app, "amount_minor"), _number(app, "term_months", minimum=1)
        if amount is None or term is None:
            return None
        payment = amount / term  # principal only: the rate is not known when scoring
    disposable = income - (_number(app, "monthly_expenses_minor") or 0) - (
        _number(app, "existing_debt_payments_minor") or 0)
    if disposable <= 0:
        return 4
    share = payment / disposable
    return 1 if share < 0.20 else 2 if share < 0.25 else 3 if share < 0.35 else 4


def _employment(app: Mapping) -> tuple[str | None, str | None]:
    status = app.get("employment_status")
    if status is None or status == "":
        return None, _choice(app, "job", JOBS)
    status = str(status).strip().lower()
    if status not in EMPLOYMENT_STATUSES:
        raise FeatureError(f"employment_status: unknown value {app['employment_status']!r}; "
                           f"expected one of {', '.join(sorted(EMPLOYMENT_STATUSES))}")
    job = _choice(app, "job", JOBS) or JOB_BY_STATUS.get(status)
    if status == "unemployed":
        return "A71", job
    months = _number(app, "months_employed")
    if status not in ("employed", "self_employed") or months is None:
        return None, job
    return ("A72" if months < 12 else "A73" if months < 48 else "A74" if months < 84 else "A75"), job


def _savings(app: Mapping) -> str | None:
    band = _choice(app, "savings_band", SAVINGS_BANDS)
    dm = _in_dm(app, "savings_minor")
    if band is not None or dm is None:
        return band
    return "A61" if dm < 100 else "A62" if dm < 500 else "A63" if dm < 1000 else "A64"


def _checking(app: Mapping) -> str | None:
    band = _choice(app, "checking_band", CHECKING_BANDS)
    dm = _in_dm(app, "checking_balance_minor")
    if band is not None or dm is None:
        return band
    return "A11" if dm < 0 else "A12" if dm < 200 else "A13"


def application_attributes(app: Mapping, *, as_of: date | None = None) -> dict[str, Value]:
    """The model's attributes (A1..A19 without A9) of an application-like dict; see the module
    docstring and docs/scoring.md for the fields. ``as_of`` dates the age (default: today)."""
    employment, job = _employment(app)
    amount_dm = _in_dm(app, "amount_minor")
    term = _number(app, "term_months", minimum=1)
    credits = _number(app, "existing_credits")
    dependants = _number(app, "dependants")
    months_at_address = _number(app, "months_at_address")
    housing = _choice(app, "housing", HOUSING)
    property_code = _choice(app, "property", PROPERTY) or ("A121" if housing == "A152" else None)
    plans = _choice(app, "other_instalment_plans", OTHER_PLANS)
    debt = _number(app, "existing_debt_payments_minor")
    if plans is None and debt is not None:
        plans = "A141" if debt > 0 else "A143"
    phone = app.get("has_phone")
    attributes: dict[str, Value] = {
        "A1": _checking(app),
        "A2": None if term is None else _clamp(term, 4, 72),
        "A3": _choice(app, "credit_history", CREDIT_HISTORY),
        "A4": _choice(app, "purpose", PURPOSES),
        "A5": None if amount_dm is None else _clamp(amount_dm, 250, 18424),
        "A6": _savings(app),
        "A7": employment,
        "A8": _instalment_rate(app),
        "A10": _choice(app, "other_debtors", GUARANTORS),
        "A11": None if months_at_address is None else (
            1 if months_at_address < 12 else 2 if months_at_address < 48 else 3 if months_at_address < 84 else 4),
        "A12": property_code,
        "A13": _age(app, as_of),
        "A14": plans,
        "A15": housing,
        "A16": None if credits is None else _clamp(credits, 1, 4),
        "A17": job,
        "A18": None if dependants is None else (1 if dependants <= 1 else 2),
        "A19": None if phone is None else ("A192" if phone else "A191"),
    }
    assert set(attributes) == set(MODEL_ATTRIBUTES)  # never a protected attribute
    return attributes
