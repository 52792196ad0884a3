"""Weight-of-evidence binning on hand-worked data and on the trained model."""

from __future__ import annotations

import math

import pytest

from caas.credit.scorecard.features import BY_CODE
from caas.credit.scorecard.woe import fit_categorical, fit_numeric


def woe(good: int, bad: int, goods: int, bads: int) -> float:
    return math.log(((good + 0.5) / (goods + 0.5)) / ((bad + 0.5) / (bads + 0.5)))


def test_woe_and_information_value_by_hand() -> None:
    # x: 10 rows "a" (2 bad), 10 rows "b" (6 bad). Goods 12, bads 8.
    values = ["a"] * 10 + ["b"] * 10
    labels = [1] * 2 + [0] * 8 + [1] * 6 + [0] * 4
    binning = fit_categorical("X", values, labels, min_share=0.1)
    by_category = {b.categories: b for b in binning.bins}
    assert by_category[("a",)].woe == pytest.approx(woe(8, 2, 12, 8), abs=1e-6)
    assert by_category[("b",)].woe == pytest.approx(woe(4, 6, 12, 8), abs=1e-6)
    iv = (8 / 12 - 2 / 8) * woe(8, 2, 12, 8) + (4 / 12 - 6 / 8) * woe(4, 6, 12, 8)
    assert binning.iv == pytest.approx(iv, abs=1e-6)
    assert binning.woe("unseen") == 0.0 and binning.woe(None) == 0.0


def test_numeric_bins_become_monotone() -> None:
    # Bad rates by value 1..4: 0.2, 0.6, 0.4, 0.8 -> 2 and 3 pool into 0.5: rising 0.2, 0.5, 0.8.
    values = [1] * 10 + [2] * 10 + [3] * 10 + [4] * 10
    labels = [1] * 2 + [0] * 8 + [1] * 6 + [0] * 4 + [1] * 4 + [0] * 6 + [1] * 8 + [0] * 2
    binning = fit_numeric("X", values, labels, min_share=0.1)
    assert [(b.upper, b.count, b.bad) for b in binning.bins] == [(1, 10, 2), (3, 20, 10), (None, 10, 8)]
    assert binning.woe(0) == binning.bins[0].woe and binning.woe(99) == binning.bins[-1].woe


def test_small_categories_join_the_closest_bad_rate() -> None:
    # "c" has 2 of 42 rows (< 10%): its bad rate 1.0 is closest to "b"'s 0.75.
    values = ["a"] * 20 + ["b"] * 20 + ["c"] * 2
    labels = [1] * 2 + [0] * 18 + [1] * 15 + [0] * 5 + [1, 1]
    binning = fit_categorical("X", values, labels, min_share=0.1)
    assert sorted(b.categories for b in binning.bins) == [("a",), ("b", "c")]


def test_trained_bins_are_monotone_and_large_enough(model, german) -> None:
    rows, _ = german
    for feature in model.features:
        attribute = BY_CODE[feature.attribute]
        bins = feature.binning.bins
        assert all(b.count >= 0.05 * len(rows) for b in bins) or len(bins) == 1
        if attribute.kind == "numeric":
            chain = [b.bad_rate for b in bins]
        else:
            chain = [b.bad_rate for b in sorted((b for b in bins if set(b.categories) <= set(attribute.ordered)),
                                                key=lambda b: attribute.ordered.index(b.categories[0]))]
        steps = [later - earlier for earlier, later in zip(chain, chain[1:])]
        assert all(s > 0 for s in steps) or all(s < 0 for s in steps), (feature.attribute, chain)


def test_older_applicants_are_never_scored_down(model) -> None:
    age = next(f for f in model.features if f.attribute == "A13")
    woes = [b.woe for b in age.binning.bins]
    assert woes == sorted(woes)  # WoE (safety) never falls with age
