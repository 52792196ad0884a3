"""What the database itself refuses, whoever writes: unbalanced entries at commit, changes to
history, lines in another currency than their account. Also: no tenant column, no RLS, and the
kinds in code match the migration."""
from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

from caas.ledger.models import KINDS, NON_NEGATIVE_KINDS
from tests.ledger import purge_owners

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("ledger_accounts", "journal_entries", "journal_lines", "ledger_balances")


@pytest.fixture
def app_engine(app):
    engine = create_engine(app.config["APP_DATABASE_URL"])
    yield engine
    engine.dispose()


def open_account(conn, owner_id: str, kind="provider_available", owner_type="provider", side="credit",
                 currency="NGN") -> uuid.UUID:
    account_id = uuid.uuid4()
    conn.execute(text("INSERT INTO ledger_accounts (id, kind, owner_type, owner_id, currency, normal_side) "
                      "VALUES (:i, :k, :t, :o, :c, :s)"),
                 {"i": account_id, "k": kind, "t": owner_type, "o": owner_id, "c": currency, "s": side})
    return account_id


def insert_entry(conn, lines: list[tuple[uuid.UUID, str, int, int]]) -> uuid.UUID:
    entry_id = uuid.uuid4()
    conn.execute(text("INSERT INTO journal_entries (id, idempotency_key, memo, occurred_at) "
                      "VALUES (:i, :k, 'raw', now())"), {"i": entry_id, "k": f"raw-{entry_id}"})
    for account_id, currency, dr, cr in lines:
        conn.execute(text("INSERT INTO journal_lines (entry_id, account_id, currency, debit_minor, credit_minor) "
                          "VALUES (:e, :a, :c, :d, :r)"), {"e": entry_id, "a": account_id, "c": currency, "d": dr, "r": cr})
    return entry_id


@pytest.fixture
def two_accounts(owner):
    """Two committed accounts (a gateway clearing and a provider's available), removed afterwards."""
    p, gw = f"schema-{uuid.uuid4().hex[:8]}", f"g{uuid.uuid4().hex[:8]}"
    with owner.begin() as conn:
        a = open_account(conn, gw, "gateway_clearing", "gateway", "debit")
        b = open_account(conn, p)
        usd = open_account(conn, p, currency="USD")
    yield a, b, usd
    purge_owners(owner, [p, gw])


@pytest.mark.parametrize("lines", [
    pytest.param(lambda a, b, usd: [(a, "NGN", 100, 0), (b, "NGN", 0, 90)], id="debits-exceed-credits"),
    pytest.param(lambda a, b, usd: [(a, "NGN", 100, 0)], id="single-line"),
    pytest.param(lambda a, b, usd: [], id="no-lines"),
    pytest.param(lambda a, b, usd: [(a, "NGN", 100, 0), (usd, "USD", 0, 100)], id="balanced-only-across-currencies"),
])
def test_commit_of_an_unbalanced_entry_is_refused(app_engine, two_accounts, lines):
    a, b, usd = two_accounts
    conn = app_engine.connect()
    try:
        conn.begin()
        entry_id = insert_entry(conn, lines(a, b, usd))  # accepted line by line: the check is deferred
        with pytest.raises(IntegrityError, match="journal entry .* (unbalanced|needs at least two)"):
            conn.commit()
    finally:
        conn.close()
    with app_engine.connect() as check:
        assert check.scalar(text("SELECT count(*) FROM journal_entries WHERE id = :i"), {"i": entry_id}) == 0


def test_balanced_entry_commits_and_a_line_added_later_is_refused(app_engine, two_accounts):
    a, b, _ = two_accounts
    with app_engine.begin() as conn:
        entry_id = insert_entry(conn, [(a, "NGN", 100, 0), (b, "NGN", 0, 100)])
    conn = app_engine.connect()
    try:
        conn.begin()
        conn.execute(text("INSERT INTO journal_lines (entry_id, account_id, currency, debit_minor, credit_minor) "
                          "VALUES (:e, :a, 'NGN', 5, 0)"), {"e": entry_id, "a": a})
        with pytest.raises(IntegrityError, match="unbalanced"):
            conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize("statement", [
    "UPDATE journal_entries SET memo = 'changed' WHERE id = :e",
    "DELETE FROM journal_entries WHERE id = :e",
    "UPDATE journal_lines SET debit_minor = debit_minor + 1, credit_minor = 0 WHERE entry_id = :e",
    "DELETE FROM journal_lines WHERE entry_id = :e",
])
def test_history_cannot_be_changed_by_the_app_nor_by_the_owner(app_engine, owner, two_accounts, statement):
    a, b, _ = two_accounts
    with app_engine.begin() as conn:
        entry_id = insert_entry(conn, [(a, "NGN", 100, 0), (b, "NGN", 0, 100)])
    with app_engine.connect() as conn:  # the app role has no UPDATE/DELETE privilege at all
        with pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text(statement), {"e": entry_id})
    with owner.connect() as conn:  # a superuser is stopped by the trigger
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement), {"e": entry_id})
    with owner.connect() as conn:
        assert conn.scalar(text("SELECT sum(debit_minor) FROM journal_lines WHERE entry_id = :e"), {"e": entry_id}) == 100


