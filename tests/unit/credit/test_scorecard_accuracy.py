"""5-fold cross-validated discrimination without the protected attributes: AUC at least 0.78."""

from __future__ import annotations

from caas.credit.scorecard.model import TrainConfig, cross_validate


def test_cross_validated_auc_is_at_least_078(german) -> None:
    rows, labels = german
    result = cross_validate(rows, labels, TrainConfig(folds=5, random_state=0))
    mean, pooled = result["mean"], result["pooled"]
    print(f"\n5-fold CV on german_train.data (A9, A20 excluded): AUC {mean['auc']:.4f} (pooled {pooled['auc']:.4f}), "
          f"KS {mean['ks']:.4f}, Gini {mean['gini']:.4f}, cost/applicant {mean['cost_per_applicant']:.4f}")
    assert len(result["per_fold"]) == 5
    assert mean["auc"] >= 0.78
    assert pooled["auc"] >= 0.78
    # Better than refusing everyone (cost 0.70: every good refused) at the 1/6 approval cut-off.
    assert mean["cost_per_applicant"] < 0.70
