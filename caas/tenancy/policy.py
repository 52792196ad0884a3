"""The client's credit policy: defaults at onboarding, validated updates."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core.errors import DomainError
from caas.money import CURRENCY_EXPONENTS, describe
from caas.tenancy.models import CreditPolicy

GRADES = ("A", "B", "C", "D", "E")


@dataclass
class PolicyInput:
    currencies: list[str]
    min_amount_minor: int
    max_amount_minor: int
    allowed_terms: list[int]
    max_debt_to_income: Decimal
    min_age: int
    auto_decline_below_grade: str
    bidding_window_hours: int
    write_off_days_past_due: int
    reference_annual_rate: Decimal
    acceptance_window_hours: int = 48  # after bidding closes with offers, the borrower's time to accept
    # servicing: one late fee per missed instalment, penalty interest a year on overdue principal
    # (charged once per month late; 0 = off), and what happens to money left when a loan closes
    late_fee_minor: int = 0
    penalty_annual_rate: Decimal = Decimal("0")
    overpayment: str = "refund"
    # scoring verifies the borrower's BVN/NIN with the identity provider first; a mismatch refers
    require_identity_verification: bool = False
    errors: dict[str, str] = field(default_factory=dict, repr=False)


def default_policy(currency: str) -> PolicyInput:
    """A prudent starting policy in the client's currency; the client edits it later."""
    unit = 10 ** CURRENCY_EXPONENTS[currency]
    return PolicyInput(
        currencies=[currency], min_amount_minor=10_000 * unit, max_amount_minor=5_000_000 * unit,
        allowed_terms=[3, 6, 9, 12, 18, 24], max_debt_to_income=Decimal("0.40"), min_age=18,
        auto_decline_below_grade="E", bidding_window_hours=72, write_off_days_past_due=180,
        reference_annual_rate=Decimal("0.24"),
    )


def validate(policy: PolicyInput) -> None:
    """Raise DomainError for the first bad field (forms show it at that field)."""
    problems = []
    if not policy.currencies or any(c not in CURRENCY_EXPONENTS for c in policy.currencies):
        problems.append(("currencies", "Use ISO 4217 codes we support, e.g. NGN, USD."))
    if policy.min_amount_minor <= 0:
        problems.append(("min_amount", "The minimum amount must be above zero."))
    if policy.max_amount_minor < policy.min_amount_minor:
        problems.append(("max_amount", "The maximum must be at least the minimum."))
    if not policy.allowed_terms or any(t < 1 or t > 360 for t in policy.allowed_terms):
        problems.append(("allowed_terms", "Terms are whole months from 1 to 360."))
    if not (Decimal("0") < policy.max_debt_to_income <= Decimal("1")):
        problems.append(("max_debt_to_income", "Use a ratio above 0 and at most 1 (e.g. 0.40)."))
    if not 18 <= policy.min_age <= 100:
        problems.append(("min_age", "The minimum age is from 18 to 100."))
    if policy.auto_decline_below_grade not in GRADES:
        problems.append(("auto_decline_below_grade", "Choose a grade from A to E."))
    if not 1 <= policy.bidding_window_hours <= 24 * 30:
        problems.append(("bidding_window_hours", "From 1 hour to 30 days."))
    if not 1 <= policy.acceptance_window_hours <= 24 * 30:
        problems.append(("acceptance_window_hours", "From 1 hour to 30 days."))
    if not 30 <= policy.write_off_days_past_due <= 3650:
        problems.append(("write_off_days_past_due", "From 30 to 3650 days."))
    if not (Decimal("0") <= policy.reference_annual_rate <= Decimal("5")):
        problems.append(("reference_annual_rate", "Use a yearly rate from 0 to 500%."))
    if policy.late_fee_minor < 0:
        problems.append(("late_fee", "A late fee cannot be negative (0 for none)."))
    if not (Decimal("0") <= policy.penalty_annual_rate <= Decimal("5")):
        problems.append(("penalty_annual_rate", "Use a yearly rate from 0 (none) to 500%."))
    elif policy.penalty_annual_rate != policy.penalty_annual_rate.quantize(Decimal("0.000001")):
        problems.append(("penalty_annual_rate", "Use at most 4 decimals of a percent."))
    if policy.overpayment not in ("refund", "hold_credit"):
        problems.append(("overpayment", "Choose to refund an overpayment or to hold it as credit."))
    if problems:
        err = DomainError("invalid_policy", problems[0][1], problems[0][0])
        err.fields = dict(problems)  # type: ignore[attr-defined]
        raise err


def parse_decimal(value: str, name: str) -> Decimal:
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise DomainError("invalid_number", "Enter a number.", name) from None


def snapshot(policy: CreditPolicy) -> dict:
    return {
        "currencies": list(policy.currencies), "min_amount_minor": policy.min_amount_minor,
        "max_amount_minor": policy.max_amount_minor, "allowed_terms": list(policy.allowed_terms),
        "max_debt_to_income": str(policy.max_debt_to_income), "min_age": policy.min_age,
        "auto_decline_below_grade": policy.auto_decline_below_grade,
        "bidding_window_hours": policy.bidding_window_hours,
        "acceptance_window_hours": policy.acceptance_window_hours,
        "write_off_days_past_due": policy.write_off_days_past_due,
        "reference_annual_rate": str(policy.reference_annual_rate),
        "late_fee_minor": policy.late_fee_minor, "penalty_annual_rate": str(policy.penalty_annual_rate),
        "overpayment": policy.overpayment, "require_identity_verification": policy.require_identity_verification,
    }


def save(session: Session, actor: Actor, client_id: uuid.UUID, values: PolicyInput) -> CreditPolicy:
    """Create or update the client's policy (the caller has set its tenant). Audited with before/after."""
    validate(values)
    policy = session.get(CreditPolicy, client_id)
    before = snapshot(policy) if policy else None
    if policy is None:
        policy = CreditPolicy(client_id=client_id)
        session.add(policy)
    for name in ("currencies", "min_amount_minor", "max_amount_minor", "allowed_terms", "max_debt_to_income",
                 "min_age", "auto_decline_below_grade", "bidding_window_hours", "acceptance_window_hours",
                 "write_off_days_past_due", "reference_annual_rate", "late_fee_minor", "penalty_annual_rate",
                 "overpayment", "require_identity_verification"):
        setattr(policy, name, getattr(values, name))
    session.flush()
    record(session, actor, "policy.update" if before else "policy.create", client_id=client_id,
           target_type="credit_policy", target_id=client_id, before=before, after=snapshot(policy))
    return policy


def describe_amount(minor: int, currency: str) -> str:
    return describe(minor, currency)
