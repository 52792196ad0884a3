"""Posting, idempotency, reversal and the funds check, on the real database (rolled back per test)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from caas import ledger
from caas.core.errors import NotFound
from caas.ledger import (AccountKind, IdempotencyConflict, InsufficientFunds, JournalEntry, JournalLine, LedgerError,
                         UnbalancedEntry, account_key, credit, debit)
from tests.ledger import available, clearing, new_gateway, new_id, reserved


def line_count(db) -> int:
    return db.scalar(select(func.count()).select_from(JournalLine))


def entry_count(db) -> int:
    return db.scalar(select(func.count()).select_from(JournalEntry))


def fund(db, provider: str, amount: int, currency: str = "NGN", gateway: str = "bank", key: str | None = None):
    return ledger.post(db, memo="funding", idempotency_key=key or f"fund-{uuid.uuid4()}",
                       lines=[debit(clearing(gateway, currency), amount), credit(available(provider, currency), amount)])


def test_post_writes_lines_and_moves_balances_to_the_minor_unit(db):
    p, gw = new_id(), new_gateway()
    entry = fund(db, p, 1_234_567, gateway=gw)

    rows = db.execute(select(JournalLine.debit_minor, JournalLine.credit_minor, JournalLine.currency)
                      .where(JournalLine.entry_id == entry.id).order_by(JournalLine.id)).all()
    assert rows == [(1_234_567, 0, "NGN"), (0, 1_234_567, "NGN")]
    assert ledger.balance(db, available(p)) == 1_234_567  # credit-normal: credits - debits
    assert ledger.balance(db, clearing(gw)) == 1_234_567  # debit-normal: debits - credits
    assert entry.occurred_at.tzinfo is not None and entry.memo == "funding"


def test_the_same_key_posts_once_and_returns_the_first_entry(db):
    p, gw = new_id(), new_gateway()
    first = fund(db, p, 5_000, gateway=gw, key="deposit-42")
    lines_before, entries_before = line_count(db), entry_count(db)

    again = fund(db, p, 5_000, gateway=gw, key="deposit-42")

    assert again.id == first.id
    assert (line_count(db), entry_count(db)) == (lines_before, entries_before)
    assert ledger.balance(db, available(p)) == 5_000


def test_the_same_key_with_other_lines_is_a_conflict_not_a_retry(db):
    p, gw = new_id(), new_gateway()
    fund(db, p, 5_000, gateway=gw, key="deposit-43")
    with pytest.raises(IdempotencyConflict):
        fund(db, p, 5_001, gateway=gw, key="deposit-43")
    assert ledger.balance(db, available(p)) == 5_000


@pytest.mark.parametrize("lines, error", [
    ([("A", 100, 0)], UnbalancedEntry),                        # one line
    ([("A", 100, 0), ("B", 0, 99)], UnbalancedEntry),          # off by one minor unit
    ([("A", 0, 0), ("B", 0, 0)], LedgerError),                 # neither side
    ([("A", 100, 100), ("B", 100, 100)], LedgerError),         # both sides
    ([("A", -100, 0), ("B", 0, -100)], LedgerError),           # negative
    ([("A", 100.0, 0), ("B", 0, 100.0)], LedgerError),         # float
    ([("A", True, 0), ("B", 0, True)], LedgerError),           # bool is not an amount
])
def test_bad_entries_are_refused_and_write_nothing(db, lines, error):
    p, gw = new_id(), new_gateway()
    accounts = {"A": clearing(gw), "B": available(p)}
    before = (line_count(db), entry_count(db))
    with pytest.raises(error):
        ledger.post(db, memo="bad", idempotency_key=f"bad-{uuid.uuid4()}",
                    lines=[(accounts[name], dr, cr) for name, dr, cr in lines])
    assert (line_count(db), entry_count(db)) == before


def test_an_entry_balances_per_currency_not_in_total(db):
    p, gw = new_id(), new_gateway()
    with pytest.raises(UnbalancedEntry, match="NGN debits 100 credits 0; USD debits 0 credits 100"):
        ledger.post(db, memo="fx without rate", idempotency_key="fx-1",
                    lines=[debit(clearing(gw, "NGN"), 100), credit(available(p, "USD"), 100)])
    # Two currencies, each balanced on its own: accepted.
    entry = ledger.post(db, memo="two currencies", idempotency_key="fx-2", lines=[
        debit(clearing(gw, "NGN"), 100), credit(available(p, "NGN"), 100),
        debit(clearing(gw, "USD"), 7), credit(available(p, "USD"), 7)])
    assert len(entry.lines) == 4
    assert ledger.balance(db, available(p, "USD")) == 7


def test_reservation_beyond_available_funds_is_refused_and_writes_nothing(db):
    p, gw = new_id(), new_gateway()
    fund(db, p, 10_000, gateway=gw)
    ledger.reserve(db, p, 9_999, "NGN", "loan-a")
    before = (line_count(db), entry_count(db))

    with pytest.raises(InsufficientFunds) as refused:
        ledger.reserve(db, p, 2, "NGN", "loan-b")

    assert (refused.value.balance_minor, refused.value.needed_minor) == (1, 2)
    assert (line_count(db), entry_count(db)) == before
    assert ledger.entry_by_key(db, "reserve:loan-b") is None
    funds = ledger.provider_funds(db, p, "NGN")
    assert (funds.available_minor, funds.reserved_minor) == (1, 9_999)
    # The refusal left the transaction usable: the last minor unit can still be reserved.
    ledger.reserve(db, p, 1, "NGN", "loan-c")
    assert ledger.provider_funds(db, p, "NGN").available_minor == 0


def test_reserve_and_release_are_idempotent_per_loan(db):
    p = new_id()
    fund(db, p, 10_000)
    first = ledger.reserve(db, p, 4_000, "NGN", "loan-1")
    assert ledger.reserve(db, p, 4_000, "NGN", "loan-1").id == first.id
    ledger.release_reservation(db, p, 4_000, "NGN", "loan-1")
    ledger.release_reservation(db, p, 4_000, "NGN", "loan-1")
    funds = ledger.provider_funds(db, p, "NGN")
    assert (funds.available_minor, funds.reserved_minor) == (10_000, 0)


def test_releasing_more_than_is_reserved_is_refused(db):
    p = new_id()
    fund(db, p, 10_000)
    ledger.reserve(db, p, 3_000, "NGN", "loan-1")
    with pytest.raises(InsufficientFunds):
        ledger.release_reservation(db, p, 3_001, "NGN", "loan-1")
    assert ledger.provider_funds(db, p, "NGN").reserved_minor == 3_000


def test_reverse_mirrors_the_entry_once(db):
    p, gw = new_id(), new_gateway()
    original = fund(db, p, 7_500, gateway=gw)

    reversal = ledger.reverse(db, original.id)

    assert reversal.reverses_entry_id == original.id
    assert sorted((ln.account_id, ln.debit_minor, ln.credit_minor) for ln in reversal.lines) == sorted(
        (ln.account_id, ln.credit_minor, ln.debit_minor) for ln in original.lines)
    assert ledger.balance(db, available(p)) == 0
    assert ledger.balance(db, clearing(gw)) == 0
    assert ledger.reverse(db, original.id).id == reversal.id  # a second reversal is the first one
    assert ledger.balance(db, available(p)) == 0


def test_reversing_funding_that_was_already_reserved_is_refused(db):
    p = new_id()
    deposit = fund(db, p, 5_000)
    ledger.reserve(db, p, 2_000, "NGN", "loan-1")
    with pytest.raises(InsufficientFunds):
        ledger.reverse(db, deposit.id)
    assert ledger.entry_by_key(db, f"reverse:{deposit.id}") is None


def test_reverse_of_an_unknown_entry_is_not_found(db):
    with pytest.raises(NotFound):
        ledger.reverse(db, uuid.uuid4())


def test_unknown_currency_and_missing_owner_are_refused():
    with pytest.raises(LedgerError, match="currency"):
        account_key(AccountKind.provider_available, new_id(), "XYZ")
    with pytest.raises(LedgerError, match="owner"):
        account_key(AccountKind.provider_available, "", "NGN")
    # Platform accounts have one owner whatever the caller passes.
    assert account_key(AccountKind.platform_fee_revenue, None, "ngn").owner_id == "platform"


def test_naive_occurred_at_is_refused(db):
    with pytest.raises(LedgerError, match="timezone"):
        ledger.post(db, memo="m", idempotency_key="naive", occurred_at=datetime(2026, 1, 1),
                    lines=[debit(clearing("bank"), 1), credit(available(new_id()), 1)])
    when = datetime(2026, 1, 1, 9, 30, tzinfo=timezone.utc)
    entry = ledger.post(db, memo="m", idempotency_key="aware", occurred_at=when,
                        lines=[debit(clearing("bank"), 1), credit(available(new_id()), 1)])
    assert entry.occurred_at == when


def test_the_database_check_forbids_negative_available_funds_even_past_the_code(db):
    p = new_id()
    fund(db, p, 100)
    account = ledger.get_account(db, AccountKind.provider_available, p, "NGN")
    with pytest.raises(IntegrityError, match="ck_ledger_balances_non_negative"):
        with db.begin_nested():
            db.execute(text("UPDATE ledger_balances SET balance_minor = -1 WHERE account_id = :a"), {"a": account.id})
    # A debit-normal clearing account may go into credit (an overdrawn gateway balance shows up).
    gw_account = ledger.get_account(db, AccountKind.gateway_clearing, new_gateway(), "NGN")
    db.execute(text("UPDATE ledger_balances SET balance_minor = -1 WHERE account_id = :a"), {"a": gw_account.id})


def test_disbursement_and_payout_settlement(db):
    p, loan, gw = new_id(), new_id(), new_gateway()
    fund(db, p, 50_000)
    ledger.reserve(db, p, 30_000, "NGN", loan)

    started = ledger.begin_disbursement(db, provider_id=p, loan_id=loan, amount_minor=30_000, currency="NGN")
    assert ledger.balance_of(db, AccountKind.provider_reserved, p, "NGN") == 0
    assert ledger.balance_of(db, AccountKind.borrower_payout_clearing, loan, "NGN") == 30_000
    assert ledger.balance_of(db, AccountKind.loan_receivable, loan, "NGN") == 30_000
    assert ledger.balance_of(db, AccountKind.provider_loans, p, "NGN") == 30_000

    ledger.settle_payout(db, loan_id=loan, gateway=gw, amount_minor=30_000, currency="NGN", reference="po-1")
    ledger.settle_payout(db, loan_id=loan, gateway=gw, amount_minor=30_000, currency="NGN", reference="po-1")
    assert ledger.balance_of(db, AccountKind.borrower_payout_clearing, loan, "NGN") == 0
    assert ledger.balance_of(db, AccountKind.gateway_clearing, gw, "NGN") == -30_000

    # A second successful attempt under another reference would pay the borrower twice: refused.
    with pytest.raises(InsufficientFunds):
        ledger.settle_payout(db, loan_id=loan, gateway=gw, amount_minor=30_000, currency="NGN", reference="po-2")
    assert started.lines and ledger.verify_balances(db) == []


def test_failed_payout_is_undone_by_reversing_the_disbursement(db):
    p, loan = new_id(), new_id()
    fund(db, p, 20_000)
    ledger.reserve(db, p, 20_000, "NGN", loan)
    started = ledger.begin_disbursement(db, provider_id=p, loan_id=loan, amount_minor=20_000, currency="NGN")
    ledger.reverse(db, started.id)
    assert ledger.provider_funds(db, p, "NGN").reserved_minor == 20_000
    assert ledger.balance_of(db, AccountKind.loan_receivable, loan, "NGN") == 0
    assert ledger.balance_of(db, AccountKind.borrower_payout_clearing, loan, "NGN") == 0


def test_accounts_of_and_statement_show_one_owner_only(db):
    mine, theirs = new_id(), new_id()
    fund(db, mine, 3_000)
    fund(db, theirs, 9_000)
    ledger.reserve(db, mine, 1_000, "NGN", "loan-x")

    owned = ledger.accounts_of(db, "provider", mine)
    assert [(a.kind, a.currency, a.balance_minor) for a in owned] == [
        ("provider_available", "NGN", 2_000), ("provider_reserved", "NGN", 1_000)]
    account = ledger.get_account(db, AccountKind.provider_available, mine, "NGN")
    lines = ledger.statement(db, account)
    assert [(ln.debit_minor, ln.credit_minor) for ln in lines] == [(1_000, 0), (0, 3_000)]  # newest first
    assert ledger.statement(db, account, before_line_id=lines[0].line_id)[0].line_id == lines[1].line_id
