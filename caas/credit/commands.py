"""`flask scoring use`: put a trained scorecard file into service. It joins the pure `scoring`
group (train, evaluate) of caas.credit.scorecard.cli when the app registers its commands."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.command("use")
@click.argument("model_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def use_command(model_file: Path) -> None:
    """Store MODEL_FILE (from `flask scoring train --out DIR`) by its version and make it the
    model every worker scores with. An altered file is refused."""
    from caas.audit.operations import Actor
    from caas.core.extensions import db
    from caas.credit import scoring_models
    from caas.credit.scorecard.model import ModelError

    try:
        artifact = json.loads(model_file.read_text())
        model = scoring_models.register(db.session, Actor.system("cli"), artifact)
    except (ValueError, ModelError) as exc:
        db.session.rollback()
        raise click.ClickException(f"{model_file}: {exc}") from None
    db.session.commit()
    click.echo(f"model {model.version} is now in use")


def attach(group: click.Group) -> None:
    group.add_command(use_command)
