"""The matcher's parts: Jaro-Winkler without the 0.7 boost threshold, the first-letter and
phonetic gates of the per-part score, short parts, and properties of the 0–100 score."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caas.screening.matcher import compare, jaro_winkler, part_similarity, score_names
from caas.screening.names import name_parts


@pytest.mark.parametrize(("a", "b", "expected"), [
    # Winkler's (1990) textbook pairs: Jaro above 0.7, so any implementation agrees.
    ("MARTHA", "MARHTA", 0.9611),
    ("DWAYNE", "DUANE", 0.8400),
    ("DIXON", "DICKSONX", 0.8133),
    # Jaro 2/3 (4 of 8 characters in common, no transpositions) is below 0.7; OFAC-style the
    # 4-letter prefix still adds 4 x 0.1 x (1 - 2/3): 0.8 (rapidfuzz and jellyfish say 0.6667).
    ("ABCDEFGH", "ABCDWXYZ", 0.8000),
    ("ABC", "XYZ", 0.0),
    ("SAME", "SAME", 1.0),
])
def test_jaro_winkler(a: str, b: str, expected: float) -> None:
    assert jaro_winkler(a, b) == pytest.approx(expected, abs=5e-5)


def test_parts_must_start_alike_or_sound_alike() -> None:
    assert part_similarity("OSAMA", "USAMA") == 0.0  # different first letter, different sound key
    # KASSEM and QASSEM share the Metaphone key KSM: Jaro 5/6 matches -> (5/6 + 5/6 + 1) / 3.
    assert part_similarity("KASSEM", "QASSEM") == pytest.approx((5 / 6 + 5 / 6 + 1) / 3)
    assert part_similarity("PHILIP", "FILIP") > 0.0  # FLP both
    assert part_similarity("123", "456") == 0.0  # numbers never "sound alike"


def test_per_part_pairs_each_listed_part_once() -> None:
    # Two query parts cannot both lean on the one JOHN of the listed name.
    result = compare("JOHN JOHN", "JOHN SMITH")
    assert result.per_part == pytest.approx(0.5)
    assert [listed for _, listed, _ in result.pairs] == ["JOHN", None]


def test_short_parts_are_left_out_when_longer_ones_exist() -> None:
    # "UN" is ignored, so KIM and JONG alone decide: OFAC gives this pair 100 too.
    assert score_names("KIM JONG UN", "KIM, Jong Sik") == 100
    # ... but a query of short parts only is scored on them.
    assert score_names("Z", "ALBARRAQ Z") == 100


def test_extra_listed_parts_cost_nothing_but_missing_query_parts_do() -> None:
    assert score_names("VLADIMIR PUTIN", "PUTIN, Vladimir Vladimirovich") == 100
    assert score_names("VLADIMIR VLADIMIROVICH PUTIN", "PUTIN, Vladimir") < 100


names = st.lists(st.text(alphabet=string.ascii_letters + "éüøł' -", min_size=1, max_size=12),
                 min_size=1, max_size=4).map(" ".join)


@settings(max_examples=100, deadline=None)
@given(names, names)
def test_score_is_between_0_and_100(a: str, b: str) -> None:
    assert 0 <= score_names(a, b) <= 100


@settings(max_examples=100, deadline=None)
@given(names)
def test_a_name_scores_100_against_itself_in_any_case(name: str) -> None:
    if compare(name, name).pairs:  # the name has at least one letter left after normalisation
        assert score_names(name, name) == 100
        assert score_names(name.upper(), name.lower()) == 100


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=string.ascii_uppercase, min_size=3, max_size=10), min_size=1, max_size=4),
       st.randoms(use_true_random=False))
def test_order_of_parts_does_not_matter(parts: list[str], random) -> None:
    shuffled = parts[:]
    random.shuffle(shuffled)
    assert score_names(" ".join(parts), ", ".join(shuffled)) == 100


@settings(max_examples=100, deadline=None)
@given(names, names)
def test_whole_name_is_symmetric_and_so_is_the_score_of_one_word_names(a: str, b: str) -> None:
    # The per-part mean is taken from the query's side (extra listed parts cost nothing), so
    # only one-word names are scored symmetrically; the whole-name score always is.
    left, right = compare(a, b), compare(b, a)
    assert left.whole_name == pytest.approx(right.whole_name)
    if len(name_parts(a)) == len(name_parts(b)) == 1:
        assert left.score == right.score
