"""Credit scorecard: a weight-of-evidence logistic model of the probability of default.

Pure modules (no Flask, no database): ``features`` maps an application onto the German Credit
attributes (personal status and sex, A9, and foreign worker, A20, are never used), ``woe`` bins
and weighs them, ``model`` trains, saves (JSON, versioned by content hash), predicts a PD, a
grade A–E and adverse-action reasons, ``metrics`` measures AUC, KS, Gini and the 5:1 cost,
``cli`` is the ``scoring`` command group. See docs/scoring.md.
"""

from caas.credit.scorecard.features import (
    ATTRIBUTES,
    MODEL_ATTRIBUTES,
    PROTECTED_ATTRIBUTES,
    application_attributes,
    read_german,
)
from caas.credit.scorecard.model import (
    ModelError,
    Prediction,
    Reason,
    Scorecard,
    cross_validate,
    load_model,
    train,
)

__all__ = [
    "ATTRIBUTES", "MODEL_ATTRIBUTES", "PROTECTED_ATTRIBUTES", "ModelError", "Prediction", "Reason", "Scorecard",
    "application_attributes", "cross_validate", "load_model", "read_german", "train",
]