def test_truncate_is_refused_even_for_the_owner(owner):
    with owner.connect() as conn:
        for table in ("journal_lines", "journal_entries"):
            with pytest.raises(DBAPIError, match="append-only"):
                with conn.begin():
                    conn.execute(text(f"TRUNCATE {table} CASCADE"))


def test_a_line_must_be_in_its_accounts_currency(db):
    conn = db.connection()
    a = open_account(conn, f"g{uuid.uuid4().hex[:8]}", "gateway_clearing", "gateway", "debit")
    b = open_account(conn, f"p-{uuid.uuid4().hex[:8]}")
    with pytest.raises(IntegrityError, match="fk_journal_lines_account_currency"):
        with db.begin_nested():
            insert_entry(db.connection(), [(a, "USD", 100, 0), (b, "USD", 0, 100)])


@pytest.mark.parametrize("kind, owner_type, side", [
    ("provider_available", "loan", "credit"),       # wrong owner type for the kind
    ("provider_available", "provider", "debit"),    # wrong normal side for the kind
    ("petty_cash", "platform", "debit"),            # unknown kind
])
def test_accounts_must_match_their_kind(db, kind, owner_type, side):
    with pytest.raises(IntegrityError, match="ck_ledger_accounts_kind_owner_side"):
        with db.begin_nested():
            open_account(db.connection(), "x", kind, owner_type, side)


def test_opening_an_account_opens_its_zero_balance(db):
    account_id = open_account(db.connection(), f"p-{uuid.uuid4().hex[:8]}")
    assert db.execute(text("SELECT kind, balance_minor FROM ledger_balances WHERE account_id = :a"),
                      {"a": account_id}).one() == ("provider_available", 0)


def test_kinds_in_code_match_the_migration():
    # The newest migration that declares the kinds (0600 added platform_tax_payable to 0100's list).
    spec = importlib.util.spec_from_file_location("m0600", ROOT / "migrations" / "versions" / "0600_billing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert sorted(module.KINDS) == sorted(
        (kind.value, s.owner_type.value, s.normal_side.value) for kind, s in KINDS.items())


def test_non_negative_kinds_in_code_match_the_check_constraint(owner):
    with owner.connect() as conn:
        definition = conn.scalar(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_ledger_balances_non_negative'"))
    named = {kind.value for kind in KINDS if f"'{kind.value}'" in definition}
    assert named == set(NON_NEGATIVE_KINDS) == {"provider_available", "provider_reserved",
                                                 "borrower_payout_clearing"}


def test_ledger_tables_are_platform_tables_without_rls_and_history_is_append_only(owner):
    with owner.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname, c.relrowsecurity, obj_description(c.oid, 'pg_class') AS comment, "
            "EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'client_id') AS tenant "
            "FROM pg_class c WHERE c.relname = ANY(:t)"), {"t": list(TABLES)}).all()
        privileges = {t: conn.scalar(text("SELECT has_table_privilege('caas_app', :t, 'UPDATE') "
                                          "OR has_table_privilege('caas_app', :t, 'DELETE')"), {"t": t})
                      for t in TABLES}
    by_name = {r.relname: r for r in rows}
    assert set(by_name) == set(TABLES)
    assert not any(r.relrowsecurity or r.tenant for r in rows)
    assert by_name["journal_entries"].comment.startswith("append-only")
    assert by_name["journal_lines"].comment.startswith("append-only")
    assert privileges == {"ledger_accounts": True, "journal_entries": False, "journal_lines": False,
                          "ledger_balances": True}
