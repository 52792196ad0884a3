"""`flask sanctions import` and `flask sanctions match`: the commands that need the database.
They join the pure `sanctions` group (compare) when the app registers its commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.command("import")
@click.argument("sdn_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--alt", "alt_file", type=click.Path(dir_okay=False, path_type=Path), help="OFAC alt.csv")
@with_appcontext
def import_command(sdn_file: Path, alt_file: Path | None) -> None:
    """Load an OFAC SDN CSV (legacy format) and make it the active list. A malformed file is
    refused with its line number and the list already loaded stays in use."""
    from caas.audit.operations import Actor
    from caas.core.extensions import db
    from caas.screening import lists
    from caas.screening.sdn import SdnFormatError

    try:
        sdn_text = sdn_file.read_text(encoding="latin-1")
        alt_text = alt_file.read_text(encoding="latin-1") if alt_file else None
    except OSError as exc:
        raise click.ClickException(f"cannot read {exc.filename}: {exc.strerror}") from None
    try:
        loaded = lists.import_list(db.session, Actor.system("cli"), sdn_text, alt_text, sdn_name=sdn_file.name,
                                   alt_name=alt_file.name if alt_file else "alt.csv")
    except SdnFormatError as exc:
        db.session.rollback()
        click.echo(f"refused: {exc}; the list already loaded stays in use", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"loaded {loaded.entry_count} entries and {loaded.alias_count} alternate names "
               f"(sha256 {loaded.sha256[:16]}…)")


@click.command("match")
@click.argument("name")
@click.option("--dob", type=click.DateTime(formats=["%Y-%m-%d"]), help="Date of birth, YYYY-MM-DD")
@click.option("--threshold", default=85, show_default=True, type=click.IntRange(0, 100))
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100))
@with_appcontext
def match_command(name: str, dob, threshold: int, limit: int) -> None:
    """Print the top matches of NAME against the active list, with scores."""
    from caas.core.extensions import db
    from caas.screening import lists

    loaded, index = lists.index_for(db.session)
    if index is None:
        raise click.ClickException("no sanctions list is loaded; run `flask sanctions import SDN.csv --alt ALT.csv`")
    hits = index.search(name, dob.date() if dob else None, threshold, limit)
    for hit in hits:
        alias = f" (as {hit.alias_type} {hit.matched_name})" if hit.alias_type else ""
        click.echo(f"{hit.score:>3}  {hit.ent_num:>6}  {hit.listed_name}{alias}  [{hit.dob_check}] {hit.programs or ''}")
    if not hits:
        click.echo(f"no match at or above {threshold}")


def attach(group: click.Group) -> None:
    group.add_command(import_command)
    group.add_command(match_command)
