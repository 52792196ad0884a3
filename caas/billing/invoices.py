"""Invoices after the run: ``draft → issued → paid | void``, their ledger entries and reads.

    issue        Dr client_billing_receivable(client)  total
                 Cr platform_fee_revenue                subtotal
                 Cr platform_tax_payable                tax (when the client is taxed)
    record_paid  Dr gateway_clearing(bank)              total   (the admin records the payment)
                 Cr client_billing_receivable(client)   total
    void         an issued invoice: the issue entry reversed; a draft: no entry; a paid one: refused

Each runs in the invoice's tenant, locks the invoice row, and is idempotent by its ledger key
(``invoice-issue:<id>`` …). Issuing emits ``billing.invoice.issued`` (webhooks, and the e-mail to client admins routed from it).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.billing.models import Invoice, InvoiceLine, InvoiceStatus
from caas.billing.periods import Period
from caas.core import tenant
from caas.core.errors import DomainError, NotFound
from caas.events.outbox import record_event
from caas.ledger.models import PLATFORM_OWNER_ID, AccountKind
from caas.ledger.operations import reverse_entry
from caas.ledger.posting import account_key, credit, debit, entry_by_key, post
from caas.money import format_minor

BANK = "bank"  # the gateway_clearing account that client payments of invoices arrive in


def get(session: Session, invoice_id: uuid.UUID, *, lock: bool = False) -> Invoice:
    query = select(Invoice).where(Invoice.id == invoice_id)
    if lock:
        query = query.with_for_update()
    invoice = session.scalar(query.execution_options(populate_existing=True))
    if invoice is None:
        raise NotFound("invoice")
    return invoice


def lines_of(session: Session, invoice: Invoice) -> list[InvoiceLine]:
    return list(session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                                .order_by(InvoiceLine.position)))


def serialise(invoice: Invoice, lines: list[InvoiceLine] | None = None) -> dict:
    """The invoice as the API and webhooks show it (amounts in minor units and as decimal strings)."""
    data = {
        "id": str(invoice.id), "object": "invoice", "number": invoice.number, "period": invoice.period,
        "status": invoice.status.value, "currency": invoice.currency,
        "invoice_date": invoice.invoice_date.isoformat(), "due_date": invoice.due_date.isoformat(),
        "subtotal_minor": invoice.subtotal_minor, "tax_minor": invoice.tax_minor, "total_minor": invoice.total_minor,
        "total": format_minor(invoice.total_minor, invoice.currency),
        "issued_at": invoice.issued_at.isoformat() if invoice.issued_at else None,
        "paid_at": invoice.paid_at.isoformat() if invoice.paid_at else None,
        "path": f"/admin/billing/invoices/{invoice.id}",
    }
    if lines is not None:
        data["lines"] = [{"metric": l.metric, "kind": l.kind, "usage_period": l.usage_period, "quantity": l.quantity,
                          "included_units": l.included_units, "billable_units": l.billable_units,
                          "unit_price": str(l.unit_price), "per_units": l.per_units, "percent": str(l.percent),
                          "amount_minor": l.amount_minor, "tax_minor": l.tax_minor, "description": l.description}
                         for l in lines]
    return data


def _require(invoice: Invoice, *allowed: InvoiceStatus, action: str) -> None:
    if invoice.status not in allowed:
        raise DomainError("invalid_state", f"Invoice {invoice.number} is {invoice.status.value}; it cannot be {action}.")


def issue(session: Session, actor: Actor, invoice_id: uuid.UUID) -> Invoice:
    """Draft → issued: post the receivable and emit ``billing.invoice.issued``."""
    invoice = get(session, invoice_id, lock=True)
    if invoice.status == InvoiceStatus.issued:
        return invoice  # a repeated click or a retried job
    _require(invoice, InvoiceStatus.draft, action="issued")
    if invoice.total_minor > 0:
        lines = [debit(account_key(AccountKind.client_billing_receivable, invoice.client_id, invoice.currency),
                       invoice.total_minor),
                 credit(account_key(AccountKind.platform_fee_revenue, PLATFORM_OWNER_ID, invoice.currency),
                        invoice.subtotal_minor)]
        if invoice.tax_minor:
            lines.append(credit(account_key(AccountKind.platform_tax_payable, PLATFORM_OWNER_ID, invoice.currency),
                                invoice.tax_minor))
        post(session, memo=f"Invoice {invoice.number} issued", idempotency_key=f"invoice-issue:{invoice.id}",
             lines=lines)
    invoice.status = InvoiceStatus.issued
    invoice.issued_at = datetime.now(timezone.utc)
    session.flush()
    record_event(session, invoice.client_id, "billing.invoice.issued", serialise(invoice))
    record(session, actor, "billing.invoice_issued", client_id=invoice.client_id, target_type="invoice",
           target_id=invoice.id, after={"number": invoice.number, "total_minor": invoice.total_minor})
    return invoice


def record_paid(session: Session, actor: Actor, invoice_id: uuid.UUID, *, reference: str,
                paid_on: date | None = None) -> Invoice:
    """Issued → paid, when the client's payment of the full total has arrived (admin records it)."""
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise DomainError("invalid_reference", "Enter the payment's bank reference (1-100 characters).", "reference")
    invoice = get(session, invoice_id, lock=True)
    if invoice.status == InvoiceStatus.paid:
        raise DomainError("invalid_state", f"Invoice {invoice.number} is already paid "
                                           f"(reference {invoice.payment_reference}).", "reference")
    _require(invoice, InvoiceStatus.issued, action="marked paid")
    if invoice.total_minor > 0:
        post(session, memo=f"Invoice {invoice.number} paid ({reference})", idempotency_key=f"invoice-paid:{invoice.id}",
             lines=[debit(account_key(AccountKind.gateway_clearing, BANK, invoice.currency), invoice.total_minor),
                    credit(account_key(AccountKind.client_billing_receivable, invoice.client_id, invoice.currency),
                           invoice.total_minor)])
    invoice.status = InvoiceStatus.paid
    invoice.payment_reference = reference
    invoice.paid_at = datetime.combine(paid_on, datetime.min.time(), tzinfo=timezone.utc) if paid_on \
        else datetime.now(timezone.utc)
    session.flush()
    record(session, actor, "billing.invoice_paid", client_id=invoice.client_id, target_type="invoice",
           target_id=invoice.id, after={"number": invoice.number, "reference": reference})
    return invoice


