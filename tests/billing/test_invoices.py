"""Invoice states and their ledger entries: issue posts the receivable (revenue and tax), payment
settles it, voiding reverses it; billing.invoice.issued is emitted once."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from caas.audit.models import AuditEntry
from caas.billing import invoices, run
from caas.billing.models import Invoice, InvoiceStatus
from caas.core import tenant
from caas.core.errors import DomainError
from caas.events.models import OutboxMessage
from caas.ledger.models import PLATFORM_OWNER_ID, AccountKind
from caas.ledger.operations import balance_of
from tests import factories
from tests.billing.world import at, billed_client, use

ACTOR = factories.SYSTEM


@pytest.fixture
def draft(db):
    client = billed_client(db, tax="0.075", marketplace=False)
    use(db, client, "application_processed", at("2026-10-05"), quantity=3)   # 30,000 + 2,250 tax
    use(db, client, "risk_assessment", at("2026-10-05"), quantity=3)         # 15,000 + 1,125 tax
    run.execute(db, "2026-10")
    with tenant.tenant_scope(client.id, db):
        invoice = db.scalar(select(Invoice).where(Invoice.client_id == client.id))
    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (45_000, 3_375, 48_375)
    return client, invoice.id


def balances(db, client):
    return (balance_of(db, AccountKind.client_billing_receivable, client.id, "NGN"),
            balance_of(db, AccountKind.platform_fee_revenue, PLATFORM_OWNER_ID, "NGN"),
            balance_of(db, AccountKind.platform_tax_payable, PLATFORM_OWNER_ID, "NGN"),
            balance_of(db, AccountKind.gateway_clearing, "bank", "NGN"))


def test_issue_then_pay_posts_receivable_revenue_tax_and_settlement(db, draft):
    client, invoice_id = draft
    revenue_before = balance_of(db, AccountKind.platform_fee_revenue, PLATFORM_OWNER_ID, "NGN")
    tax_before = balance_of(db, AccountKind.platform_tax_payable, PLATFORM_OWNER_ID, "NGN")
    bank_before = balance_of(db, AccountKind.gateway_clearing, "bank", "NGN")
    with tenant.tenant_scope(client.id, db):
        invoices.issue(db, ACTOR, invoice_id)
        invoices.issue(db, ACTOR, invoice_id)  # a second click changes nothing
        db.commit()
        events = db.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "billing.invoice.issued")).all()
        assert len(events) == 1 and events[0].payload["total_minor"] == 48_375
        assert events[0].payload["number"].startswith("INV-2026-")
    assert balances(db, client) == (48_375, revenue_before + 45_000, tax_before + 3_375, bank_before)
    with tenant.tenant_scope(client.id, db):
        paid = invoices.record_paid(db, ACTOR, invoice_id, reference="GTB-TRF-0042")
        db.commit()
        assert paid.status == InvoiceStatus.paid
        with pytest.raises(DomainError) as again:
            invoices.record_paid(db, ACTOR, invoice_id, reference="GTB-TRF-0042")
        assert again.value.code == "invalid_state"
        db.rollback()
        with pytest.raises(DomainError):
            invoices.void(db, ACTOR, invoice_id, reason="too late")  # a paid invoice is not voided
        db.rollback()
    assert balances(db, client) == (0, revenue_before + 45_000, tax_before + 3_375, bank_before + 48_375)


def test_voiding_an_issued_invoice_reverses_it_and_the_period_can_be_billed_again(db, draft):
    client, invoice_id = draft
    revenue_before = balance_of(db, AccountKind.platform_fee_revenue, PLATFORM_OWNER_ID, "NGN")
    with tenant.tenant_scope(client.id, db):
        invoices.issue(db, ACTOR, invoice_id)
        with pytest.raises(DomainError) as no_reason:
            invoices.void(db, ACTOR, invoice_id, reason=" ")
        assert no_reason.value.field == "reason"
        invoices.void(db, ACTOR, invoice_id, reason="Wrong tax rate")
        db.commit()
        assert db.scalar(select(AuditEntry.after).where(AuditEntry.action == "billing.invoice_voided"))["reason"] \
            == "Wrong tax rate"
    assert balance_of(db, AccountKind.client_billing_receivable, client.id, "NGN") == 0
    assert balance_of(db, AccountKind.platform_fee_revenue, PLATFORM_OWNER_ID, "NGN") == revenue_before
    rerun = run.execute(db, "2026-10")
    assert rerun.invoices_created == 1
    with tenant.tenant_scope(client.id, db):
        rows = db.execute(select(Invoice.status, Invoice.total_minor).order_by(Invoice.sequence)).all()
    assert [(r.status.value, r.total_minor) for r in rows] == [("void", 48_375), ("draft", 48_375)]


def test_a_draft_cannot_be_paid_and_a_zero_invoice_posts_nothing(db):
    client = billed_client(db, marketplace=False)
    use(db, client, "api_call", at("2026-10-05"), quantity=500)  # within the 100,000 included
    run.execute(db, "2026-10")
    with tenant.tenant_scope(client.id, db):
        invoice = db.scalar(select(Invoice).where(Invoice.client_id == client.id))
        assert invoice.total_minor == 0
        with pytest.raises(DomainError) as draft_paid:
            invoices.record_paid(db, ACTOR, invoice.id, reference="X")
        assert draft_paid.value.code == "invalid_state"
        db.rollback()
        invoices.issue(db, ACTOR, invoice.id)
        db.commit()
    assert balance_of(db, AccountKind.client_billing_receivable, client.id, "NGN") == 0


def test_issue_period_issues_every_draft_of_the_month(db):
    clients = [billed_client(db, marketplace=False) for _ in range(2)]
    for c in clients:
        use(db, c, "risk_assessment", at("2026-10-05"))
    run.execute(db, "2026-10")
    assert invoices.issue_period(db, ACTOR, "2026-10") >= 2
    with tenant.all_tenants_scope(db):
        assert db.scalar(select(func.count()).select_from(Invoice).where(
            Invoice.client_id.in_([c.id for c in clients]), Invoice.status == InvoiceStatus.issued)) == 2
