"""Pure comparison of what the borrower gave (legal name, date of birth) with the identity record a
registry holds. No I/O: the adapters fetch the record, this decides whether it is the same person.

- Names are normalised as for sanctions screening (``caas.screening.names.normalise``: case, accents
  and other scripts via anyascii, punctuation) and compared with rapidfuzz's token-set ratio, which
  ignores word order and a middle name the borrower left out ("Adaeze Okoro" = "OKORO Adaeze Chioma").
- One shared word is not enough: with fewer than two words in common the score is capped by the
  token-sort ratio over all words, so a shared surname ("Emeka Okoro" against "Adaeze Okoro") does
  not pass as a subset, while a typo in one word ("Adaze Okoro") still scores high.
- The date of birth must be equal. Registries write it in several ways ("1990-04-12", "12-04-1990",
  "12-Apr-1990", "12 APR 1990"); ``parse_date`` reads those.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from rapidfuzz import fuzz

from caas.screening.names import normalise

DEFAULT_THRESHOLD = Decimal("85")
DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d-%b-%Y", "%d %b %Y", "%d/%m/%Y", "%Y/%m/%d")


@dataclass(frozen=True)
class Match:
    name_score: Decimal  # 0–100, two decimals
    dob_match: bool
    matched: bool


def name_score(given: str, on_record: str) -> Decimal:
    """Similarity 0–100 of two names, independent of word order, case, accents and punctuation."""
    a, b = normalise(given or ""), normalise(on_record or "")
    if not a or not b:
        return Decimal("0.00")
    score = fuzz.token_set_ratio(a, b)
    if len(set(a.split()) & set(b.split())) < 2:
        score = min(score, fuzz.token_sort_ratio(a, b))
    return Decimal(str(score)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def parse_date(text: str | None) -> date | None:
    """A registry's date of birth, or None when it is missing or unreadable (which never matches)."""
    value = (text or "").strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def compare(legal_name: str, date_of_birth: date, record_name: str, record_dob: date | None,
            threshold: Decimal = DEFAULT_THRESHOLD) -> Match:
    score = name_score(legal_name, record_name)
    dob_match = record_dob is not None and record_dob == date_of_birth
    return Match(score, dob_match, score >= threshold and dob_match)


def full_name(*parts: str | None) -> str:
    """Join a record's first, middle and last names, skipping the empty ones."""
    return " ".join(p.strip() for p in parts if p and p.strip())
