"""Normalisation: case, accents, transliteration, punctuation and the order of name parts."""

from __future__ import annotations

import pytest

from caas.screening.matcher import score_names
from caas.screening.names import name_key, name_parts, normalise


@pytest.mark.parametrize(("raw", "expected"), [
    # case and spacing
    ("  vladimir   Putin ", "VLADIMIR PUTIN"),
    # accents
    ("José Müller-Lüdenscheidt", "JOSE MULLER LUDENSCHEIDT"),
    ("Ørsted Łódź", "ORSTED LODZ"),
    ("ÇELİK Şahin", "CELIK SAHIN"),
    # transliteration of other scripts
    ("Владимир Путин", "VLADIMIR PUTIN"),
    ("Αλέξης Τσίπρας", "ALEXIS TSIPRAS"),
    # full-width forms
    ("ＫＩＭ　Ｊｏｎｇ", "KIM JONG"),
    # punctuation: apostrophes and dots join, everything else separates
    ("O'Brien", "OBRIEN"),
    ("KIM, So\u2019ng-hun", "KIM SONG HUN"),
    ("J.P. Morgan", "JP MORGAN"),
    ("BASHIR-UD-DIN", "BASHIR UD DIN"),
    ("AL-QAEDA", "AL QAEDA"),
    ("PUTIN, Vladimir (Vova)", "PUTIN VLADIMIR VOVA"),
    ("", ""),
    ("-- , --", ""),
])
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_name_order_does_not_change_the_key() -> None:
    assert name_key("PUTIN, Vladimir") == name_key("Vladimir Putin") == "PUTIN VLADIMIR"
    assert name_parts("PUTIN, Vladimir") == ["PUTIN", "VLADIMIR"]


@pytest.mark.parametrize(("applicant", "listed"), [
    ("Vladimir Putin", "PUTIN, Vladimir"),  # order
    ("vladimir putin", "VLADIMIR PUTIN"),  # case
    ("Владимир Путин", "PUTIN, Vladimir"),  # transliteration and order
    ("Jose Muller", "MÜLLER, José"),  # accents and order
    ("OBrien Christopher", "O'BRIEN, Christopher"),  # punctuation and order
    ("Bashir Ud Din", "BASHIR-UD-DIN"),  # hyphens
])
def test_normalised_equal_names_score_100(applicant: str, listed: str) -> None:
    assert score_names(applicant, listed) == 100
