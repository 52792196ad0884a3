"""fund_provider (audited, idempotent) and the trial balance / consistency reports."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from caas import ledger
from caas.audit.models import AuditEntry
from caas.audit.operations import Actor
from caas.core.errors import DomainError, NotFound
from caas.ledger import AccountKind, LedgerError, credit, debit
from tests import factories
from tests.ledger import available, clearing, new_gateway, new_id

ADMIN = Actor(user_id=uuid.uuid4(), role="platform_admin", ip_address="192.0.2.1", request_id="req-1")


def funding_audits(db, provider_id):
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == "ledger.provider_funded",
                                                     AuditEntry.target_id == str(provider_id))))


def test_fund_provider_credits_available_and_audits_once(db):
    provider = factories.provider(db, currencies=["NGN", "GHS"])
    entry = ledger.fund_provider(db, ADMIN, provider.id, 2_500_000, "ngn", "BANK-REF-1", via="paystack")

    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 2_500_000
    assert ledger.balance_of(db, AccountKind.gateway_clearing, "paystack", "NGN") >= 2_500_000
    [audit] = funding_audits(db, provider.id)
    assert audit.actor_id == ADMIN.user_id and audit.actor_role == "platform_admin"
    assert audit.after == {"amount_minor": 2_500_000, "currency": "NGN", "reference": "BANK-REF-1",
                           "via": "paystack", "entry_id": str(entry.id)}

    again = ledger.fund_provider(db, ADMIN, provider.id, 2_500_000, "NGN", "BANK-REF-1", via="paystack")

    assert again.id == entry.id
    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 2_500_000
    assert len(funding_audits(db, provider.id)) == 1


def test_fund_provider_refusals(db):
    provider = factories.provider(db, currencies=["NGN"])
    with pytest.raises(NotFound):
        ledger.fund_provider(db, ADMIN, uuid.uuid4(), 100, "NGN", "r1")
    with pytest.raises(DomainError) as other_currency:
        ledger.fund_provider(db, ADMIN, provider.id, 100, "USD", "r1")
    assert other_currency.value.code == "currency_not_offered"
    for amount in (0, -5, 10.5, True):
        with pytest.raises(LedgerError):
            ledger.fund_provider(db, ADMIN, provider.id, amount, "NGN", "r1")
    with pytest.raises(LedgerError):
        ledger.fund_provider(db, ADMIN, provider.id, 100, "NGN", "has spaces")
    with pytest.raises(LedgerError):
        ledger.fund_provider(db, ADMIN, provider.id, 100, "NGN", "r1", via="Not A Gateway!")
    assert funding_audits(db, provider.id) == []
    assert ledger.accounts_of(db, "provider", provider.id) == []


def test_trial_balance_lists_each_account_on_its_side_and_sums_to_zero(db):
    p, loan, gw = new_id(), new_id(), new_gateway()
    ledger.post(db, memo="deposit", idempotency_key=f"d-{p}",
                lines=[debit(clearing(gw, "KES"), 90_000), credit(available(p, "KES"), 90_000)])
    ledger.reserve(db, p, 40_000, "KES", loan)
    ledger.begin_disbursement(db, provider_id=p, loan_id=loan, amount_minor=40_000, currency="KES")
    ledger.settle_payout(db, loan_id=loan, gateway=gw, amount_minor=40_000, currency="KES", reference="x1")

    [kes] = [tb for tb in ledger.trial_balance(db) if tb.currency == "KES"]
    mine = {(ln.kind, ln.owner_id): (ln.debit_minor, ln.credit_minor) for ln in kes.lines
            if ln.owner_id in (p, loan, gw)}
    assert mine == {
        ("gateway_clearing", gw): (50_000, 0),
        ("provider_available", p): (0, 50_000),
        ("provider_loans", p): (0, 40_000),
        ("loan_receivable", loan): (40_000, 0),
        # reserved and payout clearing are back to zero and left out by default
    }
    assert kes.difference_minor == 0
    assert all(tb.difference_minor == 0 for tb in ledger.trial_balance(db, include_zero=True))
    with_zero = [tb for tb in ledger.trial_balance(db, include_zero=True) if tb.currency == "KES"][0]
    assert {(ln.kind, ln.owner_id) for ln in with_zero.lines} >= {("provider_reserved", p),
                                                                 ("borrower_payout_clearing", loan)}


def test_verify_balances_finds_a_tampered_balance(db):
    p = new_id()
    ledger.post(db, memo="deposit", idempotency_key=f"d-{p}",
                lines=[debit(clearing("bank"), 500), credit(available(p), 500)])
    assert ledger.verify_balances(db) == []
    account = ledger.get_account(db, AccountKind.provider_available, p, "NGN")
    db.execute(text("UPDATE ledger_balances SET balance_minor = 499 WHERE account_id = :a"), {"a": account.id})
    assert [(m.account_id, m.maintained_minor, m.from_lines_minor) for m in ledger.verify_balances(db)] == [
        (account.id, 499, 500)]
    # ... and the trial balance no longer sums to zero, which is how an admin would notice.
    [ngn] = [tb for tb in ledger.trial_balance(db) if tb.currency == "NGN"]
    assert ngn.difference_minor == 1
