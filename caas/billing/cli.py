"""``flask billing run --period 2026-10 [--client slug]`` and ``flask billing issue --period 2026-10``."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from caas.audit.operations import Actor
from caas.core.errors import DomainError

billing_cli = click.Group("billing", help="Usage billing: monthly runs and invoices.")


@billing_cli.command("run")
@click.option("--period", required=True, help="The month to bill, YYYY-MM.")
@click.option("--client", "client_slug", default=None, help="Only this client (its slug).")
@with_appcontext
def run_command(period: str, client_slug: str | None) -> None:
    """Bill a period: one draft invoice per client; a re-run changes nothing."""
    from caas.billing import run
    from caas.core.extensions import db

    try:
        result = run.execute(db.session, period, client_slug=client_slug, triggered_by="cli")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"billing {result.period}: {result.invoices_created} invoices created, "
               f"{result.invoices_existing} already existed, {result.lines_created} lines, "
               f"{result.duration_ms} ms")


@billing_cli.command("issue")
@click.option("--period", required=True, help="Issue every draft invoice of this month.")
@with_appcontext
def issue_command(period: str) -> None:
    """Issue all draft invoices of a period (posts receivables, emits billing.invoice.issued)."""
    from caas.billing import invoices
    from caas.core.extensions import db

    try:
        issued = invoices.issue_period(db.session, Actor.system("cli"), period)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"issued {issued} invoices of {period}")
