"""``flask clients …`` and ``flask apikeys …``: the platform operator's tenancy commands.

They call the operations the admin portal calls (``caas.tenancy.operations``, ``apikeys``), as the
operator ``cli:<os user>``; a tenant's rows are touched inside the audited ``platform_access``.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from caas.core.cli_output import (OperatorGroup, both_or_neither, committing, emit, emit_record, json_option, operator,
                                  require, split_list)
from caas.tenancy.models import Client, Status, Tier

clients_cli = OperatorGroup("clients", help="Clients (tenants): create, list, suspend, reactivate.")
apikeys_cli = OperatorGroup("apikeys", help="A client's API keys: create (the secret is printed once), list.")

# Where a currency names one country, `--country` may be left out.
COUNTRY_OF_CURRENCY = {"NGN": "NG", "GHS": "GH", "KES": "KE", "ZAR": "ZA", "UGX": "UG", "USD": "US", "GBP": "GB"}
CLIENT_COLUMNS = [("slug", "SLUG"), ("display_name", "NAME"), ("tier", "TIER"), ("currency", "CURRENCY"),
                  ("country", "COUNTRY"), ("status", "STATUS"), ("created_at", "CREATED")]
KEY_COLUMNS = [("prefix", "PREFIX"), ("name", "NAME"), ("mode", "MODE"), ("scopes", "SCOPES"), ("status", "STATUS"),
               ("created_at", "CREATED"), ("last_used_at", "LAST USED")]


def client_row(client: Client) -> dict:
    return {"id": client.id, "slug": client.slug, "legal_name": client.legal_name,
            "display_name": client.display_name, "tier": client.tier, "currency": client.default_currency,
            "country": client.country, "status": client.status, "services": client.enabled_services,
            "created_at": client.created_at}


def client_by_slug(session, slug: str) -> Client:
    from caas.tenancy import operations

    return require(operations.get_client_by_slug(session, slug), f"client {slug!r}")


@clients_cli.command("create")
@click.option("--name", required=True, help="Legal name, e.g. 'Demo Lend Ltd'.")
@click.option("--slug", required=True, help="Portal slug: 3-63 lower-case letters, digits, hyphens.")
@click.option("--tier", type=click.Choice([t.value for t in Tier]), default=Tier.starter.value, show_default=True)
@click.option("--currency", required=True, help="Default ISO 4217 currency, e.g. NGN.")
@click.option("--country", default=None, help="ISO 3166 code; defaults from the currency (NGN → NG).")
@click.option("--display-name", default=None, help="Name borrowers see (default: --name).")
@click.option("--colour", default="#0d6efd", show_default=True, help="Brand colour, #rrggbb.")
@click.option("--admin-email", default=None, help="Invite this first client admin (e-mailed a one-time link).")
@click.option("--admin-name", default=None, help="The invited admin's name (with --admin-email).")
@json_option
@with_appcontext
def clients_create(name, slug, tier, currency, country, display_name, colour, admin_email, admin_name,
                   as_json) -> None:
    """Create a client with its default credit policy (and optionally invite its first admin)."""
    from caas.tenancy import operations

    country = country or COUNTRY_OF_CURRENCY.get(currency.strip().upper())
    if not country:
        raise click.UsageError(f"--country: give the country for currency {currency.upper()}")
    both_or_neither(("--admin-email", admin_email), ("--admin-name", admin_name))
    values = dict(slug=slug, legal_name=name, display_name=display_name or name, country=country,
                  currency=currency, brand_colour=colour, tier=tier)
    with committing(fields={"legal_name": "name", "brand_colour": "colour", "email": "admin_email",
                            "full_name": "admin_name"}) as session:
        if admin_email:
            client = operations.onboard_client(session, operator(), admin_email=admin_email, admin_name=admin_name,
                                               **values)
        else:
            client = operations.create_client(session, operator(), **values)
    emit_record(client_row(client), as_json, labels=[("slug", "created client"), ("id", "id"),
                                                      ("tier", "tier"), ("currency", "currency")])


@clients_cli.command("list")
@click.option("--status", type=click.Choice(["active", "suspended"]), default=None, help="Only these.")
@click.option("--search", default="", help="Part of the name or slug.")
@json_option
@with_appcontext
def clients_list(status, search, as_json) -> None:
    """Every client, by slug."""
    from caas.tenancy import operations

    with committing() as session:
        rows, after = [], None
        while True:  # the admin list's keyset pages, all of them
            page, after = operations.list_clients(session, q=search, status=status or "", after=after, limit=500)
            rows += [client_row(c) for c in page]
            if after is None:
                break
    emit(rows, CLIENT_COLUMNS, as_json, empty="no clients")


def _status_command(name: str, status: Status, help: str) -> None:
    @clients_cli.command(name, help=help)
    @click.argument("slug")
    @click.option("--reason", required=True, help="Why (kept in the audit log).")
    @with_appcontext
    def command(slug: str, reason: str) -> None:
        from caas.tenancy import operations

        with committing() as session:
            client = operations.set_client_status(session, operator(), client_by_slug(session, slug).id, status,
                                                  reason)
        click.echo(f"{client.slug} is now {client.status.value}")


_status_command("suspend", Status.suspended,
                "Suspend a client: its API keys answer 403, its portal and admins are shut out. Audited.")
_status_command("activate", Status.active, "Reactivate a suspended client. Audited.")


@apikeys_cli.command("create")
@click.option("--client", "client_slug", required=True, help="The client's slug.")
@click.option("--name", required=True, help="What the key is for, e.g. 'production backend'.")
@click.option("--scopes", required=True, help="Comma-separated scopes, e.g. applications:read,applications:write.")
@click.option("--mode", type=click.Choice(["live", "sandbox"]), default="live", show_default=True)
@json_option
@with_appcontext
def apikeys_create(client_slug, name, scopes, mode, as_json) -> None:
    """Issue an API key. The secret is printed this once; only its hash is stored."""
    from caas.tenancy import apikeys, operations

    wanted = split_list(scopes)
    unknown = [s for s in wanted if s not in apikeys.SCOPES]
    if unknown or not wanted:
        raise click.UsageError(f"--scopes: unknown scope {unknown[0]!r}; known: {', '.join(apikeys.SCOPES)}"
                               if unknown else f"--scopes: name at least one of {', '.join(apikeys.SCOPES)}")
    with committing() as session:
        client = client_by_slug(session, client_slug)
        with operations.platform_access(session, operator(), client_id=client.id, reason="cli apikeys create"):
            key, secret = apikeys.issue(session, operator(), client.id, name=name, mode=mode, scopes=wanted)
    data = {"id": key.id, "client": client.slug, "name": key.name, "mode": key.mode, "scopes": key.scopes,
            "prefix": key.prefix, "secret": secret}
    emit_record(data, as_json, labels=[("secret", "secret"), ("prefix", "prefix"), ("client", "client"),
                                       ("scopes", "scopes"), ("mode", "mode")])
    if not as_json:
        click.echo("Store the secret now: it is not shown again.", err=True)


@apikeys_cli.command("list")
@click.option("--client", "client_slug", required=True, help="The client's slug.")
@json_option
@with_appcontext
def apikeys_list(client_slug, as_json) -> None:
    """A client's keys by prefix (never the secret), newest first."""
    from caas.tenancy import apikeys, operations

    with committing() as session:
        client = client_by_slug(session, client_slug)
        with operations.platform_access(session, operator(), client_id=client.id, reason="cli apikeys list"):
            rows = [{"id": k.id, "prefix": k.prefix, "name": k.name, "mode": k.mode, "scopes": k.scopes,
                     "status": "active" if k.is_active else "revoked", "created_at": k.created_at,
                     "last_used_at": k.last_used_at} for k in apikeys.list_keys(session)]
    emit(rows, KEY_COLUMNS, as_json, empty=f"{client.slug} has no API keys")
