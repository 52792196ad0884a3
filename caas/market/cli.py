"""``flask providers …``: onboard lenders and record their funding deposits, as the operator.

The same operations as the admin portal's provider pages (``tenancy.operations.create_provider`` /
``onboard_provider``, ``ledger.fund_provider``), audited as ``cli:<os user>``. Providers are shared
across clients, so no tenant is involved.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from caas.core.cli_output import (OperatorGroup, both_or_neither, committing, emit, emit_record, json_option, operator,
                                  parse_amount, parse_currency, parse_uuid, require, split_list)
from caas.money import describe
from caas.tenancy.models import Provider

providers_cli = OperatorGroup("providers", help="Providers (lenders): create, list, record funding.")

PROVIDER_COLUMNS = [("legal_name", "NAME"), ("licence_number", "LICENCE"), ("country", "COUNTRY"),
                    ("currencies", "CURRENCIES"), ("status", "STATUS"), ("available", "AVAILABLE"),
                    ("reserved", "RESERVED")]


def provider_row(session, provider: Provider) -> dict:
    from caas import ledger

    funds = [ledger.provider_funds(session, provider.id, c) for c in provider.currencies or []]
    return {"id": provider.id, "legal_name": provider.legal_name, "licence_number": provider.licence_number,
            "country": provider.country, "currencies": provider.currencies, "status": provider.status,
            "funds": [{"currency": f.currency, "available_minor": f.available_minor,
                       "reserved_minor": f.reserved_minor} for f in funds],
            "available": [describe(f.available_minor, f.currency) for f in funds],
            "reserved": [describe(f.reserved_minor, f.currency) for f in funds]}


def find_provider(session, ref: str) -> Provider:
    """By id, or by legal name (any case)."""
    ident = parse_uuid(ref)
    found = session.get(Provider, ident) if ident else session.scalar(
        select(Provider).where(func.lower(Provider.legal_name) == ref.strip().lower()))
    return require(found, f"provider {ref!r}")


@providers_cli.command("create")
@click.option("--name", required=True, help="Legal name of the lender.")
@click.option("--licence", required=True, help="Licence number.")
@click.option("--country", required=True, help="ISO 3166 code, e.g. NG.")
@click.option("--currencies", default="", help="Comma-separated ISO 4217 codes it lends in, e.g. NGN,USD.")
@click.option("--user-email", default=None, help="Invite this provider user (e-mailed a one-time link).")
@click.option("--user-name", default=None, help="The invited user's name (with --user-email).")
@json_option
@with_appcontext
def providers_create(name, licence, country, currencies, user_email, user_name, as_json) -> None:
    """Onboard a provider; its funding accounts start at zero."""
    from caas.tenancy import operations

    both_or_neither(("--user-email", user_email), ("--user-name", user_name))
    values = dict(legal_name=name, licence_number=licence, country=country, currencies=split_list(currencies))
    with committing(fields={"legal_name": "name", "licence_number": "licence", "email": "user_email",
                            "full_name": "user_name"}) as session:
        if user_email:
            provider = operations.onboard_provider(session, operator(), user_email=user_email, user_name=user_name,
                                                   **values)
        else:
            provider = operations.create_provider(session, operator(), **values)
        row = provider_row(session, provider)
    emit_record(row, as_json, labels=[("legal_name", "created provider"), ("id", "id"),
                                      ("currencies", "currencies")])


@providers_cli.command("list")
@click.option("--status", type=click.Choice(["active", "suspended"]), default=None, help="Only these.")
@json_option
@with_appcontext
def providers_list(status, as_json) -> None:
    """Every provider with its available and reserved funds per currency."""
    from caas.tenancy import operations

    with committing() as session:
        rows, after = [], None
        while True:
            page, after = operations.list_providers(session, status=status or "", after=after, limit=500)
            rows += [provider_row(session, p) for p in page]
            if after is None:
                break
    emit(rows, PROVIDER_COLUMNS, as_json, empty="no providers")


@providers_cli.command("fund")
@click.option("--provider", "provider_ref", required=True, help="The provider's id or legal name.")
@click.option("--amount", required=True, help="Amount in major units, e.g. 50000.00.")
@click.option("--currency", required=True, help="ISO 4217 code, one the provider lends in.")
@click.option("--reference", required=True,
              help="The deposit's bank reference: recording the same reference again changes nothing.")
@click.option("--via", default="bank", show_default=True, help="Where the money arrived (bank or a gateway).")
@json_option
@with_appcontext
def providers_fund(provider_ref, amount, currency, reference, via, as_json) -> None:
    """Record a funding deposit: Dr gateway clearing / Cr the provider's available funds. Idempotent
    per (provider, reference); audited as ledger.provider_funded."""
    from caas import ledger

    currency = parse_currency(currency)
    amount_minor = parse_amount(amount, currency)
    with committing(fields={"amount_minor": "amount"}) as session:
        provider = find_provider(session, provider_ref)
        before = ledger.provider_funds(session, provider.id, currency)
        entry = ledger.fund_provider(session, operator(), provider.id, amount_minor, currency, reference, via=via)
        funds = ledger.provider_funds(session, provider.id, currency)
    recorded = funds.available_minor != before.available_minor  # else the reference was recorded before
    data = {"provider": provider.legal_name, "provider_id": provider.id, "entry_id": entry.id, "recorded": recorded,
            "amount_minor": amount_minor, "currency": currency, "reference": reference.strip(),
            "available_minor": funds.available_minor, "reserved_minor": funds.reserved_minor,
            "amount": describe(amount_minor, currency), "available": describe(funds.available_minor, currency)}
    if not recorded and not as_json:
        click.echo(f"reference {data['reference']} was already recorded; nothing changed")
    emit_record(data, as_json, labels=[("provider", "funded"), ("amount", "amount"), ("reference", "reference"),
                                       ("available", "available now"), ("entry_id", "journal entry")])
