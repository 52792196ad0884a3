"""``flask sanctions compare``: the matcher's score of two names, or of every pair in a CSV file.

A plain click group (no app context needed); the app adds the commands that need the database
(``import``, ``match``) and registers it with ``app.cli.add_command(sanctions_cli)``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import click

from caas.screening.matcher import compare as compare_names

sanctions_cli = click.Group("sanctions", help="Sanctions lists and screening.")


def _pairs(path: Path) -> list[tuple[str, str]]:
    """(name1, name2) of each data row; refuses the file at the first line that does not fit."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{path}: not UTF-8 text ({error.reason})") from None
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    pairs: list[tuple[str, str]] = []
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            raise click.ClickException(f"{path}: line 1: empty file, expected a header with name1,name2")
        columns = [column.strip().lower() for column in header]
        missing = [name for name in ("name1", "name2") if name not in columns]
        if missing:
            raise click.ClickException(f"{path}: line 1: header lacks {', '.join(missing)}")
        first, second = columns.index("name1"), columns.index("name2")
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row or not any(cell.strip() for cell in row):
                continue  # blank line
            if len(row) != len(header):
                raise click.ClickException(f"{path}: line {line}: expected {len(header)} fields, found {len(row)}")
            name1, name2 = row[first].strip(), row[second].strip()
            if not name1 or not name2:
                raise click.ClickException(f"{path}: line {line}: {'name1' if not name1 else 'name2'} is empty")
            pairs.append((name1, name2))
    except csv.Error as error:
        raise click.ClickException(f"{path}: line {start}: unreadable CSV ({error})") from None
    return pairs


@sanctions_cli.command("compare")
@click.argument("names", nargs=-1)
@click.option("--pairs", "pairs_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV file with columns name1,name2 (others ignored): one score per row, in order.")
def compare_command(names: tuple[str, ...], pairs_file: Path | None) -> None:
    """Score NAME1 (the applicant) against NAME2 (a listed name), 0-100. The score is the last line."""
    if pairs_file is not None:
        if names:
            raise click.UsageError("give either two names or --pairs FILE, not both")
        for name1, name2 in _pairs(pairs_file):
            click.echo(compare_names(name1, name2).score)
        return
    if len(names) != 2:
        raise click.UsageError(f"expected two names, got {len(names)}")
    result = compare_names(*names)
    click.echo(f"whole name: {result.whole_name * 100:.1f}")
    parts = ", ".join(f"{query}~{listed or '-'} {similarity * 100:.1f}" for query, listed, similarity in result.pairs)
    click.echo(f"per part:   {result.per_part * 100:.1f} ({parts})")
    click.echo(result.score)
