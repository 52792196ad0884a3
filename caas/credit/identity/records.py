"""Identity checks stored on the borrower's KYC record, and the one operation that makes them.

``verify_profile`` is idempotent: a check is stored under a keyed fingerprint of (country, id,
normalised name, date of birth), unique per borrower, so the same details are never sent to the
provider twice (a second delivery of the scoring job, a retry after a later failure, a second
application). Changed details make a new fingerprint and a new check. Two deliveries at the same
moment queue on a transaction-scoped advisory lock of the fingerprint, and the second finds the
first one's row. Provider errors store nothing and raise ``IdentityUnavailable``.
"""
from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caas.credit.identity.base import IdentityResult, IdentityVerifier, Status
from caas.credit.identity.models import IdentityVerification
from caas.credit.models import BorrowerProfile
from caas.screening.names import normalise

# Which ids a country's national_id may be, in the order they are asked. A Nigerian borrower gives
# "BVN or NIN" (both 11 digits, not told apart by format): the BVN is asked first, the NIN when the
# BVN registry has no such number.
ID_TYPES = {"NG": ("BVN", "NIN"), "GH": ("GHANA_CARD",), "KE": ("NATIONAL_ID",), "ZA": ("NATIONAL_ID",)}
DEFAULT_ID_TYPES = ("NATIONAL_ID",)


class IdentityUnavailable(RuntimeError):
    """The provider gave no answer (``Status.error``). Nothing is stored; the caller retries later."""

    def __init__(self, result: IdentityResult):
        code = result.raw_summary.get("code", "error")
        super().__init__(f"{result.provider}: {code}")
        self.result = result
        self.code = code


@dataclass(frozen=True)
class Details:
    """What the borrower gave, as the check is asked and fingerprinted."""

    country: str
    id_number: str
    legal_name: str
    date_of_birth: date

    @classmethod
    def of(cls, profile: BorrowerProfile) -> "Details":
        return cls(profile.country.upper(), profile.national_id.strip().upper(), profile.legal_name,
                   profile.date_of_birth)


def id_types_for(country: str) -> tuple[str, ...]:
    return ID_TYPES.get(country.upper(), DEFAULT_ID_TYPES)


def mask(id_number: str) -> str:
    """All but the last four characters hidden: ``22345678901`` → ``*******8901``."""
    number = id_number.strip()
    return "*" * max(0, len(number) - 4) + number[-4:]


def fingerprint(key: str | bytes, details: Details) -> str:
    """HMAC-SHA256 of the details: equal details give equal prints, and without the key a print
    does not give the (short, guessable) id number away."""
    key = key.encode() if isinstance(key, str) else key
    message = "|".join((details.country, details.id_number, normalise(details.legal_name),
                        details.date_of_birth.isoformat()))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def stored(session: Session, user_id: uuid.UUID, print_: str) -> IdentityVerification | None:
    return session.scalar(select(IdentityVerification).where(IdentityVerification.user_id == user_id,
                                                             IdentityVerification.fingerprint == print_))


def current_for(session: Session, profile: BorrowerProfile, key: str | bytes) -> IdentityVerification | None:
    """The check of the profile's present details, if one was made (tenant in scope)."""
    return stored(session, profile.user_id, fingerprint(key, Details.of(profile)))


def verify_profile(session: Session, profile: BorrowerProfile, verifier: IdentityVerifier,
                   key: str | bytes) -> IdentityVerification:
    """The stored check of the profile's details, or a new one from the provider (tenant in scope;
    flushes, never commits). Raises ``IdentityUnavailable`` when the provider has no answer."""
    details = Details.of(profile)
    print_ = fingerprint(key, details)
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"identity:{print_}", 0))))
    found = stored(session, profile.user_id, print_)
    if found is not None:
        return found
    tried: list[str] = []
    for id_type in id_types_for(details.country):
        tried.append(id_type)
        result = verifier.verify(details.country, id_type, details.id_number, details.legal_name,
                                 details.date_of_birth)
        if result.status is Status.error:
            raise IdentityUnavailable(result)
        if result.status is not Status.not_found:
            break
    row = IdentityVerification(
        id=uuid.uuid4(), client_id=profile.client_id, user_id=profile.user_id, provider=result.provider,
        reference=result.reference, status=result.status.value, country=details.country,
        id_type=tried[-1] if result.status is not Status.not_found else "/".join(tried),
        id_number_masked=mask(details.id_number), fingerprint=print_, name_match_score=result.name_match_score,
        dob_match=result.dob_match, summary={**result.raw_summary, "asked": tried})
    session.add(row)
    session.flush()
    return row


def shown_for(session: Session, profile: BorrowerProfile | None, decision_inputs: dict | None,
              key: str | bytes) -> IdentityVerification | None:
    """The check an admin sees beside an application: the one its decision used, else the check
    of the borrower's present details (tenant in scope)."""
    used = (decision_inputs or {}).get("identity") or {}
    if used.get("verification_id"):
        return session.get(IdentityVerification, uuid.UUID(used["verification_id"]))
    return current_for(session, profile, key) if profile is not None else None
