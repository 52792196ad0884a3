"""``flask audit verify``: walk the audit log's hash chain (as the owner, who sees every tenant's rows)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from caas.core.cli_output import OperatorGroup, echo_json, json_option

audit_cli = OperatorGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
@json_option
@with_appcontext
def verify_command(as_json: bool) -> None:
    """Walk the hash chain; exit 1 naming the first broken row."""
    from sqlalchemy import create_engine

    from caas.audit.operations import verify_chain

    engine = create_engine(current_app.config["DATABASE_URL"])  # the owner sees every tenant's rows
    try:
        with engine.connect() as conn:
            report = verify_chain(conn)
    finally:
        engine.dispose()
    if as_json:
        echo_json({"intact": report.broken_at is None, "rows": report.rows, "broken_at": report.broken_at,
                   "reason": report.reason})
    if report.broken_at is not None:
        if not as_json:
            click.echo(f"audit chain BROKEN at chain position {report.broken_at}: {report.reason}", err=True)
        raise SystemExit(1)
    if not as_json:
        click.echo(f"audit chain intact: {report.rows} rows")
