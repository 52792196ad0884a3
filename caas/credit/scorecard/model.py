"""Training, storing and applying the WoE logistic scorecard.

Training (``train``): each model attribute (A9 and A20 never) is binned (``woe``); attributes
with an information value below ``min_iv`` are dropped; a logistic regression of "bad" on the
WoE values is fitted (scikit-learn, L2, lbfgs: deterministic), and any attribute whose
coefficient comes out with the wrong sign (higher WoE, i.e. safer, must lower the PD) is dropped
and the regression refitted, so every attribute's effect reads the way its bins do.

The model is a JSON document: bins, WoE values, coefficients, intercept, grade cut-offs, the
approval cut-off, the points scaling and the training metrics. Its version is the first 12 hex
digits of the SHA-256 of that document (canonical JSON, without the version itself): the same
training data and settings give the same file and version. No pickle.

Applying it is plain Python (no scikit-learn): logit(PD) = intercept + sum(coefficient x WoE).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from caas.credit.scorecard import metrics
from caas.credit.scorecard.features import BY_CODE, MODEL_ATTRIBUTES, PROTECTED_ATTRIBUTES, Value
from caas.credit.scorecard.woe import Binning, fit_categorical, fit_numeric

FORMAT = "caas-woe-scorecard/1"
# Grade = the first grade whose max_pd the PD is below. B ends at 1/6: with german.doc's costs
# (a bad accepted costs 5, a good refused 1) accepting pays when 5 x PD < 1 - PD, i.e. PD < 1/6.
DEFAULT_GRADES: tuple[tuple[str, float], ...] = (("A", 0.08), ("B", 0.1667), ("C", 0.30), ("D", 0.50), ("E", 1.0))
DEFAULT_APPROVAL_MAX_PD = 0.1667
# Points: 600 at odds of 50 good to 1 bad, 20 points more each time the odds double.
DEFAULT_SCALING = {"base_score": 600, "base_odds": 50, "pdo": 20}
# Age may only be used if older applicants are never scored down (US ECOA, Regulation B): its bad
# rate is forced not to rise with age.
FIXED_TRENDS = {"A13": -1}
MAX_REASONS = 4
DECIMALS = 6


class ModelError(ValueError):
    """A model file that is not a scorecard, or whose content does not match its version."""


@dataclass(frozen=True)
class TrainConfig:
    min_iv: float = 0.02
    min_bin_share: float = 0.05
    max_bins: int = 10
    c: float = 1.0  # inverse L2 strength of the logistic regression
    folds: int = 5
    random_state: int = 0

    def as_dict(self) -> dict:
        return {"min_iv": self.min_iv, "min_bin_share": self.min_bin_share, "max_bins": self.max_bins, "c": self.c,
                "folds": self.folds, "random_state": self.random_state}


@dataclass(frozen=True)
class Feature:
    binning: Binning
    coefficient: float  # on WoE, in logit(PD); negative

    @property
    def attribute(self) -> str:
        return self.binning.attribute


@dataclass(frozen=True)
class Reason:
    code: str  # stable per attribute, e.g. "R01_checking_account_status"
    text: str
    attribute: str
    impact: float  # how much this attribute raised logit(PD) above the population average


@dataclass(frozen=True)
class Prediction:
    pd: float
    score: int  # points, higher is safer
    grade: str
    reasons: tuple[Reason, ...]
    contributions: dict[str, float] = field(default_factory=dict)  # attribute -> its term of logit(PD)

    def as_dict(self) -> dict:
        return {"pd": self.pd, "score": self.score, "grade": self.grade,
                "reasons": [{"code": r.code, "text": r.text, "attribute": r.attribute, "impact": r.impact}
                            for r in self.reasons],
                "contributions": dict(self.contributions)}


def _canonical(document: Mapping) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def content_version(document: Mapping) -> str:
    """First 12 hex digits of the SHA-256 of the document without its version."""
    return hashlib.sha256(_canonical({k: v for k, v in document.items() if k != "version"})).hexdigest()[:12]


class Scorecard:
    def __init__(self, features: Sequence[Feature], intercept: float, *,
                 grades: Sequence[tuple[str, float]] = DEFAULT_GRADES,
                 approval_max_pd: float = DEFAULT_APPROVAL_MAX_PD, scaling: Mapping | None = None,
                 metrics: Mapping | None = None, training: Mapping | None = None):
        protected = {f.attribute for f in features} & PROTECTED_ATTRIBUTES
        if protected:
            raise ModelError(f"a scorecard may not use protected attributes: {', '.join(sorted(protected))}")
        self.features = tuple(features)
        self.intercept = intercept
        self.grades = _check_grades(grades)
        self.approval_max_pd = approval_max_pd
        self.scaling = dict(scaling or DEFAULT_SCALING)
        self.metrics = dict(metrics or {})
        self.training = dict(training or {})

    # --- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict:
        document = {
            "format": FORMAT,
            "features": [{"attribute": f.attribute, "name": BY_CODE[f.attribute].name,
                          "reason_code": BY_CODE[f.attribute].reason_code, "reason_text": BY_CODE[f.attribute].text,
                          "coefficient": f.coefficient, **f.binning.to_dict()} for f in self.features],
            "intercept": self.intercept,
            "grades": [{"grade": grade, "max_pd": max_pd} for grade, max_pd in self.grades],
            "approval_max_pd": self.approval_max_pd,
            "scaling": self.scaling,
            "metrics": self.metrics,
            "training": self.training,
        }
        document["version"] = content_version(document)
        return document

    @property
    def version(self) -> str:
        return self.to_dict()["version"]

    @classmethod
    def from_dict(cls, document: Mapping) -> Scorecard:
        if document.get("format") != FORMAT:
            raise ModelError(f"not a scorecard of format {FORMAT}: {document.get('format')!r}")
        if "version" in document and document["version"] != content_version(document):
            raise ModelError(f"content does not match version {document['version']}: the file was altered")
        try:
            features = [Feature(Binning.from_dict(f), f["coefficient"]) for f in document["features"]]
            return cls(features, document["intercept"],
                       grades=[(g["grade"], g["max_pd"]) for g in document["grades"]],
                       approval_max_pd=document["approval_max_pd"], scaling=document["scaling"],
                       metrics=document.get("metrics"), training=document.get("training"))
        except (KeyError, TypeError) as error:
            raise ModelError(f"malformed scorecard: {error!r}") from None

    def save(self, directory: str | Path) -> Path:
        """Write ``scorecard-<version>.json`` into ``directory`` and return its path."""
        document = self.to_dict()
        path = Path(directory) / f"scorecard-{document['version']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    # --- scoring -------------------------------------------------------------------------------

    def contributions(self, attributes: Mapping[str, Value]) -> dict[str, float]:
        """Each attribute's term of logit(PD); unknown values (missing, None, unseen) give 0."""
        return {f.attribute: f.coefficient * f.binning.woe(attributes.get(f.attribute)) for f in self.features}

    def logit(self, attributes: Mapping[str, Value]) -> float:
        return self.intercept + sum(self.contributions(attributes).values())

    def predict_pd(self, attributes: Mapping[str, Value]) -> float:
        return _sigmoid(self.logit(attributes))

    def grade(self, pd: float, grades: Sequence[tuple[str, float]] | None = None) -> str:
        for grade, max_pd in _check_grades(grades) if grades is not None else self.grades:
            if pd < max_pd:
                return grade
        return self.grades[-1][0] if grades is None else grades[-1][0]

    def points(self, pd: float) -> int:
        factor = self.scaling["pdo"] / math.log(2)
        offset = self.scaling["base_score"] - factor * math.log(self.scaling["base_odds"])
        pd = min(max(pd, 1e-9), 1 - 1e-9)
        return round(offset + factor * math.log((1 - pd) / pd))

    def reasons(self, attributes: Mapping[str, Value], limit: int = MAX_REASONS) -> tuple[Reason, ...]:
        """The attributes that raised the PD most above the population average (their WoE is
        negative), at most ``limit``, largest first; ties in model order."""
        terms = self.contributions(attributes)
        order = {f.attribute: i for i, f in enumerate(self.features)}
        adverse = sorted((a for a, term in terms.items() if term > 0), key=lambda a: (-terms[a], order[a]))
        return tuple(Reason(BY_CODE[a].reason_code, BY_CODE[a].text, a, round(terms[a], DECIMALS))
                     for a in adverse[:limit])

    def predict(self, attributes: Mapping[str, Value], grades: Sequence[tuple[str, float]] | None = None) -> Prediction:
        """PD, points, grade (``grades`` overrides the model's cut-offs) and up to four reasons."""
        terms = self.contributions(attributes)
        pd = _sigmoid(self.intercept + sum(terms.values()))
        return Prediction(pd, self.points(pd), self.grade(pd, grades), self.reasons(attributes),
                          {a: round(t, DECIMALS) for a, t in terms.items()})


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _check_grades(grades: Sequence[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    grades = tuple((str(g), float(p)) for g, p in grades)
    if not grades or any(b[1] <= a[1] for a, b in zip(grades, grades[1:])) or grades[-1][1] < 1.0:
        raise ModelError(f"grade cut-offs must rise and the last must be 1.0: {grades}")
    return grades


def load_model(path: str | Path) -> Scorecard:
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ModelError(f"{path}: cannot read a scorecard ({error})") from None
    if not isinstance(document, dict):
        raise ModelError(f"{path}: not a scorecard")
    return Scorecard.from_dict(document)


# --- training ------------------------------------------------------------------------------------

def fit_binnings(rows: Sequence[Mapping[str, Value]], labels: Sequence[int], config: TrainConfig) -> list[Binning]:
    binnings = []
    for code in MODEL_ATTRIBUTES:
        attribute = BY_CODE[code]
        values = [row[code] for row in rows]
        if attribute.kind == "numeric":
            binnings.append(fit_numeric(code, values, labels, min_share=config.min_bin_share,
                                        max_bins=config.max_bins, direction=FIXED_TRENDS.get(code, 0)))
        else:
            binnings.append(fit_categorical(code, values, labels, ordered=attribute.ordered,
                                            min_share=config.min_bin_share))
    return binnings


def fit(rows: Sequence[Mapping[str, Value]], labels: Sequence[int], config: TrainConfig = TrainConfig()) -> Scorecard:
    """A scorecard fitted on ``rows`` (attribute code -> value) and ``labels`` (1 bad), without metrics."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    kept = [b for b in fit_binnings(rows, labels, config) if b.iv >= config.min_iv]
    y = np.asarray(labels)
    while True:
        if not kept:
            raise ModelError("no attribute carries enough information to fit a scorecard")
        x = np.array([[b.woe(row[b.attribute]) for b in kept] for row in rows])
        regression = LogisticRegression(C=config.c, solver="lbfgs", max_iter=1000, random_state=config.random_state)
        regression.fit(x, y)
        coefficients = regression.coef_[0]
        wrong = [i for i, c in enumerate(coefficients) if c >= 0]
        if not wrong:
            break
        # Drop the worst offender and refit; the others may come right without it.
        kept.pop(max(wrong, key=lambda i: (coefficients[i], -i)))
    features = [Feature(b, round(float(c), DECIMALS)) for b, c in zip(kept, coefficients)]
    return Scorecard(features, round(float(regression.intercept_[0]), DECIMALS))


def cross_validate(rows: Sequence[Mapping[str, Value]], labels: Sequence[int],
                   config: TrainConfig = TrainConfig()) -> dict:
    """Stratified k-fold: binning and regression refitted in every fold (no leakage); AUC, KS,
    Gini and cost per fold, their means, and the same figures over all out-of-fold PDs."""
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.random_state)
    out_of_fold = [0.0] * len(rows)
    per_fold = []
    for train_index, test_index in folds.split([[0]] * len(rows), labels):
        model = fit([rows[i] for i in train_index], [labels[i] for i in train_index], config)
        pds = [model.predict_pd(rows[i]) for i in test_index]
        for i, pd in zip(test_index, pds):
            out_of_fold[i] = pd
        per_fold.append(metrics.summary(pds, [labels[i] for i in test_index], model.approval_max_pd))
    mean = {key: sum(fold[key] for fold in per_fold) / len(per_fold) for key in per_fold[0]}
    return {"folds": config.folds, "mean": _rounded(mean),
            "pooled": _rounded(metrics.summary(out_of_fold, labels, DEFAULT_APPROVAL_MAX_PD)),
            "per_fold": [_rounded(fold) for fold in per_fold]}


def _rounded(figures: Mapping[str, float]) -> dict[str, float]:
    return {key: round(value, DECIMALS) for key, value in figures.items()}


def train(rows: Sequence[Mapping[str, Value]], labels: Sequence[int], config: TrainConfig = TrainConfig(), *,
          data_sha256: str | None = None, cross_validation: bool = True) -> Scorecard:
    """Fit on all rows and record the training metrics (in-sample and, unless turned off,
    cross-validated) and how it was trained in the model."""
    model = fit(rows, labels, config)
    train_pds = [model.predict_pd(row) for row in rows]
    figures = {"train": _rounded(metrics.summary(train_pds, labels, model.approval_max_pd))}
    if cross_validation:
        figures["cross_validation"] = cross_validate(rows, labels, config)
    training = {"rows": len(rows), "bad_rate": round(sum(labels) / len(labels), DECIMALS),
                "excluded_attributes": sorted(PROTECTED_ATTRIBUTES), "config": config.as_dict(),
                "data_sha256": data_sha256}
    return Scorecard(model.features, model.intercept, metrics=figures, training=training)
