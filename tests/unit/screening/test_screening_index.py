"""Searching the full SDN list: hits, aliases, the DOB discriminator, and the index finding what
scoring every listed name would find."""

from __future__ import annotations

import random
from datetime import date

import pytest

from caas.screening.matcher import DOB_MISMATCH_PENALTY, SanctionsIndex, dob_check, score_names
from caas.screening.sdn import DobRange


def test_bin_laden_is_found_with_ofacs_score(sdn_index, ofac_rows) -> None:
    # OFAC scores "BIN LADEN, Osama" 100 for this query; on the reference list it is an aka of
    # entry 6365, "BIN LADIN, Usama bin Muhammad bin Awad".
    expected = {row["result_name"]: int(row["ofac_score"]) for row in ofac_rows if row["query_name"] == "OSAMA BIN LADEN"}
    hits = sdn_index.search("Osama bin Laden", threshold=85, limit=None)
    top = hits[0]
    assert top.name_score == expected["BIN LADEN, Osama"] == 100
    assert (top.ent_num, top.listed_name, top.matched_name, top.alias_type) == (
        6365, "BIN LADIN, Usama bin Muhammad bin Awad", "BIN LADEN, Osama", "aka")
    assert top.dob_check == "unknown"  # no applicant DOB given
    assert len({hit.ent_num for hit in hits}) == len(hits)  # one hit per entry, its best name
    assert all(hit.score >= 85 for hit in hits)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_an_alternate_name_hit_shows_the_entry_and_the_alias(sdn_index) -> None:
    # alt.csv: 36,12,"aka","AERO-CARIBBEAN" of sdn.csv 36 "AEROCARIBBEAN AIRLINES".
    hit = sdn_index.search("Aero-Caribbean", limit=1)[0]
    assert (hit.ent_num, hit.listed_name, hit.matched_name, hit.alias_type) == (
        36, "AEROCARIBBEAN AIRLINES", "AERO-CARIBBEAN", "aka")
    assert hit.as_dict()["programs"] == "CUBA"


def test_limit_and_threshold(sdn_index) -> None:
    assert len(sdn_index.search("Mohammed Ali", threshold=85, limit=3)) == 3
    assert sdn_index.search("Zqxjv Wplmnt") == []
    assert sdn_index.search("  ,, ") == []
    with pytest.raises(ValueError):
        sdn_index.search("Putin", threshold=101)


# TSERTSEL, Ivan Stanislavavich (32277): "DOB 08 Sep 1966" in the reference remarks.
@pytest.mark.parametrize(("dob", "check"), [
    (date(1966, 9, 8), "match"),
    (date(1967, 9, 8), "match"),  # a year off: still the same person as far as we can tell
    (date(1965, 9, 8), "match"),
    (date(1967, 9, 9), "mismatch"),  # more than a year off
    (date(1990, 1, 1), "mismatch"),
    (None, "unknown"),
])
def test_dob_discriminator_on_a_listed_person(sdn_index, dob, check) -> None:
    hits = [hit for hit in sdn_index.search("Ivan Tsertsel", dob, threshold=70, limit=None) if hit.ent_num == 32277]
    assert len(hits) == 1
    hit = hits[0]
    assert (hit.name_score, hit.dob_check, hit.listed_dobs) == (100, check, ("08 Sep 1966",))
    assert hit.score == (100 - DOB_MISMATCH_PENALTY if check == "mismatch" else 100)


def test_a_dob_mismatch_drops_an_exact_name_below_the_default_threshold(sdn_index) -> None:
    assert any(hit.ent_num == 32277 for hit in sdn_index.search("Ivan Tsertsel", date(1966, 9, 8)))
    assert not any(hit.ent_num == 32277 for hit in sdn_index.search("Ivan Tsertsel", date(1990, 1, 1)))
    kept = [hit for hit in sdn_index.search("Ivan Tsertsel", date(1990, 1, 1), threshold=80) if hit.ent_num == 32277]
    assert kept and kept[0].score == 80


def test_dob_check_on_ranges() -> None:
    year_1984 = DobRange(date(1984, 1, 1), date(1984, 12, 31), "1984")
    assert dob_check([year_1984], date(1985, 12, 31)) == "match"
    assert dob_check([year_1984], date(1986, 1, 1)) == "mismatch"
    assert dob_check([year_1984], date(1982, 12, 31)) == "mismatch"
    leap = DobRange(date(1960, 2, 29), date(1960, 2, 29), "29 Feb 1960")
    assert dob_check([leap], date(1961, 2, 28)) == "match"
    assert dob_check([leap], date(1961, 3, 1)) == "mismatch"
    assert dob_check([year_1984, leap], date(1960, 6, 1)) == "match"  # any listed DOB will do
    assert dob_check([], date(1960, 6, 1)) == "unknown"


def _perturbed(name: str, rng: random.Random) -> str:
    chars = list(name)
    i = rng.randrange(len(chars))
    chars[i] = rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return "".join(chars)


def test_the_index_finds_what_scoring_every_name_finds(sdn_entries, ofac_rows) -> None:
    # A slice of the list keeps the exhaustive scan fast; the queries are OFAC's and misspelt
    # listed names. The index may miss a name that matches on the whole-name score alone with
    # no first letter or word in common (docs/scoring.md): at most 2% of hits here.
    rng = random.Random(20)
    index = SanctionsIndex(sdn_entries[::25])
    queries = sorted({row["query_name"] for row in ofac_rows}) + [
        _perturbed(entry.name, rng) for entry in rng.sample(index.entries, 40)]
    found = expected = 0
    for query in queries:
        fast = {(hit.ent_num, hit.score) for hit in index.search(query, threshold=80, limit=None)}
        slow = {(hit.ent_num, hit.score) for hit in index.search(query, threshold=80, limit=None, exhaustive=True)}
        assert fast <= slow  # never a hit the exhaustive scan would not give, and the same score
        found, expected = found + len(fast), expected + len(slow)
    print(f"\nindex recall against an exhaustive scan: {found}/{expected}")
    assert expected > 100
    assert found >= 0.98 * expected


def test_hits_score_as_the_matcher_does(sdn_index) -> None:
    for hit in sdn_index.search("Osama bin Laden", threshold=80, limit=None):
        assert hit.name_score == score_names("Osama bin Laden", hit.matched_name)


@pytest.mark.parametrize("name", ["Chinedu Bench Okafor 401", "4 Okafor", "Okafor 4"])
def test_words_no_listed_name_starts_with_do_not_break_the_search(sdn_index, name):
    # Found by the scoring benchmark: a digit word has listed words to compare with, but no
    # listed name starts with a digit. The search must answer, not fail the scoring job.
    hits = sdn_index.search(name)
    assert all(hit.score >= 85 for hit in hits)
