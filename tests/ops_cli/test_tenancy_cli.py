"""``flask clients …`` and ``flask apikeys …``: the same operations as the admin portal, audited as
the operator, one-line refusals that leave nothing behind, the API key's secret printed once."""
from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import func, select

from caas.core import tenant
from caas.tenancy import apikeys
from caas.tenancy.models import ApiKey, Client, CreditPolicy, Role, Status, User
from tests import factories
from tests.ops_cli.conftest import OPERATOR, as_json, audit_rows, ok, refused


def slug() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def client_row(db, slug_: str) -> Client | None:
    return db.scalar(select(Client).where(Client.slug == slug_).execution_options(populate_existing=True))


def test_clients_create_makes_the_client_with_its_policy_and_audits_the_operator(db, cli):
    name = slug()
    out = ok(cli("clients", "create", "--name", "Kopa Credit Ltd", "--slug", name, "--tier", "professional",
                 "--currency", "ghs"))
    client = client_row(db, name)
    assert f"created client  {name}" in out and str(client.id) in out
    assert (client.legal_name, client.display_name, client.tier.value, client.default_currency, client.country) == \
        ("Kopa Credit Ltd", "Kopa Credit Ltd", "professional", "GHS", "GH")
    with tenant.tenant_scope(client.id, db):
        assert db.get(CreditPolicy, client.id).currencies == ["GHS"]
    [entry] = [e for e in audit_rows(db, "client.create") if e.client_id == client.id]
    assert entry.actor_role == OPERATOR and entry.actor_id is None


def test_clients_create_json_and_the_invited_first_admin(db, cli):
    name = slug()
    data = as_json(cli("clients", "create", "--name", "Ama Loans", "--slug", name, "--currency", "USD",
                       "--country", "GH", "--admin-email", f"boss@{name}.example.com", "--admin-name", "Ama Boss",
                       "--json"))
    assert (data["slug"], data["tier"], data["currency"], data["country"], data["status"]) == \
        (name, "starter", "USD", "GH", "active")
    assert uuid.UUID(data["id"]) == client_row(db, name).id
    with tenant.tenant_scope(uuid.UUID(data["id"]), db):
        admin = db.scalar(select(User).where(User.email == f"boss@{name}.example.com"))
    assert admin.role == Role.client_admin and admin.full_name == "Ama Boss"


def test_clients_create_refuses_bad_arguments_in_one_line_and_saves_nothing(db, cli):
    factories.client(db, slug="taken-slug")
    db.commit()  # (a refused command rolls the session back, as in production)
    name = slug()
    assert "Missing option '--slug'" in refused(cli("clients", "create", "--name", "X", "--currency", "NGN"), code=2)
    assert "'--tier'" in refused(cli("clients", "create", "--name", "X", "--slug", name, "--currency", "NGN",
                                     "--tier", "platinum"), code=2)
    assert "--slug: Use 3–63 lower-case" in refused(
        cli("clients", "create", "--name", "X", "--slug", "Bad Slug!", "--currency", "NGN"), code=1)
    assert "--slug: This slug is already used" in refused(
        cli("clients", "create", "--name", "X", "--slug", "taken-slug", "--currency", "NGN"))
    assert "--currency: Not an ISO 4217 currency" in refused(
        cli("clients", "create", "--name", "X", "--slug", name, "--currency", "XYZ", "--country", "NG"))
    assert "--country: give the country for currency EUR" in refused(
        cli("clients", "create", "--name", "X", "--slug", name, "--currency", "EUR"), code=2)
    assert "--colour: Use a hex colour" in refused(
        cli("clients", "create", "--name", "X", "--slug", name, "--currency", "NGN", "--colour", "red"))
    # the invitation fails after the client was created in the same transaction: nothing is half-saved
    assert "--admin-email: Enter a valid e-mail address." in refused(
        cli("clients", "create", "--name", "X", "--slug", name, "--currency", "NGN", "--admin-email", "nope",
            "--admin-name", "N"))
    assert "--admin-email and --admin-name go together" in refused(
        cli("clients", "create", "--name", "X", "--slug", name, "--currency", "NGN", "--admin-email", "a@b.co"))
    assert client_row(db, name) is None


def test_clients_list_as_table_and_json_with_a_status_filter(db, cli):
    first, second = factories.client(db), factories.client(db, tier="enterprise", currency="KES", country="KE")
    second.status = Status.suspended
    db.commit()
    table = ok(cli("clients", "list"))
    assert table.splitlines()[0].split() == ["SLUG", "NAME", "TIER", "CURRENCY", "COUNTRY", "STATUS", "CREATED"]
    assert first.slug in table and second.slug in table
    rows = as_json(cli("clients", "list", "--json"))
    mine = {r["slug"]: r for r in rows if r["slug"] in (first.slug, second.slug)}
    assert (mine[second.slug]["tier"], mine[second.slug]["currency"], mine[second.slug]["status"]) == \
        ("enterprise", "KES", "suspended")
    suspended = as_json(cli("clients", "list", "--status", "suspended", "--json"))
    assert second.slug in {r["slug"] for r in suspended} and first.slug not in {r["slug"] for r in suspended}
    assert "'--status'" in refused(cli("clients", "list", "--status", "gone"), code=2)


