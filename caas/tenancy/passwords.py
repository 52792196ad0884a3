"""Password rules (pure): 12 to 128 characters, and not a common password.

"Common" is the 10,000 most used passwords (data/common-passwords-10k.txt, from SecLists). Few of
them are 12 characters long, so a password is also refused when it is one of them with digits or
symbols added at the end ("password2026!"), one of them repeated ("qwertyqwerty"), or the e-mail's
own name ("adaeze.okoro" for adaeze.okoro@…). Compared case-insensitively.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

MIN_LENGTH, MAX_LENGTH = 12, 128
_LIST = Path(__file__).resolve().parent / "data" / "common-passwords-10k.txt"
_TAIL = re.compile(r"[\d\W_]+$")


@lru_cache(maxsize=1)
def common() -> frozenset[str]:
    return frozenset(line.strip().lower() for line in _LIST.read_text(encoding="utf-8").splitlines() if line.strip())


def _repeats_of(word: str) -> str | None:
    """The unit that ``word`` repeats ("abcabc" -> "abc"), or None."""
    match = re.fullmatch(r"(.+?)\1+", word)
    return match.group(1) if match else None


def problem(password: str, *, email: str | None = None) -> str | None:
    """What is wrong with ``password``, as a message for the field; None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    stem = _TAIL.sub("", lowered)
    unit = _repeats_of(lowered)
    listed = common()
    if lowered in listed or stem in listed or (unit is not None and (unit in listed or len(unit) <= 2)):
        return "This password is too common. Choose one that others are unlikely to use, e.g. a few unrelated words."
    local = (email or "").split("@")[0].lower()
    if len(local) >= 4 and stem in {local, _TAIL.sub("", local)}:
        return "Do not use your e-mail address as the password."
    return None
