"""Flask CLI commands: set-up, demo data, worker, outbox relay, the RLS gate, and the areas' groups
(clients, apikeys, providers, applications, loans, billing, audit, sanctions, scoring)."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


@click.command("setup-db")
@with_appcontext
def setup_db_command() -> None:
    """Create the database if missing, migrate it as the owner, and (re)grant the app role."""
    from flask_migrate import upgrade

    from caas.core import dbsetup

    cfg = current_app.config
    if dbsetup.ensure_database(cfg["DATABASE_URL"]):
        click.echo("created database")
    # "heads": business areas may add migration branches in parallel; all of them are applied.
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
    dbsetup.ensure_app_role(cfg["DATABASE_URL"], cfg["DB_APP_ROLE"], cfg["DB_APP_PASSWORD"])
    click.echo(f"database ready; app role {cfg['DB_APP_ROLE']} granted")


def _load_demo() -> None:
    from caas import demo

    created = demo.load()
    click.echo(f"demo data: {created} new rows" if created else "demo data: already present")


@click.command("demo-data")
@with_appcontext
def demo_data_command() -> None:
    """Load demo data (the same as ``flask demo seed``). Idempotent: a second run adds nothing."""
    _load_demo()


@click.group("demo")
def demo_group() -> None:
    """Demo data."""


@demo_group.command("seed")
@with_appcontext
def demo_seed_command() -> None:
    """Load the demo clients, lenders, logins and data. Idempotent: a second run adds nothing."""
    _load_demo()


@demo_group.command("code")
def demo_code_command() -> None:
    """The demo admins' current two-factor code (their authenticator app, for local use)."""
    import pyotp

    from caas import demo

    click.echo(pyotp.TOTP(demo.TOTP_SECRET).now())


@click.command("worker")
@click.option("--queue", "-q", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--no-cron", is_flag=True, help="Do not run the periodic-job scheduler in this worker.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool, no_cron: bool) -> None:
    """Run a non-forking RQ worker with the scheduler."""
    from caas.core import worker

    worker.run(current_app._get_current_object(), list(queues) or None, burst=burst, with_cron=not no_cron)


@click.group("outbox")
def outbox_group() -> None:
    """The transactional outbox."""


@outbox_group.command("relay")
@click.option("--min-age", default=0, show_default=True, help="Only rows older than this many seconds.")
@with_appcontext
def relay_command(min_age: int) -> None:
    """Send outbox rows that have not reached Redis."""
    from caas.core.extensions import db
    from caas.events import outbox

    click.echo(f"sent {outbox.relay(db.engine, min_age_seconds=min_age)}")


@click.command("rls-gate")
@with_appcontext
def rls_gate_command() -> None:
    """Fail when a table with client_id lacks row-level security, FORCE or a policy."""
    from sqlalchemy import create_engine

    from caas.core import rls

    engine = create_engine(current_app.config["DATABASE_URL"])
    with engine.connect() as conn:
        problems = rls.unprotected_tables(conn)
        tables = rls.tenant_tables(conn)
    engine.dispose()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{len(tables)} tenant tables, all with FORCE row-level security and policies")


def register(app: Flask) -> None:
    for command in (setup_db_command, demo_data_command, demo_group, worker_command, outbox_group, rls_gate_command):
        app.cli.add_command(command)
    from caas.audit.cli import audit_cli
    from caas.credit.cli import applications_cli
    from caas.market.cli import providers_cli
    from caas.tenancy.cli import apikeys_cli, clients_cli

    for group in (clients_cli, apikeys_cli, providers_cli, applications_cli, audit_cli):
        app.cli.add_command(group)
    from caas.loans.cli import loans_cli

    app.cli.add_command(loans_cli)
    from caas.billing.cli import billing_cli

    app.cli.add_command(billing_cli)
    from caas.core.jobs_cli import jobs_cli

    app.cli.add_command(jobs_cli)
    from caas.screening.cli import sanctions_cli
    from caas.screening.commands import attach

    attach(sanctions_cli)
    app.cli.add_command(sanctions_cli)
    from caas.credit.commands import attach as attach_scoring
    from caas.credit.scorecard.cli import scoring_cli

    attach_scoring(scoring_cli)
    app.cli.add_command(scoring_cli)
