"""Reads across tenants (``applications show``, ``loans show``, ``billing invoices``) go through the
audited platform access and print the owning tenant; ``demo seed`` is idempotent; ``audit verify``
fails after tampering."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select, text

from caas.billing import run
from caas.core import tenant
from caas.tenancy.models import Client, User
from tests import factories
from tests.billing.world import at, billed_client, use
from tests.loans import test_servicing_stories as stories
from tests.market.world import open_application
from tests.ops_cli.conftest import OPERATOR, as_json, audit_rows, ok, refused

loan, sandbox = stories.loan, stories.sandbox  # the servicing stories' fixtures: an active 6-month loan


def test_applications_show_finds_it_in_any_tenant_and_audits_the_read(db, cli):
    client = factories.client(db)
    opened = open_application(db, client, amount_minor=250_000_00, term=12)
    db.commit()
    out = ok(cli("applications", "show", str(opened.application_id)))
    assert f"client       {client.slug} ({client.display_name})" in out
    assert "status       open_for_offers" in out and "amount       250,000.00 NGN" in out
    assert "decision     approve grade B (model test)" in out
    data = as_json(cli("applications", "show", str(opened.application_id), "--json"))
    assert (data["id"], data["client"]["slug"], data["amount_minor"], data["currency"], data["term_months"]) == \
        (str(opened.application_id), client.slug, 250_000_00, "NGN", 12)
    assert data["decision"]["grade"] == "B" and data["decision"]["pd"] == "0.045000"
    reads = [e for e in audit_rows(db, "platform.read_all_tenants") if str(opened.application_id) in e.after["reason"]]
    assert len(reads) == 2 and {e.actor_role for e in reads} == {OPERATOR}


def test_applications_show_unknown_or_malformed_ids(db, cli):
    assert refused(cli("applications", "show", "123"), code=1) == "Error: application 123 not found"
    missing = uuid.uuid4()
    assert refused(cli("applications", "show", str(missing))) == f"Error: application {missing} not found"
    assert "Missing argument 'APPLICATION_ID'" in refused(cli("applications", "show"), code=2)


def test_loans_show_prints_terms_tenant_and_schedule(db, cli, loan):
    client, provider, loan_id = loan
    out = ok(cli("loans", "show", str(loan_id)))
    assert f"client           {client.slug}" in out and f"provider         {provider.legal_name}" in out
    assert "principal        100.00 NGN" in out and "term (months)    6" in out
    schedule = out.split("\n\n", 1)[1].splitlines()
    assert schedule[0].split() == ["#", "DUE", "PRINCIPAL", "INTEREST", "TOTAL", "PAID", "BALANCE"]
    assert len(schedule) == 7
    data = as_json(cli("loans", "show", str(loan_id), "--json"))
    assert (data["client"]["slug"], data["principal"], data["currency"], data["status"]) == \
        (client.slug, "100.00", "NGN", "active")
    assert [row["number"] for row in data["schedule"]] == [1, 2, 3, 4, 5, 6]
    assert sum(int(row["principal"].replace(".", "")) for row in data["schedule"]) == 100_00
    assert refused(cli("loans", "show", "nope"), code=1) == "Error: loan nope not found"
    assert refused(cli("loans", "show", str(uuid.uuid4()))).endswith("not found")


def test_billing_invoices_per_client_and_across_clients(db, cli):
    first, second = billed_client(db, marketplace=False), billed_client(db, marketplace=False)
    for client, n in ((first, 3), (second, 1)):
        use(db, client, "risk_assessment", at("2026-10-07"), quantity=n)
    db.commit()
    run.execute(db, "2026-10", triggered_by="test")
    rows = as_json(cli("billing", "invoices", "--client", first.slug, "--json"))
    assert [(r["client"], r["period"], r["status"], r["currency"]) for r in rows] == \
        [(first.slug, "2026-10", "draft", "NGN")]
    assert rows[0]["total_minor"] == 3 * 50_00 and rows[0]["total"] == "150.00"
    everyone = {r["client"]: r for r in as_json(cli("billing", "invoices", "--period", "2026-10", "--json"))}
    assert everyone[second.slug]["total_minor"] == 50_00 and first.slug in everyone
    table = ok(cli("billing", "invoices", "--client", first.slug))
    assert table.splitlines()[0].split()[:4] == ["NUMBER", "CLIENT", "PERIOD", "STATUS"] and "150.00 NGN" in table
    assert ok(cli("billing", "invoices", "--client", first.slug, "--status", "paid")).strip() == "no invoices"
    entered = [e for e in audit_rows(db, "platform.act_for_tenant") if e.client_id == first.id]
    assert entered and {e.actor_role for e in entered} == {OPERATOR}
    assert "--period: Give the month as YYYY-MM" in refused(cli("billing", "invoices", "--period", "Oct"), code=1)
    assert refused(cli("billing", "invoices", "--client", "ghost")) == "Error: client 'ghost' not found"
    assert "'--status'" in refused(cli("billing", "invoices", "--status", "late"), code=2)


@pytest.mark.timeout(600)
def test_demo_seed_twice_adds_nothing_the_second_time(db, cli):
    first = ok(cli("demo", "seed"))
    assert first.startswith("demo data: ") and "new rows" in first
    counts = (db.scalar(select(func.count()).select_from(Client)), db.scalar(select(func.count()).select_from(User)))
    assert ok(cli("demo", "seed")).strip() == "demo data: already present"
    assert ok(cli("demo-data")).strip() == "demo data: already present"  # the old name still works
    assert (db.scalar(select(func.count()).select_from(Client)),
            db.scalar(select(func.count()).select_from(User))) == counts
    demo = db.scalar(select(Client).where(Client.slug == "demo"))
    with tenant.tenant_scope(demo.id, db):
        assert db.scalar(select(func.count()).select_from(User).where(User.email == "ada@borrower.example.com")) == 1


@pytest.fixture
def chain(owner):
    """Committed audit rows (the owner's connection), truncated afterwards."""
    with owner.begin() as conn:
        for n in range(3):
            conn.execute(text("INSERT INTO audit_log (action, actor_role, after) "
                              "VALUES (:a, 'platform_admin', CAST(:after AS jsonb))"),
                         {"a": f"probe.{n}", "after": json.dumps({"n": n})})
    yield
    with owner.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))


def test_audit_verify_passes_then_fails_after_the_owner_tampers(app, owner, chain):
    runner = app.test_cli_runner()
    assert json.loads(ok(runner.invoke(args=["audit", "verify", "--json"]))) == \
        {"intact": True, "rows": 3, "broken_at": None, "reason": None}
    with owner.begin() as conn:  # the owner, triggers off for this transaction only
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE audit_log SET actor_role = 'someone else' WHERE chain_seq = 3"))
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    [line] = broken.output.strip().splitlines()
    assert line.startswith("audit chain BROKEN at chain position 3: ") and "content does not match its hash" in line
    report = json.loads(runner.invoke(args=["audit", "verify", "--json"]).output)
    assert (report["intact"], report["broken_at"]) == (False, 3)
