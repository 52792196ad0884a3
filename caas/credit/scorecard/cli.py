"""``flask scoring train`` and ``flask scoring evaluate``: the scorecard from the command line.

A plain click group (no app context needed); the app registers it with
``app.cli.add_command(scoring_cli)``. Bad input ends with a one-line ``Error: ...`` and a
non-zero exit status.

``evaluate`` takes its model from ``--model`` (a scorecard file, or a directory holding exactly
one) or, without it, from the directory in the environment variable ``CAAS_MODEL_DIR``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import click

from caas.credit.scorecard import metrics
from caas.credit.scorecard.features import FeatureError, read_german
from caas.credit.scorecard.model import ModelError, Scorecard, TrainConfig, load_model, train

scoring_cli = click.Group("scoring", help="Credit scorecard: train and evaluate.")
MODEL_DIR_ENV = "CAAS_MODEL_DIR"


def _read(path: Path):
    try:
        return read_german(path)
    except FeatureError as error:
        raise click.ClickException(str(error)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{path}: cannot read ({error})") from None


@scoring_cli.command("train")
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Training data in german.data format.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for scorecard-<version>.json (created if missing).")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20), help="Cross-validation folds.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random state of the folds and the solver.")
def train_command(data_path: Path, out_dir: Path, folds: int, seed: int) -> None:
    """Train a WoE scorecard on DATA (protected attributes A9 and A20 excluded) and write it."""
    rows, labels = _read(data_path)
    digest = hashlib.sha256(data_path.read_bytes()).hexdigest()
    model = train(rows, labels, TrainConfig(folds=folds, random_state=seed), data_sha256=digest)
    path = model.save(out_dir)
    click.echo(str(path))
    trained, cv = model.metrics["train"], model.metrics["cross_validation"]["mean"]
    click.echo(f"version {model.version}: {len(model.features)} attributes "
               f"({', '.join(f.attribute for f in model.features)}), {len(rows)} rows, bad rate {sum(labels) / len(rows):.3f}")
    click.echo(f"in sample:       AUC {trained['auc']:.4f}  KS {trained['ks']:.4f}  Gini {trained['gini']:.4f}")
    click.echo(f"{folds}-fold CV mean:  AUC {cv['auc']:.4f}  KS {cv['ks']:.4f}  Gini {cv['gini']:.4f}  "
               f"cost/applicant {cv['cost_per_applicant']:.4f} (approve PD < {model.approval_max_pd})")


def _model_path(option: Path | None) -> Path:
    if option is None:
        configured = os.environ.get(MODEL_DIR_ENV)
        if not configured:
            raise click.UsageError(f"give --model PATH or set {MODEL_DIR_ENV}")
        option = Path(configured)
    if option.is_dir():
        found = sorted(option.glob("scorecard-*.json"))
        if len(found) != 1:
            listed = ", ".join(p.name for p in found) or "none"
            raise click.ClickException(f"{option}: expected exactly one scorecard-*.json, found {listed}; "
                                       "give --model FILE")
        return found[0]
    if not option.is_file():
        raise click.ClickException(f"{option}: no such model file or directory")
    return option


@scoring_cli.command("evaluate")
@click.argument("data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_option", type=click.Path(path_type=Path),
              help=f"Scorecard file, or a directory with one (default: ${MODEL_DIR_ENV}).")
@click.option("--approve-below", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Approve when PD is below this (default: the model's approval cut-off).")
def evaluate_command(data_file: Path, model_option: Path | None, approve_below: float | None) -> None:
    """Score DATA_FILE (german.data format) with a model: AUC, KS, Gini, bad rate per grade and
    the 5:1 cost at the approval cut-off. The last line is JSON."""
    path = _model_path(model_option)
    try:
        model: Scorecard = load_model(path)
    except ModelError as error:
        raise click.ClickException(str(error)) from None
    rows, labels = _read(data_file)
    if len(set(labels)) < 2:
        raise click.ClickException(f"{data_file}: needs both good and bad applicants to measure AUC and KS")
    cutoff = approve_below if approve_below is not None else model.approval_max_pd
    pds = [model.predict_pd(row) for row in rows]
    figures = metrics.summary(pds, labels, cutoff)
    click.echo(f"model {model.version} ({path}) on {data_file}: {len(rows)} applicants, {sum(labels)} bad")
    click.echo(f"AUC  {figures['auc']:.4f}")
    click.echo(f"KS   {figures['ks']:.4f}")
    click.echo(f"Gini {figures['gini']:.4f}")
    click.echo("grade  max PD  applicants  bad  bad rate")
    table = metrics.bad_rate_by_grade([model.grade(pd) for pd in pds], labels, [g for g, _ in model.grades])
    for grade, max_pd in model.grades:
        row = table[grade]
        rate = "-" if row["bad_rate"] is None else f"{row['bad_rate']:.3f}"
        click.echo(f"{grade:<5}  {max_pd:>6.4f}  {row['count']:>10}  {row['bad']:>3}  {rate:>8}")
    click.echo(f"approve PD < {cutoff:.4f}: approval rate {figures['approval_rate']:.3f}, expected cost "
               f"{figures['cost_per_applicant']:.4f} per applicant (bad accepted 5, good refused 1)")
    click.echo(json.dumps({"auc": round(figures["auc"], 4), "ks": round(figures["ks"], 4),
                           "cost_per_applicant": round(figures["cost_per_applicant"], 4)}))
