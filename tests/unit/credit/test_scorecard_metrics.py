"""AUC, KS, Gini and the 5:1 cost on hand-worked examples, and AUC against scikit-learn."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import roc_auc_score

from caas.credit.scorecard import metrics


def test_auc_on_the_textbook_example() -> None:
    # scikit-learn's roc_auc_score docs: y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8] -> 0.75
    assert metrics.auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert metrics.gini([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.5)


def test_ties_count_half() -> None:
    assert metrics.auc([0.5, 0.5], [0, 1]) == pytest.approx(0.5)
    assert metrics.auc([0.2, 0.5, 0.5, 0.9], [0, 0, 1, 1]) == pytest.approx((1 + 1 + 0.5 + 1) / 4)


def test_auc_agrees_with_scikit_learn() -> None:
    rng = random.Random(4)
    labels = [rng.random() < 0.3 for _ in range(500)]
    pds = [round(rng.random() * 0.6 + 0.3 * y, 2) for y in labels]  # rounded: plenty of ties
    labels = [int(y) for y in labels]
    assert metrics.auc(pds, labels) == pytest.approx(roc_auc_score(labels, pds))


def test_ks_is_the_largest_gap_between_cumulative_shares() -> None:
    # Ordered by PD: 0.9 bad, 0.8 bad, 0.7 good, 0.2 bad, 0.1 good. After the first two, 2/3 of
    # bads and 0 of goods are above the threshold: KS = 2/3.
    assert metrics.ks([0.9, 0.8, 0.7, 0.2, 0.1], [1, 1, 0, 1, 0]) == pytest.approx(2 / 3)
    assert metrics.ks([0.5, 0.5], [1, 0]) == 0.0  # no threshold separates tied PDs


def test_cost_of_the_5_to_1_matrix() -> None:
    # Approve PD < 0.5: the bad at 0.2 is accepted (5), the good at 0.7 refused (1): 6 / 4.
    assert metrics.cost_per_applicant([0.2, 0.7, 0.1, 0.9], [1, 0, 0, 1], 0.5) == pytest.approx(1.5)


def test_bad_rate_by_grade() -> None:
    table = metrics.bad_rate_by_grade(["A", "B", "B", "A", "B"], [0, 1, 0, 0, 1], ["A", "B", "C"])
    assert table == {"A": {"count": 2, "bad": 0, "bad_rate": 0.0}, "B": {"count": 3, "bad": 2, "bad_rate": 2 / 3},
                     "C": {"count": 0, "bad": 0, "bad_rate": None}}


def test_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError):
        metrics.auc([0.1, 0.2], [0, 0])