def void(session: Session, actor: Actor, invoice_id: uuid.UUID, *, reason: str) -> Invoice:
    """Draft or issued → void. An issued invoice's receivable is reversed. The number stays used (the
    sequence is gap-free, so a void keeps its place); re-running the period then bills the usage on a
    new invoice."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required", "Say why the invoice is voided.", "reason")
    invoice = get(session, invoice_id, lock=True)
    _require(invoice, InvoiceStatus.draft, InvoiceStatus.issued, action="voided")
    if invoice.status == InvoiceStatus.issued and invoice.total_minor > 0:
        entry = entry_by_key(session, f"invoice-issue:{invoice.id}")
        if entry is None:  # pragma: no cover - issue always posts a positive total
            raise DomainError("ledger_missing", f"Invoice {invoice.number} has no ledger entry to reverse.")
        reverse_entry(session, entry.id, memo=f"Invoice {invoice.number} voided: {reason}"[:500])
    before = invoice.status.value
    invoice.status = InvoiceStatus.void
    invoice.voided_at = datetime.now(timezone.utc)
    invoice.void_reason = reason
    session.flush()
    record(session, actor, "billing.invoice_voided", client_id=invoice.client_id, target_type="invoice",
           target_id=invoice.id, before={"status": before}, after={"number": invoice.number, "reason": reason})
    return invoice


@dataclass(frozen=True)
class InvoiceFilters:
    client_id: uuid.UUID | None = None
    period: str | None = None
    status: str | None = None


def list_invoices(session: Session, filters: InvoiceFilters, *, include_drafts: bool = True,
                  limit: int = 200) -> list[Invoice]:
    """Invoices visible in the current scope, newest period first."""
    query = select(Invoice)
    if filters.client_id:
        query = query.where(Invoice.client_id == filters.client_id)
    if filters.period:
        query = query.where(Invoice.period == str(Period.parse(filters.period)))
    if filters.status:
        try:
            query = query.where(Invoice.status == InvoiceStatus(filters.status))
        except ValueError:
            raise DomainError("invalid_status", "Unknown invoice status.", "status") from None
    if not include_drafts:
        query = query.where(Invoice.status != InvoiceStatus.draft)
    return list(session.scalars(query.order_by(Invoice.period.desc(), Invoice.number.desc()).limit(limit)))


def issue_period(session: Session, actor: Actor, period: str) -> int:
    """Issue every draft of a period, each in its own tenant and transaction (committed one by one,
    so a failure leaves the ones before it issued and is safe to repeat)."""
    period = str(Period.parse(period))
    with tenant.all_tenants_scope(session):
        drafts = session.execute(select(Invoice.id, Invoice.client_id).where(
            Invoice.period == period, Invoice.status == InvoiceStatus.draft).order_by(Invoice.number)).all()
        session.commit()
    for invoice_id, client_id in drafts:
        with tenant.tenant_scope(client_id, session):
            issue(session, actor, invoice_id)
            session.commit()
    return len(drafts)


def period_status(session: Session, period: str) -> str:
    """``open`` (no invoices), ``draft`` (some not issued yet) or ``closed`` (all issued, paid or void)."""
    counts = dict(session.execute(select(Invoice.status, func.count()).where(Invoice.period == period)
                                  .group_by(Invoice.status)).all())
    if not counts:
        return "open"
    return "draft" if counts.get(InvoiceStatus.draft) else "closed"
