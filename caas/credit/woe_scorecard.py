"""A weight-of-evidence logistic scorecard trained on the Statlog German Credit data.

Monotone and explainable: each attribute is binned, each bin has a weight of evidence
ln(share of goods / share of bads), and a logistic regression on those weights gives the
probability of default. A feature's contribution is its coefficient times its bin's WoE; the
adverse-action reasons are the features that lost the most points against their best bin.

Protected attributes are never used: A9 (personal status and sex) and A20 (foreign worker).
Unknown inputs fall in a neutral bin (WoE 0), so a missing bureau field neither helps nor hurts.
The artifact is plain JSON, versioned by the SHA-256 of its content.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ATTRIBUTES = [f"A{i}" for i in range(1, 21)]
PROTECTED = ("A9", "A20")
NUMERIC_EDGES = {  # upper bounds of bins; numeric attributes of the German data
    "A2": [9, 12, 18, 24, 36], "A5": [1000, 1500, 2500, 4000, 7000], "A13": [25, 30, 35, 45, 60],
    "A8": [1, 2, 3], "A11": [1, 2, 3], "A16": [1, 2], "A18": [1],
}
FEATURES = [a for a in ATTRIBUTES if a not in PROTECTED]
REASON_TEXT = {
    "A1": "status of the checking account", "A2": "length of the loan", "A3": "credit history",
    "A4": "purpose of the loan", "A5": "amount relative to income", "A6": "savings",
    "A7": "time with the current employer", "A8": "instalment relative to income", "A10": "other debtors or guarantors",
    "A11": "time at the current address", "A12": "property", "A13": "age", "A14": "other instalment plans",
    "A15": "housing", "A16": "number of existing credits", "A17": "job", "A18": "number of dependants",
    "A19": "telephone", "A20": "", "A9": "",
}
GRADE_CUTOFFS = [("A", 0.10), ("B", 0.20), ("C", 0.35), ("D", 0.55)]  # PD at most; worse is E
UNKNOWN = "unknown"


def read_german(path: str | Path) -> tuple[list[dict], list[int]]:
    """Rows as {attribute: value} and targets (1 = bad, 0 = good)."""
    rows, bad = [], []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 21:
            raise ValueError(f"expected 21 fields, found {len(parts)}: {line[:60]}")
        rows.append(dict(zip(ATTRIBUTES, parts[:20])))
        bad.append(1 if parts[20] == "2" else 0)
    return rows, bad


def bin_of(attribute: str, value) -> str:
    if value is None or value == UNKNOWN:
        return UNKNOWN
    edges = NUMERIC_EDGES.get(attribute)
    if edges is None:
        return str(value)
    number = float(value)
    for edge in edges:
        if number <= edge:
            return f"<={edge}"
    return f">{edges[-1]}"


@dataclass(frozen=True)
class Prediction:
    pd: Decimal
    score: int
    grade: str
    reasons: list[dict]
    contributions: dict[str, float]


class Scorecard:
    def __init__(self, artifact: dict):
        self.artifact = artifact
        self.woe: dict[str, dict[str, float]] = artifact["woe"]
        self.coef: dict[str, float] = artifact["coefficients"]
        self.intercept: float = artifact["intercept"]
        self.cutoffs = [(g, float(p)) for g, p in artifact["grade_cutoffs"]]

    @property
    def version(self) -> str:
        return version_of(self.artifact)

    def _contribution(self, feature: str, value) -> float:
        return self.coef[feature] * self.woe[feature].get(bin_of(feature, value), 0.0)

    def predict(self, features: dict) -> Prediction:
        contributions = {f: self._contribution(f, features.get(f)) for f in FEATURES}
        log_odds_bad = self.intercept + sum(contributions.values())
        pd = 1.0 / (1.0 + math.exp(-log_odds_bad))
        grade = next((g for g, limit in self.cutoffs if pd <= limit), "E")
        # Points on the usual scale: 600 at 50:1 good odds, 20 points to double the odds.
        score = int(round(600 + 20 / math.log(2) * (math.log((1 - pd) / pd) - math.log(50))))
        losses = []
        for feature, contribution in contributions.items():
            best = min(self.coef[feature] * w for w in [*self.woe[feature].values(), 0.0])
            losses.append((contribution - best, feature))
        reasons = [{"code": f"R_{feature}", "text": REASON_TEXT[feature], "points": round(loss * 20 / math.log(2), 1)}
                   for loss, feature in sorted(losses, reverse=True)[:4] if loss > 1e-9]
        return Prediction(Decimal(str(round(pd, 6))), score, grade, reasons, contributions)


def _woe_table(values: list[str], bad: list[int]) -> dict[str, float]:
    goods_total = bad.count(0)
    bads_total = bad.count(1)
    table = {}
    for bin_name in sorted(set(values)):
        goods = sum(1 for v, b in zip(values, bad) if v == bin_name and b == 0)
        bads = sum(1 for v, b in zip(values, bad) if v == bin_name and b == 1)
        # +0.5 smoothing keeps a bin without bads (or goods) finite
        table[bin_name] = math.log(((goods + 0.5) / (goods_total + 0.5)) / ((bads + 0.5) / (bads_total + 0.5)))
    return table


def train(rows: list[dict], bad: list[int], *, c: float = 0.5) -> dict:
    """Fit WoE bins and a logistic regression; returns the JSON artifact (deterministic).

    A feature whose coefficient comes out positive would turn its WoE upside down (a "better" bin
    raising the risk); it is dropped and the model refitted, so every feature keeps the monotone,
    explainable direction of its WoE. Dropped features get coefficient 0 and are listed.
    """
    from sklearn.linear_model import LogisticRegression

    binned = {f: [bin_of(f, row[f]) for row in rows] for f in FEATURES}
    woe = {f: _woe_table(binned[f], bad) for f in FEATURES}
    used = list(FEATURES)
    while True:
        matrix = [[woe[f][binned[f][i]] for f in used] for i in range(len(rows))]
        model = LogisticRegression(C=c, max_iter=1000)
        model.fit(matrix, bad)
        wrong = [f for f, w in zip(used, model.coef_[0]) if w > 0]
        if not wrong:
            break
        used = [f for f in used if f not in wrong]
    coefficients = dict.fromkeys(FEATURES, 0.0)
    coefficients.update({f: round(float(w), 6) for f, w in zip(used, model.coef_[0])})
    return {
        "kind": "woe-logistic",
        "features": FEATURES,
        "dropped_for_sign": [f for f in FEATURES if f not in used],
        "excluded": list(PROTECTED),
        "woe": {f: {k: round(v, 6) for k, v in woe[f].items()} for f in FEATURES},
        "coefficients": coefficients,
        "intercept": round(float(model.intercept_[0]), 6),
        "grade_cutoffs": GRADE_CUTOFFS,
    }


def version_of(artifact: dict) -> str:
    body = {k: v for k, v in artifact.items() if k != "metrics"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def auc(scores: list[float], bad: list[int]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(bad, scores))


def cross_validate(rows: list[dict], bad: list[int], folds: int = 5, seed: int = 7) -> dict:
    """Stratified k-fold AUC and KS of the whole procedure (bins and WoE refit on each fold)."""
    from sklearn.model_selection import StratifiedKFold

    pds, truth = [], []
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, bad):
        card = Scorecard(train([rows[i] for i in train_idx], [bad[i] for i in train_idx]))
        pds += [float(card.predict(rows[i]).pd) for i in test_idx]
        truth += [bad[i] for i in test_idx]
    return {"auc": round(auc(pds, truth), 4), "ks": round(ks(pds, truth), 4), "gini": round(2 * auc(pds, truth) - 1, 4)}


def ks(scores: list[float], bad: list[int]) -> float:
    pairs = sorted(zip(scores, bad))
    bads, goods = sum(bad), len(bad) - sum(bad)
    seen_bad = seen_good = 0
    best = 0.0
    for _, b in pairs:
        seen_bad += b
        seen_good += 1 - b
        best = max(best, abs(seen_good / goods - seen_bad / bads))
    return best
