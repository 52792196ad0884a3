"""`flask scoring train` and `flask scoring evaluate`."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

# With the 5:1 cost matrix (a bad accepted costs 5, a good refused costs 1) approving is worth it
# while 5·PD < 1·(1 − PD), i.e. PD < 1/6: the Bayes-optimal approval cut-off.
APPROVAL_CUTOFF_PD = 1 / 6


@click.group("scoring")
def scoring_cli() -> None:
    """The credit scorecard."""


@scoring_cli.command("train")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def train_command(data: Path) -> None:
    """Train the WoE scorecard on german.data-format DATA, store it by content hash, activate it."""
    from caas.audit.operations import Actor
    from caas.core.extensions import db
    from caas.credit import scoring_models

    artifact = scoring_models.train_from_file(data)
    model = scoring_models.register(db.session, Actor.system("cli"), artifact)
    db.session.commit()
    click.echo(f"model {model.version} active; 5-fold CV {json.dumps(artifact['metrics'])}")


@scoring_cli.command("evaluate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def evaluate_command(file: Path) -> None:
    """AUC, KS, Gini, bad rate per grade and the 5:1 expected cost of the active model on FILE."""
    from caas.core.extensions import db
    from caas.credit import scoring, woe_scorecard

    model = scoring.active_model(db.session)
    if model is None:
        raise click.ClickException("no active model: run `flask scoring train --data …` first")
    try:
        rows, bad = woe_scorecard.read_german(file)
    except ValueError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    card = woe_scorecard.Scorecard(model.artifact)
    predictions = [card.predict(row) for row in rows]
    pds = [float(p.pd) for p in predictions]
    auc = woe_scorecard.auc(pds, bad)
    ks = woe_scorecard.ks(pds, bad)
    click.echo(f"model {model.version} on {len(rows)} applicants")
    click.echo(f"AUC {auc:.4f}  KS {ks:.4f}  Gini {2 * auc - 1:.4f}")
    for grade in "ABCDE":
        members = [b for p, b in zip(predictions, bad) if p.grade == grade]
        rate = f"{sum(members) / len(members):.1%}" if members else "—"
        click.echo(f"grade {grade}: {len(members):>4} applicants, bad rate {rate}")
    cost = sum(5 if (pd <= APPROVAL_CUTOFF_PD and b) else 1 if (pd > APPROVAL_CUTOFF_PD and not b) else 0
               for pd, b in zip(pds, bad)) / len(rows)
    click.echo(f"expected cost per applicant at PD cut-off 1/6: {cost:.4f}")
    click.echo(json.dumps({"auc": round(auc, 4), "ks": round(ks, 4), "cost_per_applicant": round(cost, 4)}))
