"""Borrower profile and KYC data, validated field by field (every bad field is reported)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from caas.core import tenant
from caas.core.errors import DomainError
from caas.credit import kyc
from caas.credit.models import BorrowerProfile
from caas.money import to_minor
from caas.tenancy.models import Client, User

MIN_AGE = 18


@dataclass
class ProfileInput:
    legal_name: str
    date_of_birth: date | str | None
    phone: str
    address: str
    national_id: str
    employment_status: str
    employer: str | None
    months_employed: int | str | None
    monthly_net_income: Decimal | str | None
    monthly_expenses: Decimal | str | None
    existing_debt_payments: Decimal | str | None
    housing: str


def _amount(value, field: str, currency: str, errors: dict) -> int | None:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, AttributeError):
        errors[field] = "Enter an amount, e.g. 150000.00."
        return None
    if amount < 0:
        errors[field] = "The amount cannot be negative."
        return None
    try:
        return to_minor(amount, currency)
    except Exception:
        errors[field] = "Too many decimal places for this currency."
        return None


def validate(values: ProfileInput, client: Client, today: date) -> dict:
    """Return the cleaned values, or raise one DomainError listing every bad field."""
    errors: dict[str, str] = {}
    clean: dict = {}
    clean["legal_name"] = (values.legal_name or "").strip()
    if len(clean["legal_name"]) < 2:
        errors["legal_name"] = "Enter your full legal name."
    born = values.date_of_birth
    if isinstance(born, str):
        try:
            born = date.fromisoformat(born)
        except ValueError:
            born = None
            errors["date_of_birth"] = "Enter a date as YYYY-MM-DD."
    if born is None and "date_of_birth" not in errors:
        errors["date_of_birth"] = "Enter your date of birth."
    elif born is not None:
        if born > today:
            errors["date_of_birth"] = "The date of birth is in the future."
        elif kyc.age_on(born, today) < MIN_AGE:
            errors["date_of_birth"] = f"You must be at least {MIN_AGE} years old."
        elif kyc.age_on(born, today) > 120:
            errors["date_of_birth"] = "Check the year of birth."
    clean["date_of_birth"] = born
    if problem := kyc.phone_problem(values.phone or ""):
        errors["phone"] = problem
    clean["phone"] = "".join(ch for ch in (values.phone or "") if ch.isdigit() or ch == "+")
    clean["address"] = (values.address or "").strip()
    if len(clean["address"]) < 5:
        errors["address"] = "Enter your address."
    clean["national_id"] = (values.national_id or "").strip().upper()
    if problem := kyc.national_id_problem(client.country, clean["national_id"]):
        errors["national_id"] = problem
    if values.employment_status not in kyc.EMPLOYMENT:
        errors["employment_status"] = "Choose your employment status."
    clean["employment_status"] = values.employment_status
    clean["employer"] = (values.employer or "").strip() or None
    if values.employment_status in ("employed", "self_employed") and not clean["employer"]:
        errors["employer"] = "Enter your employer (or your business name)."
    try:
        clean["months_employed"] = int(values.months_employed or 0)
        if not 0 <= clean["months_employed"] <= 720:
            raise ValueError
    except (TypeError, ValueError):
        errors["months_employed"] = "Enter whole months from 0 to 720."
    currency = client.default_currency
    clean["currency"] = currency
    for field in ("monthly_net_income", "monthly_expenses", "existing_debt_payments"):
        clean[f"{field}_minor"] = _amount(getattr(values, field), field, currency, errors)
    if values.housing not in kyc.HOUSING:
        errors["housing"] = "Choose own, rent or free."
    clean["housing"] = values.housing
    if not errors and (problem := kyc.affordability_problem(clean["monthly_net_income_minor"],
                                                            clean["monthly_expenses_minor"],
                                                            clean["existing_debt_payments_minor"])):
        errors["monthly_expenses"] = problem
    if errors:
        first = next(iter(errors))
        error = DomainError("invalid_profile", errors[first], first)
        error.fields = errors  # type: ignore[attr-defined]
        raise error
    clean["country"] = client.country
    return clean


def save(session: Session, user: User, client: Client, values: ProfileInput, today: date) -> BorrowerProfile:
    """Create or update the borrower's profile (tenant in scope). Nothing is saved if any field is bad."""
    clean = validate(values, client, today)
    profile = tenant.get_visible(session, BorrowerProfile, user.id)
    if profile is None:
        profile = BorrowerProfile(user_id=user.id, client_id=client.id)
        session.add(profile)
    for name, value in clean.items():
        setattr(profile, name, value)
    session.flush()
    return profile


def get(session: Session, user_id) -> BorrowerProfile | None:
    return tenant.get_visible(session, BorrowerProfile, user_id)
