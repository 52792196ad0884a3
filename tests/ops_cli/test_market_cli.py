"""``flask providers …``: onboarding and funding through the same operations as the admin pages;
amounts parsed in the currency's minor units (never float), the deposit idempotent by reference."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from caas import ledger
from caas.ledger.models import JournalEntry
from caas.tenancy.models import Provider, Role, User
from tests import factories
from tests.ops_cli.conftest import OPERATOR, as_json, audit_rows, ok, refused


def name() -> str:
    return f"Lender {uuid.uuid4().hex[:8]}"


def test_providers_create_with_currencies_and_an_invited_user(db, cli):
    legal = name()
    data = as_json(cli("providers", "create", "--name", legal, "--licence", "CBN-1", "--country", "ng",
                       "--currencies", "ngn, usd", "--user-email", "lola@lender.example.com", "--user-name", "Lola",
                       "--json"))
    provider = db.get(Provider, uuid.UUID(data["id"]))
    assert (provider.legal_name, provider.country, provider.currencies) == (legal, "NG", ["NGN", "USD"])
    assert data["funds"] == [{"currency": "NGN", "available_minor": 0, "reserved_minor": 0},
                             {"currency": "USD", "available_minor": 0, "reserved_minor": 0}]
    user = db.scalar(select(User).where(User.email == "lola@lender.example.com"))
    assert user.role == Role.provider_user and user.provider_id == provider.id
    [entry] = [e for e in audit_rows(db, "provider.create") if e.target_id == str(provider.id)]
    assert entry.actor_role == OPERATOR


def test_providers_create_refuses_in_one_line(db, cli):
    taken = factories.provider(db)
    db.commit()
    assert "--name: A provider with this legal name exists." in refused(
        cli("providers", "create", "--name", taken.legal_name.upper(), "--licence", "L", "--country", "NG"), code=1)
    assert "--currencies: Use ISO 4217 codes" in refused(
        cli("providers", "create", "--name", name(), "--licence", "L", "--country", "NG", "--currencies", "NGN,XXQ"))
    assert "--country: Use a two-letter" in refused(
        cli("providers", "create", "--name", name(), "--licence", "L", "--country", "Nigeria"))
    assert "Missing option '--licence'" in refused(cli("providers", "create", "--name", name(), "--country", "NG"),
                                                   code=2)
    assert db.scalar(select(func.count()).select_from(Provider)) == 1


def test_providers_fund_posts_the_deposit_in_minor_units_once_per_reference(db, cli):
    provider = factories.provider(db, currencies=["NGN"])
    db.commit()
    out = ok(cli("providers", "fund", "--provider", provider.legal_name, "--amount", "50000.00", "--currency", "NGN",
                 "--reference", "BANK-REF-1"))
    assert "amount         50,000.00 NGN" in out and "available now  50,000.00 NGN" in out
    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 5_000_000
    data = as_json(cli("providers", "fund", "--provider", str(provider.id), "--amount", "1234.56",
                       "--currency", "ngn", "--reference", "BANK-REF-2", "--json"))
    assert (data["amount_minor"], data["available_minor"], data["currency"], data["recorded"]) == \
        (123_456, 5_123_456, "NGN", True)
    again = ok(cli("providers", "fund", "--provider", provider.legal_name, "--amount", "1234.56", "--currency", "NGN",
                   "--reference", "BANK-REF-2"))
    assert "BANK-REF-2 was already recorded; nothing changed" in again
    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 5_123_456
    funded = [e for e in audit_rows(db, "ledger.provider_funded") if e.target_id == str(provider.id)]
    assert [(e.actor_role, e.after["amount_minor"]) for e in funded] == [(OPERATOR, 5_000_000), (OPERATOR, 123_456)]


def test_providers_fund_refuses_bad_amounts_currencies_and_providers(db, cli):
    provider = factories.provider(db, currencies=["NGN"])
    db.commit()
    entries = db.scalar(select(func.count()).select_from(JournalEntry))

    def fund(amount="100.00", currency="NGN", ref=provider.legal_name):
        return cli("providers", "fund", "--provider", ref, "--amount", amount, "--currency", currency,
                   "--reference", "R-1")

    assert "--amount: NGN has 2 decimal places, got '100.005'" in refused(fund("100.005"), code=2)
    assert "--amount: JPY has 0 decimal places" in refused(fund("100.5", "JPY"), code=2)
    assert "--amount: the amount must be positive" in refused(fund("-5"), code=2)
    assert "--amount: 'lots' is not an amount" in refused(fund("lots"), code=2)
    assert "--currency: 'NAIRA' is not an ISO 4217 currency" in refused(fund(currency="NAIRA"), code=2)
    assert f"--currency: {provider.legal_name} lends in NGN, not USD." in refused(fund(currency="USD"), code=1)
    assert refused(fund(ref="Nobody Capital")) == "Error: provider 'Nobody Capital' not found"
    assert refused(fund(ref=str(uuid.uuid4()))).endswith("not found")
    assert db.scalar(select(func.count()).select_from(JournalEntry)) == entries
    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 0


def test_providers_list_shows_funds_per_currency(db, cli):
    provider = factories.provider(db, currencies=["NGN", "KES"])
    ledger.fund_provider(db, factories.SYSTEM, provider.id, 250_000_00, "NGN", "DEP-1")
    db.commit()
    table = ok(cli("providers", "list"))
    assert table.splitlines()[0].split()[:3] == ["NAME", "LICENCE", "COUNTRY"]
    assert provider.legal_name in table and "250,000.00 NGN,0.00 KES" in table
    [row] = [r for r in as_json(cli("providers", "list", "--json")) if r["id"] == str(provider.id)]
    assert row["funds"][0] == {"currency": "NGN", "available_minor": 25_000_000, "reserved_minor": 0}
    assert "'--status'" in refused(cli("providers", "list", "--status", "all"), code=2)
