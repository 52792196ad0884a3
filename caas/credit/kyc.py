"""Pure checks of KYC data: national id formats by country, age, phone, income consistency."""
from __future__ import annotations

import re
from datetime import date

# Country-aware national id formats. NG: an 11-digit BVN or NIN. Others as documented by their
# registries; unknown countries get a generic check.
NATIONAL_ID_FORMATS: dict[str, tuple[re.Pattern, str]] = {
    "NG": (re.compile(r"^\d{11}$"), "Enter your 11-digit BVN or NIN."),
    "GH": (re.compile(r"^GHA-\d{9}-\d$"), "Enter your Ghana Card number, e.g. GHA-123456789-0."),
    "KE": (re.compile(r"^\d{7,8}$"), "Enter your 7 or 8-digit national ID number."),
    "ZA": (re.compile(r"^\d{13}$"), "Enter your 13-digit ID number."),
}
GENERIC_ID = (re.compile(r"^[A-Z0-9-]{5,20}$"), "Enter your national ID (5–20 letters, digits or hyphens).")
PHONE_RE = re.compile(r"^\+?[1-9]\d{7,14}$")
EMPLOYMENT = ("employed", "self_employed", "unemployed", "student", "retired")
HOUSING = ("own", "rent", "free")


def national_id_problem(country: str, value: str) -> str | None:
    pattern, message = NATIONAL_ID_FORMATS.get(country.upper(), GENERIC_ID)
    return None if pattern.match(value.strip().upper()) else message


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def phone_problem(value: str) -> str | None:
    cleaned = re.sub(r"[\s()-]", "", value)
    return None if PHONE_RE.match(cleaned) else "Enter a phone number with country code, e.g. +2348012345678."


def affordability_problem(income_minor: int, expenses_minor: int, debts_minor: int) -> str | None:
    if income_minor <= 0:
        return None  # no income is allowed (students, unemployed); scoring weighs it
    if expenses_minor + debts_minor > income_minor * 3:
        return "Expenses and debt payments look inconsistent with your income; please check them."
    return None
