"""The billing run: exact invoices from known usage, re-runs, late usage, concurrency, numbering."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, text

from caas.billing import run
from caas.billing.models import BillingRun, Invoice, InvoiceLine, UsageEvent
from caas.billing.periods import Period
from caas.core import tenant
from caas.core.errors import DomainError
from tests.billing.world import at, billed_client, use

OCT = Period(2026, 10)


def invoices_of(session, client):
    with tenant.tenant_scope(client.id, session):
        found = session.scalars(select(Invoice).where(Invoice.client_id == client.id)
                                .order_by(Invoice.period, Invoice.currency)).all()
        return [(i, session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == i.id)
                                    .order_by(InvoiceLine.position)).all()) for i in found]


def october_usage(db, client):
    for day in ("2026-10-01", "2026-10-09", "2026-10-31"):
        use(db, client, "application_processed", at(day), quantity=4, key=f"app:{day}")
    use(db, client, "risk_assessment", at("2026-10-15"), quantity=10)
    use(db, client, "payment_transaction", at("2026-10-03"), amount_minor=25_000_000, currency="NGN", key="pay-1")
    use(db, client, "payment_transaction", at("2026-10-20"), amount_minor=10_000_000, currency="NGN", key="pay-2")
    use(db, client, "payment_transaction", at("2026-10-21"), amount_minor=100_000, currency="USD", key="pay-usd")
    use(db, client, "api_call", at("2026-10-02", 9), quantity=60_000)
    use(db, client, "api_call", at("2026-10-30", 23), quantity=52_345)
    # outside October: never on its invoice
    use(db, client, "application_processed", at("2026-09-30", 23), key="sep")
    use(db, client, "application_processed", datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc), key="nov")


def test_a_month_of_known_usage_gives_the_exact_invoice(db):
    client = billed_client(db, tax="0.075")
    october_usage(db, client)
    result = run.execute(db, "2026-10", triggered_by="test")
    assert (result.status, result.invoices_created) == ("completed", 2)

    (ngn, ngn_lines), (usd, usd_lines) = invoices_of(db, client)
    assert (ngn.currency, ngn.period, ngn.status.value) == ("NGN", "2026-10", "draft")
    assert [(l.metric, l.kind, l.quantity, l.included_units, l.billable_units, l.amount_minor, l.tax_minor)
            for l in ngn_lines] == [
        ("application_processed", "usage", 12, 0, 12, 120_000, 9_000),      # 12 x 100.00
        ("risk_assessment", "usage", 10, 0, 10, 50_000, 3_750),             # 10 x 50.00
        ("provider_network_access", "usage", 1, 0, 1, 50_000, 3_750),       # 1 x 500.00
        ("payment_transaction", "usage", 2, 0, 2, 525_100, 39_382),         # 1.5% of 350,000.00 + 2 x 0.50
        ("api_call", "usage", 112_345, 100_000, 12_345, 123, 9),            # 12,345 x 0.10/1,000 = 1.2345
    ]
    assert ngn_lines[3].base_minor == 35_000_000
    assert (ngn.subtotal_minor, ngn.tax_minor, ngn.total_minor) == (745_223, 55_891, 801_114)
    assert (ngn.invoice_date.isoformat(), ngn.due_date.isoformat()) == ("2026-11-01", "2026-12-01")  # net 30
    # the USD payment is priced in USD on its own invoice: 1.5% of 1,000.00 + 0.50 = 15.50, tax 1.1625
    assert [(l.metric, l.amount_minor, l.tax_minor) for l in usd_lines] == [("payment_transaction", 1_550, 116)]
    assert (usd.currency, usd.total_minor) == ("USD", 1_666)
    assert ngn_lines[4].description == "API calls (0.10 per 1,000)"


def test_a_rerun_leaves_every_invoice_as_it_was(db):
    client = billed_client(db)
    october_usage(db, client)
    run.execute(db, "2026-10")
    before = [(i.id, i.number, i.total_minor, [(l.id, l.amount_minor) for l in lines])
              for i, lines in invoices_of(db, client)]
    again = run.execute(db, "2026-10")
    assert (again.invoices_created, again.invoices_existing, again.lines_created) == (0, 2, 0)
    assert [(i.id, i.number, i.total_minor, [(l.id, l.amount_minor) for l in lines])
            for i, lines in invoices_of(db, client)] == before
    with tenant.tenant_scope(client.id, db):  # network access recorded once however often it runs
        assert db.scalar(select(func.count()).select_from(UsageEvent).where(
            UsageEvent.metric == "provider_network_access")) == 1


def test_late_usage_of_an_invoiced_month_goes_on_the_next_invoice_as_an_adjustment(db):
    client = billed_client(db, marketplace=False)
    for n in range(5):
        use(db, client, "application_processed", at("2026-09-10"), key=f"sep-{n}")
    run.execute(db, "2026-09")
    # two September applications arrive after September was invoiced, and one October one
    use(db, client, "application_processed", at("2026-09-29"), key="late-1")
    use(db, client, "application_processed", at("2026-09-30"), key="late-2")
    use(db, client, "application_processed", at("2026-10-12"), key="oct-1")
    run.execute(db, "2026-10")
    (sep, sep_lines), (oct_, oct_lines) = invoices_of(db, client)
    assert [(l.kind, l.usage_period, l.quantity, l.amount_minor) for l in sep_lines] == [
        ("usage", "2026-09", 5, 50_000)]  # unchanged
    assert [(l.kind, l.usage_period, l.quantity, l.amount_minor) for l in oct_lines] == [
        ("usage", "2026-10", 1, 10_000), ("adjustment", "2026-09", 2, 20_000)]
    assert oct_lines[1].description.startswith("Application processing: late usage of September 2026")
    assert oct_.subtotal_minor == 30_000
    # billing November later does not bill September's late usage again
    run.bill_period(db, Period(2026, 11), BillingRun(period="2026-11", triggered_by="t", clients=0,
                                                     invoices_created=0, invoices_existing=0, lines_created=0),
                    now=datetime(2026, 12, 2, tzinfo=timezone.utc))
    assert len(invoices_of(db, client)) == 2


def test_included_units_are_not_granted_twice_by_an_adjustment(db):
    client = billed_client(db, tier="professional", marketplace=False)  # 200 applications included
    use(db, client, "application_processed", at("2026-09-10"), quantity=150, key="sep")
    run.execute(db, "2026-09")
    use(db, client, "application_processed", at("2026-09-28"), quantity=110, key="late")
    run.execute(db, "2026-10")
    (_, sep_lines), (_, oct_lines) = invoices_of(db, client)
    assert [(l.billable_units, l.amount_minor) for l in sep_lines] == [(0, 0)]
    assert [(l.kind, l.quantity, l.billable_units, l.amount_minor) for l in oct_lines] == [
        ("adjustment", 110, 60, 600_000)]  # 260 - 200 included = 60 x 100.00


def test_a_period_that_is_not_over_cannot_be_billed(db):
    now = datetime.now(timezone.utc)
    with pytest.raises(DomainError) as refused:
        run.execute(db, str(Period.of(now)))
    assert refused.value.code == "period_not_over"
    with pytest.raises(DomainError) as bad:
        run.execute(db, "2026-13")
    assert (bad.value.code, bad.value.field) == ("invalid_period", "period")


def test_invoice_numbers_are_consecutive_and_a_client_run_bills_only_that_client(db):
    a, b, c = (billed_client(db, marketplace=False, slug=f"num-{x}") for x in "abc")
    for client in (a, b, c):
        use(db, client, "risk_assessment", at("2026-10-05"))
    only_b = run.execute(db, "2026-10", client_slug=b.slug)
    assert only_b.invoices_created == 1
    rest = run.execute(db, "2026-10")
    assert (rest.invoices_created, rest.invoices_existing) == (2, 1)
    with tenant.all_tenants_scope(db):
        rows = db.execute(select(Invoice.number, Invoice.sequence, Invoice.client_id).where(
            Invoice.client_id.in_([a.id, b.id, c.id])).order_by(Invoice.sequence)).all()
    sequences = [r.sequence for r in rows]
    assert sequences == list(range(sequences[0], sequences[0] + 3))
    assert rows[0].client_id == b.id and [r.client_id for r in rows[1:]] == [a.id, c.id]  # then by slug
    assert all(r.number == f"INV-2026-{r.sequence:06d}" for r in rows)


def test_the_app_role_cannot_write_invoices_outside_the_run(db):
    client = billed_client(db, marketplace=False)
    # no tenant and no billing mode: RLS refuses the row
    with pytest.raises(Exception) as refused:
        with db.begin_nested():
            db.execute(text("INSERT INTO invoices (id, client_id, period, currency, number, year, sequence, status, "
                            "invoice_date, due_date, tax_rate, subtotal_minor, tax_minor, total_minor) VALUES "
                            "(gen_random_uuid(), :c, '2026-10', 'NGN', 'X-1', 2099, 1, 'draft', '2026-11-01', "
                            "'2026-12-01', 0, 0, 0, 0)"), {"c": client.id})
    assert "row-level security" in str(refused.value)


def test_concurrent_runs_of_one_period_make_one_set_of_invoices(committed, app):
    from caas.core.extensions import db as database

    clients = [billed_client(committed, marketplace=False, slug=f"conc-{n}") for n in range(3)]
    for client in clients:
        use(committed, client, "application_processed", at("2026-10-05"), quantity=3)
    committed.commit()
    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                results.append(run.execute(database.session, "2026-10", triggered_by="thread"))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                database.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted((r.invoices_created, r.invoices_existing) for r in results) == [(0, 3), (3, 0)]
    with tenant.all_tenants_scope(committed):
        assert committed.scalar(select(func.count()).select_from(Invoice)) == 3
        assert committed.scalar(select(func.count()).select_from(InvoiceLine)) == 3
