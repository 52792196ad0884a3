"""Prembly IdentityPass: Nigerian BVN and NIN look-ups over its documented HTTP API.

What we follow (docs/identity.md lists the pages):
- ``POST {base}/api/v2/biometrics/merchant/data/verification/bvn`` with ``{"number": <BVN>}`` and
  ``POST {base}/api/v2/biometrics/merchant/data/verification/nin_wo_face`` with
  ``{"number_nin": <NIN>}``; headers ``x-api-key`` (the secret key) and ``app-id``.
- Base URLs: ``https://api.myidentitypass.com`` (live), ``https://sandbox.myidentitypass.com`` (test).
- The answer is JSON with ``status`` (bool), ``detail``, ``response_code`` and the record: the BVN
  holder under ``data`` (``bvn_data`` in older pages) with ``firstName``, ``middleName``,
  ``lastName``, ``dateOfBirth``; the NIN holder under ``nin_data`` (or ``data``) with
  ``firstname``, ``middlename``, ``surname``, ``birthdate``; and ``verification.reference``.
- ``response_code`` (returned inside HTTP 200 too): 00 found, 01 record not found, 02 service not
  available (retry later), 03 insufficient wallet balance, 07 BVN blocked or watch-listed.

Prembly returns the registry's record; it does not judge the match. We compare the name and date
of birth ourselves (``matching``), so every provider is held to the same rule.

Timeouts and retries: connect and read timeouts on every call. A failure to connect, an HTTP 5xx,
a 429 and response code 02 are retried (``retries`` more times, with a short backoff); a read
timeout is not retried here (Prembly may have answered, and billed, the look-up), nor is anything
else. Whatever is left is ``Status.error``: the scoring job's own retries take over.
"""
from __future__ import annotations

import logging
import time
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from caas.credit.identity import matching
from caas.credit.identity.base import IdentityResult, Status

log = logging.getLogger(__name__)

LIVE_BASE_URL = "https://api.myidentitypass.com"
SANDBOX_BASE_URL = "https://sandbox.myidentitypass.com"
PATHS = {
    "BVN": "/api/v2/biometrics/merchant/data/verification/bvn",
    "NIN": "/api/v2/biometrics/merchant/data/verification/nin_wo_face",
}
BODY_FIELD = {"BVN": "number", "NIN": "number_nin"}
# Where each id type's record sits (the first key present wins), its name parts and its date of birth.
RECORD_KEYS = {"BVN": ("data", "bvn_data"), "NIN": ("nin_data", "data")}
NAME_KEYS = {"BVN": ("firstName", "middleName", "lastName"), "NIN": ("firstname", "middlename", "surname")}
DOB_KEY = {"BVN": "dateOfBirth", "NIN": "birthdate"}


class _Retry(Exception):
    def __init__(self, summary: dict[str, Any]):
        self.summary = summary


class PremblyVerifier:
    name = "prembly"

    def __init__(self, *, api_key: str, app_id: str, base_url: str | None = None, timeout: float = 15.0,
                 connect_timeout: float = 5.0, retries: int = 1, backoff: float = 0.5,
                 threshold: Decimal = matching.DEFAULT_THRESHOLD, client: httpx.Client | None = None):
        if not api_key or not app_id:
            raise ValueError("prembly: api_key and app_id are required")
        self.api_key = api_key
        self.app_id = app_id
        self.base_url = (base_url or LIVE_BASE_URL).rstrip("/")
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.threshold = threshold
        self.client = client or httpx.Client(timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)))

    def close(self) -> None:
        self.client.close()

    def _error(self, code: str, detail: str, **extra: Any) -> IdentityResult:
        log.info("identity provider error", extra={"provider": self.name, "code": code})
        return IdentityResult(Status.error, self.name, raw_summary={"code": code, "detail": detail[:200], **extra})

    def verify(self, country: str, id_type: str, id_number: str, legal_name: str,
               date_of_birth: date) -> IdentityResult:
        id_type = id_type.upper()
        if country.upper() != "NG" or id_type not in PATHS:
            return self._error("unsupported", f"Prembly adapter verifies NG BVN and NIN, not {country} {id_type}")
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._once(id_type, id_number.strip(), legal_name, date_of_birth, attempts)
            except _Retry as retry:
                if attempts > self.retries:
                    return self._error(retry.summary.pop("code"), retry.summary.pop("detail"), attempts=attempts,
                                       **retry.summary)
                time.sleep(self.backoff * attempts)

    def _once(self, id_type: str, number: str, legal_name: str, date_of_birth: date, attempts: int) -> IdentityResult:
        headers = {"x-api-key": self.api_key, "app-id": self.app_id, "Accept": "application/json"}
        try:
            response = self.client.post(f"{self.base_url}{PATHS[id_type]}", json={BODY_FIELD[id_type]: number},
                                        headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _Retry({"code": "network", "detail": str(exc) or type(exc).__name__}) from exc
        except httpx.TimeoutException as exc:
            return self._error("timeout", str(exc) or type(exc).__name__, attempts=attempts)
        except httpx.TransportError as exc:
            return self._error("network", str(exc) or type(exc).__name__, attempts=attempts)
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        code = str(payload.get("response_code") or "")
        detail = str(payload.get("detail") or payload.get("message") or f"HTTP {response.status_code}")
        summary = {"http_status": response.status_code, "response_code": code or None, "detail": detail[:200],
                   "attempts": attempts}
        if response.status_code in (401, 403):
            return self._error("auth", detail, http_status=response.status_code, attempts=attempts)
        if response.status_code >= 500 or response.status_code == 429 or code == "02":
            raise _Retry({"code": "unavailable", "detail": detail, "http_status": response.status_code,
                          "response_code": code or None})
        if code == "01":
            return IdentityResult(Status.not_found, self.name, _reference(payload), raw_summary=summary)
        if code == "03":
            return self._error("insufficient_balance", detail, attempts=attempts)
        if code == "07":  # the registry blocks this BVN: a person must look, whatever the name says
            return IdentityResult(Status.mismatched, self.name, _reference(payload),
                                  raw_summary={**summary, "blocked": True})
        record = next((payload[k] for k in RECORD_KEYS[id_type] if isinstance(payload.get(k), dict)), None)
        if response.status_code != 200 or payload.get("status") is not True or code != "00" or record is None:
            return self._error("unexpected_response", detail, http_status=response.status_code,
                               response_code=code or None, attempts=attempts)
        first, middle, last = (record.get(k) for k in NAME_KEYS[id_type])
        record_name = matching.full_name(first, middle, last)
        if not record_name:
            return self._error("unexpected_response", "the record has no name", attempts=attempts)
        match = matching.compare(legal_name, date_of_birth, record_name,
                                 matching.parse_date(record.get(DOB_KEY[id_type])), self.threshold)
        verification = payload.get("verification") if isinstance(payload.get("verification"), dict) else {}
        summary["verification_status"] = verification.get("status")
        return IdentityResult(Status.matched if match.matched else Status.mismatched, self.name, _reference(payload),
                              match.name_score, match.dob_match, summary)


def _reference(payload: dict[str, Any]) -> str | None:
    verification = payload.get("verification")
    if isinstance(verification, dict) and verification.get("reference"):
        return str(verification["reference"])[:120]
    return None
