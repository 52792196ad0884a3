"""The Prembly IdentityPass adapter against the documented-shape fake, over real HTTP."""
from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest

from caas.credit.identity import PremblyVerifier, Status
from tests.credit.conftest import PREMBLY_APP, PREMBLY_KEY, TIMEOUT

BORN = date(1990, 4, 12)
BVN = "22345678901"


@pytest.fixture
def ada(prembly_fake):
    prembly_fake.person("BVN", BVN, "ADAEZE", "CHIOMA", "OKORO", BORN)
    prembly_fake.person("NIN", "33345678901", "ADAEZE", "", "OKORO", BORN)
    return prembly_fake


def test_a_matching_bvn_sends_the_documented_request(prembly, ada):
    result = prembly.verify("NG", "BVN", BVN, "Adaeze Okoro", BORN)
    assert (result.status, result.provider, result.name_match_score, result.dob_match) == (
        Status.matched, "prembly", Decimal("100.00"), True)
    [call] = ada.requests
    assert call["path"] == "/api/v2/biometrics/merchant/data/verification/bvn"
    assert call["body"] == {"number": BVN}
    assert (call["headers"]["X-Api-Key"], call["headers"]["App-Id"]) == (PREMBLY_KEY, PREMBLY_APP)
    assert len(result.reference) == 36  # Prembly's verification.reference is kept
    assert result.raw_summary["response_code"] == "00" and result.raw_summary["verification_status"] == "VERIFIED"
    assert "OKORO" not in str(result.raw_summary)  # the record's personal data is not kept


def test_a_nin_uses_its_own_endpoint_and_record(prembly, ada):
    result = prembly.verify("NG", "NIN", "33345678901", "Adaeze Okoro", BORN)
    assert result.status is Status.matched
    assert ada.requests[0]["path"].endswith("/nin_wo_face") and ada.requests[0]["body"] == {"number_nin": "33345678901"}


def test_another_name_or_birthday_is_a_mismatch(prembly, ada):
    by_name = prembly.verify("NG", "BVN", BVN, "Emeka Okafor", BORN)
    assert by_name.status is Status.mismatched and by_name.name_match_score < 85 and by_name.dob_match is True
    by_date = prembly.verify("NG", "BVN", BVN, "Adaeze Okoro", date(1991, 4, 12))
    assert (by_date.status, by_date.name_match_score, by_date.dob_match) == (Status.mismatched, Decimal("100.00"),
                                                                             False)


def test_unknown_number_is_not_found(prembly, ada):
    result = prembly.verify("NG", "BVN", "22345678000", "Adaeze Okoro", BORN)
    assert result.status is Status.not_found and result.raw_summary["response_code"] == "01"
    assert ada.calls[("BVN", "22345678000")] == 1


def test_a_blocked_bvn_is_a_mismatch_not_a_pass(prembly, ada):
    ada.code[BVN] = "07"
    result = prembly.verify("NG", "BVN", BVN, "Adaeze Okoro", BORN)
    assert result.status is Status.mismatched and result.raw_summary["blocked"] is True


def test_a_500_is_retried_once_then_answers(prembly, ada):
    ada.fail(500, times=1)
    result = prembly.verify("NG", "BVN", BVN, "Adaeze Okoro", BORN)
    assert result.status is Status.matched and ada.calls[("BVN", BVN)] == 2


def test_a_500_that_lasts_is_an_error_after_the_retries(prembly, ada):
    ada.fail(500, times=5)
    result = prembly.verify("NG", "BVN", BVN, "Adaeze Okoro", BORN)
    assert result.status is Status.error and result.raw_summary["code"] == "unavailable"
    assert result.raw_summary["http_status"] == 500 and ada.calls[("BVN", BVN)] == 2  # 1 + retries=1


def test_service_unavailable_code_02_is_retried(prembly, ada):
    ada.code[BVN] = "02"
    result = prembly.verify("NG", "BVN", BVN, "Adaeze Okoro", BORN)
    assert result.status is Status.error and result.raw_summary["response_code"] == "02"
    assert ada.calls[("BVN", BVN)] == 2


def test_insufficient_wallet_balance_is_an_error_not_retried(prembly, ada):
    ada.code[BVN] = "03"
    result = prembly.verify("NG", "BVN", BVN, "Adaeze Okoro", BORN)
    assert (result.status, result.raw_summary["code"]) == (Status.error, "insufficient_balance")
    assert ada.calls[("BVN", BVN)] == 1


def test_a_read_timeout_is_an_error_within_the_timeout_and_not_retried(prembly, ada):
    ada.hang(TIMEOUT * 4)
    started = time.monotonic()
    result = prembly.verify("NG", "BVN", BVN, "Adaeze Okoro", BORN)
    elapsed = time.monotonic() - started
    assert (result.status, result.raw_summary["code"]) == (Status.error, "timeout")
    assert elapsed < TIMEOUT * 3  # the client gave up at its read timeout, it did not wait for the answer
    assert ada.calls[("BVN", BVN)] == 1  # a look-up that may have been billed is not repeated here


def test_a_bad_key_is_an_error(prembly_fake):
    wrong = PremblyVerifier(api_key="wrong", app_id=PREMBLY_APP, base_url=prembly_fake.base_url, timeout=TIMEOUT,
                            retries=1, backoff=0.01)
    result = wrong.verify("NG", "BVN", BVN, "Adaeze Okoro", BORN)
    wrong.close()
    assert (result.status, result.raw_summary["code"], result.raw_summary["http_status"]) == (Status.error, "auth",
                                                                                              401)
    assert prembly_fake.calls[("BVN", BVN)] == 1


def test_nobody_listening_is_an_error_after_the_retries(prembly_fake):
    # A port that was just free: connection refused, retried once, then an error (never matched).
    closed = PremblyVerifier(api_key=PREMBLY_KEY, app_id=PREMBLY_APP, base_url="http://127.0.0.1:9",
                             timeout=TIMEOUT, retries=1, backoff=0.01)
    result = closed.verify("NG", "BVN", BVN, "Adaeze Okoro", BORN)
    closed.close()
    assert (result.status, result.raw_summary["code"], result.raw_summary["attempts"]) == (Status.error, "network", 2)


def test_other_countries_are_not_sent(prembly, ada):
    result = prembly.verify("GH", "GHANA_CARD", "GHA-123456789-0", "Kofi Mensah", BORN)
    assert (result.status, result.raw_summary["code"]) == (Status.error, "unsupported") and ada.requests == []