def test_clients_suspend_changes_the_state_audits_the_reason_and_activate_undoes_it(db, cli):
    client = factories.client(db)
    assert ok(cli("clients", "suspend", client.slug, "--reason", "unpaid invoices")).strip() == \
        f"{client.slug} is now suspended"
    assert client_row(db, client.slug).status == Status.suspended
    [entry] = [e for e in audit_rows(db, "client.suspend") if e.client_id == client.id]
    assert entry.actor_role == OPERATOR
    assert (entry.before, entry.after) == ({"status": "active"}, {"status": "suspended", "reason": "unpaid invoices"})
    ok(cli("clients", "activate", client.slug, "--reason", "paid"))
    assert client_row(db, client.slug).status == Status.active


def test_clients_suspend_refuses_unknown_clients_and_a_missing_reason(db, cli):
    client = factories.client(db)
    db.commit()
    assert refused(cli("clients", "suspend", "no-such-client", "--reason", "x"), code=1) == \
        "Error: client 'no-such-client' not found"
    assert "Missing option '--reason'" in refused(cli("clients", "suspend", client.slug), code=2)
    assert "--reason: Say why." in refused(cli("clients", "suspend", client.slug, "--reason", "  "))
    assert client_row(db, client.slug).status == Status.active


def test_apikeys_create_prints_the_secret_once_and_it_authenticates(db, cli):
    client = factories.client(db)
    result = cli("apikeys", "create", "--client", client.slug, "--name", "backend",
                 "--scopes", "applications:read, applications:write")
    out = ok(result)
    secret = next(line.split()[-1] for line in out.splitlines() if line.startswith("secret"))
    assert apikeys.KEY_RE.match(secret) and out.count(secret) == 1
    assert "not shown again" in out
    with tenant.tenant_scope(client.id, db):
        key = db.scalar(select(ApiKey).where(ApiKey.client_id == client.id))
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (key.name, key.mode.value, key.scopes) == ("backend", "live", ["applications:read", "applications:write"])
    assert apikeys.authenticate(db, f"Bearer {secret}").client_id == client.id
    db.commit()  # (authenticate notes the key's last use under its tenant)
    tenant.reset()
    issued = [e for e in audit_rows(db, "api_key.issue") if e.client_id == client.id]
    entered = [e for e in audit_rows(db, "platform.act_for_tenant") if e.client_id == client.id]
    assert [e.actor_role for e in issued + entered] == [OPERATOR, OPERATOR]
    assert secret not in str(issued[0].after)

    listed = ok(cli("apikeys", "list", "--client", client.slug))
    assert key.prefix in listed and secret not in listed and secret[-48:] not in listed
    [row] = as_json(cli("apikeys", "list", "--client", client.slug, "--json"))
    assert (row["prefix"], row["status"], row["scopes"]) == (key.prefix, "active",
                                                             ["applications:read", "applications:write"])
    assert "secret" not in row


def test_apikeys_create_json_carries_the_secret_and_sandbox_mode(db, cli):
    client = factories.client(db)
    data = as_json(cli("apikeys", "create", "--client", client.slug, "--name", "tests", "--scopes", "usage:read",
                       "--mode", "sandbox", "--json"))
    assert data["secret"].startswith(f"caas_sandbox_{data['prefix']}_") and data["scopes"] == ["usage:read"]


def test_apikeys_refuse_a_bad_scope_by_name_an_unknown_client_and_save_nothing(db, cli):
    client = factories.client(db)
    db.commit()
    line = refused(cli("apikeys", "create", "--client", client.slug, "--name", "x",
                       "--scopes", "applications:read,loans:delete"), code=2)
    assert "unknown scope 'loans:delete'" in line
    assert "--scopes: name at least one" in refused(
        cli("apikeys", "create", "--client", client.slug, "--name", "x", "--scopes", " , "), code=2)
    assert "--name: Give the key a name" in refused(
        cli("apikeys", "create", "--client", client.slug, "--name", " ", "--scopes", "usage:read"), code=1)
    assert refused(cli("apikeys", "create", "--client", "ghost", "--name", "x", "--scopes", "usage:read")) == \
        "Error: client 'ghost' not found"
    assert refused(cli("apikeys", "list", "--client", "ghost")) == "Error: client 'ghost' not found"
    with tenant.tenant_scope(client.id, db):
        assert db.scalar(select(func.count()).select_from(ApiKey)) == 0
    assert ok(cli("apikeys", "list", "--client", client.slug)).strip() == f"{client.slug} has no API keys"
