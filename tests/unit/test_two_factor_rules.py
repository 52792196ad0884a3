"""The pure rules of two-factor authentication: which time step a code is, recovery codes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from caas.tenancy import two_factor

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
T0 = datetime(2026, 11, 22, 9, 0, 15, tzinfo=timezone.utc)  # 15 s into a step
STEP = int(T0.timestamp()) // 30


def code_at(at: datetime) -> str:
    return pyotp.TOTP(SECRET).at(at)


@pytest.mark.parametrize("seconds, step", [(-30, STEP - 1), (0, STEP), (14, STEP), (30, STEP + 1)])
def test_a_code_of_the_step_before_now_or_after_is_that_step(seconds, step):
    assert two_factor.matching_step(SECRET, code_at(T0 + timedelta(seconds=seconds)), T0) == step


@pytest.mark.parametrize("seconds", [-60, 60, 3600])
def test_a_code_two_steps_away_is_refused(seconds):
    code = code_at(T0 + timedelta(seconds=seconds))
    assert code not in {code_at(T0 + timedelta(seconds=s)) for s in (-30, 0, 30)}  # not a chance collision
    assert two_factor.matching_step(SECRET, code, T0) is None


@pytest.mark.parametrize("typed", ["12345", "1234567", "abcdef", "", "12 34 5"])
def test_anything_but_six_digits_is_no_code(typed):
    assert two_factor.matching_step(SECRET, typed, T0) is None


def test_spaces_in_a_typed_code_are_ignored():
    code = code_at(T0)
    assert two_factor.matching_step(SECRET, f" {code[:3]} {code[3:]} ", T0) == STEP


def test_another_secrets_code_is_refused():
    other = pyotp.TOTP("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").at(T0)
    assert other not in {code_at(T0 + timedelta(seconds=s)) for s in (-30, 0, 30)}
    assert two_factor.matching_step(SECRET, other, T0) is None


def test_ten_recovery_codes_of_eighty_bits_all_different():
    codes = two_factor.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(two_factor._RECOVERY_ALPHABET)
    assert len(two_factor._RECOVERY_ALPHABET) ** 16 >= 2 ** 79


def test_a_recovery_code_hashes_the_same_however_it_is_typed():
    digest = two_factor.recovery_hash("abcd-efgh-jkmn-pqrs")
    assert len(digest) == 64 and "abcd" not in digest
    assert two_factor.recovery_hash(" ABCD efgh-JKMN pqrs ") == digest
    assert two_factor.recovery_hash("abcd-efgh-jkmn-pqrt") != digest


def test_the_provisioning_uri_names_the_issuer_and_the_account():
    uri = urlsplit(two_factor.provisioning_uri(SECRET, "ada@example.com"))
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    query = parse_qs(uri.query)
    assert query["secret"] == [SECRET] and query["issuer"] == ["CaaS"]
    assert "ada%40example.com" in uri.path or "ada@example.com" in uri.path


def test_new_secrets_are_160_bits_of_base32():
    secret = two_factor.new_secret()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert secret != two_factor.new_secret()
