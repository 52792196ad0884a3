"""The identity-verification adapter interface: one question (is this national id this person?),
four answers.

``matched``     the registry has the id, and the name and date of birth agree with it;
``mismatched``  the registry has the id, but the name or the date of birth differ (or the
                registry flags the id as blocked);
``not_found``   the registry has no such id;
``error``       no answer now (timeout, provider down, bad credentials, unexpected reply).
                Never read as a pass: the scoring job retries and never approves without a result.

Adapters compare names and dates with ``caas.credit.identity.matching`` so every provider is judged
by the same rule. ``raw_summary`` keeps the provider's codes and messages, never the record's
personal data.
"""
from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol


class Status(str, enum.Enum):
    matched = "matched"
    mismatched = "mismatched"
    not_found = "not_found"
    error = "error"


@dataclass(frozen=True)
class IdentityResult:
    status: Status
    provider: str
    reference: str | None = None  # the provider's own reference for this check, for disputes and audits
    name_match_score: Decimal | None = None
    dob_match: bool | None = None
    raw_summary: dict[str, Any] = field(default_factory=dict)

    @property
    def definitive(self) -> bool:
        return self.status is not Status.error


class IdentityVerifier(Protocol):
    name: str

    def verify(self, country: str, id_type: str, id_number: str, legal_name: str,
               date_of_birth: date) -> IdentityResult:
        """Ask the registry once. Never raises for provider trouble: that is ``Status.error``."""


def stable_reference(prefix: str, *parts: str) -> str:
    """A deterministic reference from the inputs (the sandbox's, so a replay gives the same one)."""
    return f"{prefix}_{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:20]}"
