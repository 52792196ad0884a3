"""``flask billing run --period 2026-10 [--client slug]``, ``flask billing issue --period 2026-10`` and
``flask billing invoices [--client slug] [--period 2026-10] [--json]``."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from caas.billing.models import InvoiceStatus
from caas.core.cli_output import OperatorCommand, committing, emit, json_option, operator, os_user
from caas.core.errors import DomainError
from caas.money import describe

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
        result = run.execute(db.session, period, client_slug=client_slug, triggered_by=f"cli:{os_user()}")
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
        issued = invoices.issue_period(db.session, operator(), period)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"issued {issued} invoices of {period}")


INVOICE_COLUMNS = [("number", "NUMBER"), ("client", "CLIENT"), ("period", "PERIOD"), ("status", "STATUS"),
                   ("total_display", "TOTAL"), ("due_date", "DUE"), ("issued_at", "ISSUED")]


@billing_cli.command("invoices", cls=OperatorCommand)
@click.option("--client", "client_slug", default=None, help="One client's invoices (its slug); default all clients.")
@click.option("--period", default=None, help="Only this month, YYYY-MM.")
@click.option("--status", type=click.Choice([s.value for s in InvoiceStatus]), default=None, help="Only these.")
@json_option
@with_appcontext
def invoices_command(client_slug: str | None, period: str | None, status: str | None, as_json: bool) -> None:
    """Invoices, newest period first, read through the audited platform access (one client, or all)."""
    from caas.billing import invoices
    from caas.tenancy.cli import client_by_slug
    from caas.tenancy.models import Client
    from caas.tenancy.operations import platform_access

    with committing() as session:
        client = client_by_slug(session, client_slug) if client_slug else None
        with platform_access(session, operator(), client_id=client.id if client else None,
                             reason="cli billing invoices"):
            found = invoices.list_invoices(session, invoices.InvoiceFilters(
                client_id=client.id if client else None, period=period, status=status), limit=10_000)
        slugs = dict(session.execute(select(Client.id, Client.slug).where(
            Client.id.in_({i.client_id for i in found}))).all()) if found else {}
    rows = [{**invoices.serialise(i), "client": slugs[i.client_id],
             "total_display": describe(i.total_minor, i.currency)} for i in found]
    emit(rows, INVOICE_COLUMNS, as_json, empty="no invoices")
