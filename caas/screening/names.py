"""Name normalisation for sanctions screening.

A name is reduced to upper-case ASCII words so that spelling accidents do not hide a match:

* transliteration and accents: ``anyascii`` maps every script to ASCII (``Müller`` → ``MULLER``,
  ``Владимир Путин`` → ``VLADIMIR PUTIN``, ``Ø`` → ``O``);
* case: upper case, as the OFAC list prints surnames;
* punctuation: apostrophes and dots are dropped inside a word (``O'BRIEN`` → ``OBRIEN``,
  ``L.L.C.`` → ``LLC``); every other non-alphanumeric character, hyphens and the comma of
  ``LAST, First`` included, separates words (``BASHIR-UD-DIN`` → ``BASHIR UD DIN``);
* order of name parts: ``normalise`` keeps the written order (the whole-name comparison is
  order-sensitive, as OFAC's is); ``name_key`` sorts the parts for order-free identity, and the
  matcher's per-part score pairs parts regardless of their order.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

# Characters that join the letters around them instead of separating words.
_JOINERS = re.compile(r"['`\u2018\u2019\u02bc.]")
_SEPARATORS = re.compile(r"[^A-Z0-9]+")


def normalise(name: str) -> str:
    """Upper-case ASCII words of ``name`` separated by single spaces, in the written order."""
    text = anyascii(unicodedata.normalize("NFKC", name))
    text = _JOINERS.sub("", text.upper())
    return " ".join(_SEPARATORS.sub(" ", text).split())


def name_parts(name: str) -> list[str]:
    """The words of the normalised name, in the written order."""
    return normalise(name).split()


def name_key(name: str) -> str:
    """An order-free identity of the name: its normalised parts sorted (``PUTIN, Vladimir`` and
    ``Vladimir Putin`` share a key)."""
    return " ".join(sorted(name_parts(name)))
