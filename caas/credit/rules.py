"""Pure steps of a credit decision: KYC checks, the client's policy rules, and the decision itself.
Each result is a small dict (code, passed, detail) so that it can be stored and shown as it was."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from caas.credit import kyc

GRADE_ORDER = "ABCDE"


@dataclass(frozen=True)
class Check:
    code: str
    passed: bool
    detail: str

    def as_dict(self) -> dict:
        return {"code": self.code, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class ProfileFacts:
    country: str
    national_id: str
    date_of_birth: date
    monthly_net_income_minor: int
    monthly_expenses_minor: int
    existing_debt_payments_minor: int
    currency: str


@dataclass(frozen=True)
class PolicyFacts:
    currencies: tuple[str, ...]
    min_amount_minor: int
    max_amount_minor: int
    allowed_terms: tuple[int, ...]
    max_debt_to_income: Decimal
    min_age: int
    auto_decline_below_grade: str


@dataclass(frozen=True)
class IdentityFacts:
    """A stored identity check (caas.credit.identity): never an error, which has no result."""

    status: str  # matched | mismatched | not_found
    provider: str
    reference: str | None
    id_type: str
    name_match_score: Decimal | None
    dob_match: bool | None
    blocked: bool = False


@dataclass(frozen=True)
class Request:
    amount_minor: int
    currency: str
    term_months: int
    monthly_payment_minor: int  # from the loan maths at the client's reference rate


def kyc_checks(profile: ProfileFacts, today: date) -> list[Check]:
    id_problem = kyc.national_id_problem(profile.country, profile.national_id)
    age = kyc.age_on(profile.date_of_birth, today)
    afford = kyc.affordability_problem(profile.monthly_net_income_minor, profile.monthly_expenses_minor,
                                       profile.existing_debt_payments_minor)
    return [
        Check("KYC_ID_FORMAT", id_problem is None, id_problem or f"{profile.country} id format valid"),
        Check("KYC_AGE_KNOWN", 0 < age < 120, f"age {age}"),
        Check("KYC_INCOME_CONSISTENT", afford is None, afford or "stated income and outgoings are consistent"),
    ]


def policy_rules(profile: ProfileFacts, policy: PolicyFacts, request: Request, today: date) -> list[Check]:
    age = kyc.age_on(profile.date_of_birth, today)
    income = profile.monthly_net_income_minor
    debt = profile.existing_debt_payments_minor + request.monthly_payment_minor
    dti = (Decimal(debt) / Decimal(income)).quantize(Decimal("0.0001")) if income > 0 else None
    return [
        Check("POLICY_MIN_AGE", age >= policy.min_age, f"age {age}, minimum {policy.min_age}"),
        Check("POLICY_CURRENCY", request.currency in policy.currencies, f"{request.currency} allowed: "
              f"{', '.join(policy.currencies)}"),
        Check("POLICY_AMOUNT", policy.min_amount_minor <= request.amount_minor <= policy.max_amount_minor,
              f"{request.amount_minor} within {policy.min_amount_minor}–{policy.max_amount_minor}"),
        Check("POLICY_TERM", request.term_months in policy.allowed_terms, f"{request.term_months} months"),
        Check("POLICY_DTI", dti is not None and dti <= policy.max_debt_to_income,
              f"debt-to-income {dti if dti is not None else 'n/a (no income)'}, maximum {policy.max_debt_to_income}"),
    ]


def identity_check(facts: IdentityFacts | None) -> Check | None:
    """The client's "identity verified" rule. None when the policy does not require it (skipped).
    Matched passes; mismatched or not found fails, and ``decide`` refers it to a person."""
    if facts is None:
        return None
    ref = f" (ref {facts.reference})" if facts.reference else ""
    if facts.status == "matched":
        return Check("KYC_IDENTITY_VERIFIED", True, f"{facts.id_type} matched by {facts.provider}{ref}")
    if facts.status == "not_found":
        return Check("KYC_IDENTITY_VERIFIED", False, f"{facts.provider} found no {facts.id_type} with this number{ref}")
    if facts.status == "mismatched":
        if facts.blocked:
            why = "the registry flags this id as blocked"
        else:
            why = ", ".join(part for part in (
                f"name similarity {facts.name_match_score} of 100" if facts.name_match_score is not None else "",
                "date of birth differs" if facts.dob_match is False else "") if part) or "details differ"
        return Check("KYC_IDENTITY_VERIFIED", False,
                     f"{facts.id_type} does not match the {facts.provider} record: {why}{ref}")
    raise ValueError(f"no identity rule for status {facts.status!r}: an error is not a result")


@dataclass
class Outcome:
    outcome: str  # approve | decline | refer
    reasons: list[dict] = field(default_factory=list)


def decide(kyc_results: list[Check], hits: list[dict], rule_results: list[Check], grade: str | None,
           score_reasons: list[dict], policy: PolicyFacts, identity: Check | None = None) -> Outcome:
    """The order matters and is the issue's: KYC, sanctions, policy, scorecard.

    - a failed KYC check declines; a possible sanctions hit, or an identity the provider could not
      verify (when the client requires it), refers to a person with the hit or the reason shown;
    - a failed policy rule declines with its code;
    - a grade worse than the client's cut-off declines with the scorecard's adverse-action reasons;
      the grade exactly at the cut-off is referred (borderline); better grades are approved.
    """
    failed_kyc = [c for c in kyc_results if not c.passed]
    if failed_kyc:
        return Outcome("decline", [{"code": c.code, "text": c.detail} for c in failed_kyc])
    referrals = []
    if hits:
        referrals.append({"code": "SANCTIONS_POSSIBLE_MATCH",
                          "text": f"possible match with {hits[0]['matched_name']} (score {hits[0]['score']})"})
    if identity is not None and not identity.passed:
        referrals.append({"code": "IDENTITY_NOT_VERIFIED", "text": identity.detail})
    if referrals:
        return Outcome("refer", referrals)
    failed_rules = [c for c in rule_results if not c.passed]
    if failed_rules:
        return Outcome("decline", [{"code": c.code, "text": c.detail} for c in failed_rules])
    cutoff = GRADE_ORDER.index(policy.auto_decline_below_grade)
    position = GRADE_ORDER.index(grade) if grade else len(GRADE_ORDER)
    if position > cutoff:
        return Outcome("decline", score_reasons[:4])
    if position == cutoff and cutoff < len(GRADE_ORDER) - 1:
        return Outcome("refer", [{"code": "SCORE_BORDERLINE", "text": f"grade {grade} at the client's cut-off"}])
    return Outcome("approve", [])
