"""The scoring job's view of the scorecard (caas.credit.scorecard): an application and its
profile as the application-like dict the feature mapping reads, and a prediction from the stored
model's JSON. docs/scoring.md lists the fields and what a deployment should fill from a bureau."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from caas.credit.scorecard.features import application_attributes
from caas.credit.scorecard.model import Scorecard


@dataclass(frozen=True)
class Result:
    pd: Decimal
    score: int
    grade: str
    reasons: list[dict]


def features(application, profile, today: date) -> dict:
    """The model's attributes (JSON values), stored with the decision so it can be reproduced."""
    return application_attributes({
        "amount_minor": application.amount_minor, "term_months": application.term_months,
        "purpose": application.purpose, "monthly_payment_minor": application.indicative_instalment_minor,
        "employment_status": profile.employment_status, "months_employed": profile.months_employed,
        "monthly_net_income_minor": profile.monthly_net_income_minor,
        "monthly_expenses_minor": profile.monthly_expenses_minor,
        "existing_debt_payments_minor": profile.existing_debt_payments_minor, "housing": profile.housing,
        "date_of_birth": profile.date_of_birth.isoformat(), "has_phone": bool(profile.phone),
    }, as_of=today)


_cache: dict[str, Scorecard] = {}


def model(artifact: dict) -> Scorecard:
    """The scorecard of a stored artifact, parsed once per process per version."""
    version = artifact.get("version") or ""
    card = _cache.get(version) if version else None
    if card is None:
        card = Scorecard.from_dict(artifact)
        _cache.clear()
        _cache[card.version] = card
    return card


def predict(artifact: dict, attributes: dict) -> Result:
    prediction = model(artifact).predict(attributes)
    return Result(pd=Decimal(str(round(prediction.pd, 6))), score=prediction.score, grade=prediction.grade,
                  reasons=[{"code": r.code, "text": r.text, "impact": round(r.impact, 4)} for r in prediction.reasons])
