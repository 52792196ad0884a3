"""Row-level security, proved against the real database as the application role."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from caas.core import rls, tenant
from caas.events import outbox
from caas.tenancy.models import Role, User
from tests import factories, helpers


def test_app_role_is_not_superuser_and_cannot_bypass_rls(db):
    row = db.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
    assert (row.rolsuper, row.rolbypassrls) == (False, False)


def test_transaction_without_tenant_sees_no_tenant_rows(db, owner):
    a, b = factories.client(db), factories.client(db)
    factories.borrower(db, a)
    factories.client_admin(db, b)
    with tenant.tenant_scope(a.id, db):
        outbox.record_event(db, a.id, "credit.application.submitted", {"id": "x"})
        db.flush()
    tenant.set_tenant(None, db)
    tables = rls.tenant_tables(db.connection())
    assert {"users", "outbox", "audit_log"} <= set(tables)
    for table in tables:
        visible = db.execute(text(f"SELECT count(*) FROM {table} WHERE client_id IS NOT NULL")).scalar_one()
        assert visible == 0, f"{table} shows tenant rows with no tenant set"
    # ...while the rows are there: with tenant A set, A's borrower and audit row are visible.
    with tenant.tenant_scope(a.id, db):
        assert db.execute(text("SELECT count(*) FROM users WHERE client_id IS NOT NULL")).scalar_one() == 1
        assert db.execute(text("SELECT count(*) FROM audit_log WHERE client_id IS NOT NULL")).scalar_one() >= 1


def test_tenant_sees_only_its_own_rows(db):
    a, b = factories.client(db), factories.client(db)
    mine = factories.borrower(db, a)
    theirs = factories.borrower(db, b)
    db.expunge_all()
    with tenant.tenant_scope(a.id, db):
        ids = set(db.scalars(select(User.id).where(User.role == Role.borrower)))
        assert ids == {mine.id}
        assert db.get(User, theirs.id) is None


def test_cross_tenant_insert_is_refused(db):
    a, b = factories.client(db), factories.client(db)
    with tenant.tenant_scope(a.id, db):
        db.add(User(id=uuid.uuid4(), client_id=b.id, role=Role.borrower, email="intruder@example.com",
                    full_name="Intruder", password_hash="x"))
        with pytest.raises(ProgrammingError, match="row-level security"):
            db.flush()
    db.rollback()


def test_all_tenants_mode_reads_everything_but_writes_nothing_across_tenants(db):
    a, b = factories.client(db), factories.client(db)
    factories.borrower(db, a)
    target = factories.borrower(db, b)
    with tenant.all_tenants_scope(db):
        assert db.execute(text("SELECT count(*) FROM users WHERE role = 'borrower'")).scalar_one() == 2
        with tenant.tenant_scope(a.id, db):
            changed = db.execute(text("UPDATE users SET full_name = 'hijacked' WHERE id = :id"),
                                 {"id": target.id}).rowcount
    assert changed == 0


def test_pooled_connection_does_not_carry_tenant_into_next_transaction(app):
    """One pooled connection, two transactions: the second sees no tenant."""
    engine = create_engine(app.config["APP_DATABASE_URL"], pool_size=1, max_overflow=0)
    tenant_id = uuid.uuid4()
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.client_id', :c, true)"), {"c": str(tenant_id)})
            assert conn.scalar(text("SELECT app_current_client()")) == tenant_id
            first_pid = conn.scalar(text("SELECT pg_backend_pid()"))
        with engine.begin() as conn:
            assert conn.scalar(text("SELECT pg_backend_pid()")) == first_pid  # the same pooled connection
            assert conn.scalar(text("SELECT app_current_client()")) is None
    finally:
        engine.dispose()


def test_requests_do_not_leak_tenant_between_them(app, db, client):
    """A client admin's request sets tenant A; the next anonymous request starts with none."""
    a = factories.client(db)
    admin = factories.client_admin(db, a)
    db.commit()
    assert helpers.login(client, admin.email, factories.PASSWORD).status_code == 302
    assert helpers.get(client, "/admin/").status_code == 200
    assert tenant.current_client_id() is None  # reset at teardown
    db.rollback()
    assert db.execute(text("SELECT app_current_client()")).scalar() is None


def test_gate_finds_every_tenant_table_protected(owner):
    with owner.connect() as conn:
        assert rls.unprotected_tables(conn) == []


def test_gate_lists_a_table_with_client_id_and_no_policy(owner):
    with owner.connect() as conn:
        with conn.begin() as trans:
            conn.execute(text("CREATE TABLE gate_probe (id int, client_id uuid)"))
            assert rls.unprotected_tables(conn) == ["gate_probe: missing RLS, FORCE, policy"]
            conn.execute(text("ALTER TABLE gate_probe ENABLE ROW LEVEL SECURITY"))
            assert rls.unprotected_tables(conn) == ["gate_probe: missing FORCE, policy"]
            trans.rollback()


def test_every_policy_reads_the_tenant_once_per_query(owner, db):
    """No policy calls app_current_client() (or the other context functions) per row: each is an
    InitPlan, ``(SELECT app_current_client())``. A per-row call made billing 3x slower."""
    with owner.connect() as conn:
        assert rls.policies_calling_per_row(conn) == []
    plan = db.execute(text("EXPLAIN (VERBOSE) SELECT count(*) FROM loans")).scalars().all()  # as the app role
    scan_filter = next(line for line in plan if "Filter:" in line)
    assert "$0" in scan_filter and "app_current_client()" not in scan_filter
    assert any("InitPlan" in line for line in plan)


def test_policy_gate_finds_a_per_row_call_and_the_rewrite_fixes_it(owner):
    with owner.connect() as conn:
        with conn.begin() as trans:
            conn.execute(text("CREATE TABLE gate_probe (id int, client_id uuid)"))
            conn.execute(text("CREATE POLICY slow ON gate_probe USING (client_id = app_current_client()) "
                              "WITH CHECK (client_id = app_current_client())"))
            assert rls.policies_calling_per_row(conn) == ["gate_probe.slow"]
            assert rls.rewrite_policies(conn, rls.initplan) == 1
            assert rls.policies_calling_per_row(conn) == []
            assert rls.rewrite_policies(conn, rls.initplan) == 0  # idempotent
            assert rls.rewrite_policies(conn, rls.per_row) >= 1  # the downgrade puts the per-row form back
            assert "gate_probe.slow" in rls.policies_calling_per_row(conn)
            trans.rollback()


def test_audit_log_refuses_update_and_delete_even_for_the_owner(owner):
    with owner.connect() as conn:
        with conn.begin() as trans:
            conn.execute(text("INSERT INTO audit_log (action) VALUES ('probe')"))
            with pytest.raises(DBAPIError, match="append-only"):
                with conn.begin_nested():
                    conn.execute(text("UPDATE audit_log SET action = 'x' WHERE action = 'probe'"))
            with pytest.raises(DBAPIError, match="append-only"):
                with conn.begin_nested():
                    conn.execute(text("DELETE FROM audit_log WHERE action = 'probe'"))
            trans.rollback()
