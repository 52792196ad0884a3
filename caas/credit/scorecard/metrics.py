"""Discrimination and cost of a PD model: AUC, KS, Gini, the 5:1 cost, bad rate per grade.

``labels`` are 1 for bad, 0 for good; ``pds`` the predicted probabilities of default (any score
that rises with risk will do for AUC and KS).
"""

from __future__ import annotations

from collections.abc import Sequence

# german.doc: accepting a bad applicant costs 5, refusing a good one costs 1.
COST_BAD_ACCEPTED = 5.0
COST_GOOD_REFUSED = 1.0


def _check(pds: Sequence[float], labels: Sequence[int]) -> tuple[int, int]:
    if len(pds) != len(labels):
        raise ValueError(f"{len(pds)} predictions for {len(labels)} labels")
    bads = sum(1 for y in labels if y == 1)
    if bads == 0 or bads == len(labels):
        raise ValueError("AUC and KS need both good and bad applicants")
    return len(labels) - bads, bads


def auc(pds: Sequence[float], labels: Sequence[int]) -> float:
    """Probability that a random bad applicant has a higher PD than a random good one, ties
    counting half (the Mann-Whitney U statistic, normalised)."""
    goods, bads = _check(pds, labels)
    order = sorted(range(len(pds)), key=lambda i: pds[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):  # average ranks over ties
        j = i
        while j + 1 < len(order) and pds[order[j + 1]] == pds[order[i]]:
            j += 1
        average_rank = (i + j) / 2 + 1
        rank_sum += average_rank * sum(1 for k in order[i:j + 1] if labels[k] == 1)
        i = j + 1
    return (rank_sum - bads * (bads + 1) / 2) / (bads * goods)


def gini(pds: Sequence[float], labels: Sequence[int]) -> float:
    return 2 * auc(pds, labels) - 1


def ks(pds: Sequence[float], labels: Sequence[int]) -> float:
    """Kolmogorov-Smirnov: the largest gap between the cumulative shares of bads and goods when
    applicants are ordered by PD (thresholds only between distinct PDs)."""
    goods, bads = _check(pds, labels)
    pairs = sorted(zip(pds, labels), reverse=True)
    seen_bad = seen_good = 0
    best = 0.0
    for position, (pd, label) in enumerate(pairs):
        seen_bad += label == 1
        seen_good += label != 1
        if position + 1 == len(pairs) or pairs[position + 1][0] != pd:
            best = max(best, abs(seen_bad / bads - seen_good / goods))
    return best


def cost_per_applicant(pds: Sequence[float], labels: Sequence[int], approve_below: float) -> float:
    """Expected cost per applicant when applicants with PD below ``approve_below`` are accepted."""
    if len(pds) != len(labels) or not labels:
        raise ValueError("need as many predictions as labels, and at least one")
    cost = sum(COST_BAD_ACCEPTED if pd < approve_below and y == 1 else
               COST_GOOD_REFUSED if pd >= approve_below and y == 0 else 0.0
               for pd, y in zip(pds, labels))
    return cost / len(labels)


def bad_rate_by_grade(grades: Sequence[str], labels: Sequence[int], order: Sequence[str]) -> dict[str, dict]:
    """Per grade (in ``order``): applicants, bads and bad rate (None when the grade is empty)."""
    table = {grade: {"count": 0, "bad": 0, "bad_rate": None} for grade in order}
    for grade, label in zip(grades, labels, strict=True):
        row = table.setdefault(grade, {"count": 0, "bad": 0, "bad_rate": None})
        row["count"] += 1
        row["bad"] += label
    for row in table.values():
        row["bad_rate"] = row["bad"] / row["count"] if row["count"] else None
    return table


def summary(pds: Sequence[float], labels: Sequence[int], approve_below: float) -> dict[str, float]:
    value = auc(pds, labels)
    return {"auc": value, "ks": ks(pds, labels), "gini": 2 * value - 1,
            "cost_per_applicant": cost_per_applicant(pds, labels, approve_below),
            "approval_rate": sum(pd < approve_below for pd in pds) / len(pds)}
