"""Scorecard accuracy: 5-fold cross-validated AUC, KS, Gini and the 5:1 cost on German Credit.

Run ``python -m bench.scoring_accuracy`` from the repository root. Reads
``../shared/reference/german_train.data`` (or ``$CAAS_REFERENCE_DIR``). Personal status and sex
(A9) and foreign worker (A20) are excluded, as in production. Binning and regression are refitted
inside every fold. Prints human-readable figures; the last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from caas.credit.scorecard import metrics  # noqa: E402
from caas.credit.scorecard.features import read_german  # noqa: E402
from caas.credit.scorecard.model import TrainConfig, cross_validate, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    reference = Path(os.environ.get("CAAS_REFERENCE_DIR") or ROOT.parent / "shared" / "reference")
    rows, labels = read_german(reference / "german_train.data")
    config = TrainConfig(folds=5, random_state=0)
    started = time.perf_counter()
    result = cross_validate(rows, labels, config)
    elapsed = time.perf_counter() - started
    mean, pooled = result["mean"], result["pooled"]
    print(f"german_train.data: {len(rows)} applicants, bad rate {sum(labels) / len(labels):.3f}; "
          f"A9 and A20 excluded; 5-fold stratified CV in {elapsed:.1f} s")
    print("fold   AUC     KS      Gini    cost/applicant  approval rate")
    for number, fold in enumerate(result["per_fold"], start=1):
        print(f"{number:<5}  {fold['auc']:.4f}  {fold['ks']:.4f}  {fold['gini']:.4f}  {fold['cost_per_applicant']:.4f}"
              f"          {fold['approval_rate']:.3f}")
    print(f"mean   {mean['auc']:.4f}  {mean['ks']:.4f}  {mean['gini']:.4f}  {mean['cost_per_applicant']:.4f}"
          f"          {mean['approval_rate']:.3f}")
    print(f"pooled out-of-fold: AUC {pooled['auc']:.4f}, KS {pooled['ks']:.4f}, Gini {pooled['gini']:.4f}")
    print("cost: a bad applicant accepted costs 5, a good one refused 1; approve when PD < 1/6 "
          f"(refusing everyone would cost {1 - sum(labels) / len(labels):.4f}, accepting everyone "
          f"{5 * sum(labels) / len(labels):.4f})")
    model = train(rows, labels, config, cross_validation=False)
    pds = [model.predict_pd(row) for row in rows]
    table = metrics.bad_rate_by_grade([model.grade(pd) for pd in pds], labels, [g for g, _ in model.grades])
    print(f"model on all rows ({model.version}, in sample): " + ", ".join(
        f"{grade} {row['count']} at {row['bad_rate']:.3f} bad" for grade, row in table.items() if row["count"]))
    print(json.dumps({"cv_auc": mean["auc"], "cv_ks": mean["ks"], "cv_gini": mean["gini"],
                      "cv_cost_per_applicant": mean["cost_per_applicant"], "pooled_auc": pooled["auc"]}))


if __name__ == "__main__":
    main()
