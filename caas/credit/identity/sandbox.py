"""The sandbox identity provider: documented rules on the id's last digit, so every path of the
verification and of scoring can be walked in development, tests and demos without a registry.

    ends in 9  mismatched  (the record holds another name and date of birth)
    ends in 8  not_found   (no such id)
    ends in 7  error       (the provider is "down": scoring retries, then scoring_failed)
    otherwise  matched     (the record holds exactly what the borrower gave)

The reference is deterministic (``sbx_`` + a hash of country, id type and number), so a repeated
check gives the same reference. ``calls`` counts the checks, for tests.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from caas.credit.identity import matching
from caas.credit.identity.base import IdentityResult, Status, stable_reference

# The "other person" an id ending in 9 belongs to.
MISMATCH_RECORD = ("Ngozi Sandbox-Record", date(1970, 1, 1))


class SandboxVerifier:
    name = "sandbox"

    def __init__(self, threshold: Decimal = matching.DEFAULT_THRESHOLD):
        self.threshold = threshold
        self.calls = 0

    def verify(self, country: str, id_type: str, id_number: str, legal_name: str,
               date_of_birth: date) -> IdentityResult:
        self.calls += 1
        number = id_number.strip().upper()
        reference = stable_reference("sbx", country.upper(), id_type, number)
        last = number[-1:]
        if last == "7":
            return IdentityResult(Status.error, self.name, None,
                                  raw_summary={"code": "sandbox_unavailable", "detail": "ids ending in 7 fail"})
        if last == "8":
            return IdentityResult(Status.not_found, self.name, reference,
                                  raw_summary={"code": "not_found", "detail": "ids ending in 8 do not exist"})
        record_name, record_dob = MISMATCH_RECORD if last == "9" else (legal_name, date_of_birth)
        match = matching.compare(legal_name, date_of_birth, record_name, record_dob, self.threshold)
        return IdentityResult(Status.matched if match.matched else Status.mismatched, self.name, reference,
                              match.name_score, match.dob_match,
                              {"code": "found", "detail": "sandbox record"})
