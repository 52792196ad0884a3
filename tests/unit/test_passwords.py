"""Password rules: length 12–128 (64 and more allowed), the SecLists top 10,000 refused, also with
digits or symbols added, repeated, or the e-mail's own name."""
from __future__ import annotations

import pytest

from caas.tenancy import passwords

COMMON = "This password is too common. Choose one that others are unlikely to use, e.g. a few unrelated words."


def test_the_list_is_the_top_ten_thousand_most_common_first():
    lines = passwords._LIST.read_text().splitlines()
    assert len(lines) == 10_000 and lines[:5] == ["123456", "password", "12345678", "qwerty", "123456789"]
    assert len(passwords.common()) >= 9_900  # a few differ only by case


@pytest.mark.parametrize("password, message", [
    ("short-pass1", "Use at least 12 characters."),
    ("x" * 129, "Use at most 128 characters."),
    ("qwerty123456", COMMON),             # on the list as it is
    ("QWERTY123456", COMMON),             # case does not matter
    ("password2026!", COMMON),            # "password" with digits and symbols added
    ("sunshine_1234", COMMON),
    ("qwertyqwertyqwerty", COMMON),       # a listed word repeated
    ("aaaaaaaaaaaaaa", COMMON),           # one character repeated
    ("abababababab", COMMON),
])
def test_refused(password, message):
    assert passwords.problem(password) == message


@pytest.mark.parametrize("password", [
    "correct horse battery staple",
    "Dragon2026!!x",                       # not only a listed word plus a tail
    "a" * 30 + "B" * 34,                   # 64 characters: two runs, not one unit repeated
    "Ωμέγα-κλειδί-2026",                   # any Unicode
    "x7#Lq9!pV2@m" * 5 + "zz",             # 62 characters
])
def test_accepted(password):
    assert passwords.problem(password) is None


def test_the_email_name_is_refused_only_for_its_owner():
    assert passwords.problem("adaeze.okoro2026", email="Adaeze.Okoro@example.com") == \
        "Do not use your e-mail address as the password."
    assert passwords.problem("adaeze.okoro2026", email="bola@example.com") is None
