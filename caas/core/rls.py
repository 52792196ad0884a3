"""Row-level security: the SQL the migrations use, and the gate that finds unprotected tables.

A tenant-owned table gets RLS ENABLEd and FORCEd (so the owner is bound too) and two policies:
- ``tenant_rw`` for every command: the row's client_id equals the acting tenant.
- ``platform_read`` for SELECT only: the transaction is in the explicit all-tenants read mode.
Tables where client_id may be NULL (platform rows beside tenant rows: users, audit, outbox,
invitations) let a transaction with no tenant see and write the NULL rows, which belong to no
tenant; a tenant's transaction sees only its own rows.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION app_current_client() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.client_id', true), '')::uuid $$;

CREATE OR REPLACE FUNCTION app_all_tenants() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT coalesce(current_setting('app.all_tenants', true), '') = 'on' $$;

CREATE OR REPLACE FUNCTION app_current_provider() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.provider_id', true), '')::uuid $$;
"""


def provider_policy_sql(table: str, using: str, *, command: str = "SELECT", check: str | None = None) -> str:
    """An extra policy for a provider's transaction (``app.provider_id`` set, usually no tenant)."""
    with_check = f" WITH CHECK ({check})" if check else ""
    return f"""
DROP POLICY IF EXISTS provider_{command.lower()} ON {table};
CREATE POLICY provider_{command.lower()} ON {table} FOR {command} USING ({using}){with_check};
"""


def enable_sql(table: str, *, nullable: bool = False) -> str:
    match = "client_id = app_current_client()"
    if nullable:
        # Platform rows belong to no tenant: visible and writable only when no tenant is set.
        match = f"({match} OR (client_id IS NULL AND app_current_client() IS NULL))"
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_rw ON {table};
DROP POLICY IF EXISTS platform_read ON {table};
CREATE POLICY tenant_rw ON {table} USING ({match}) WITH CHECK ({match});
CREATE POLICY platform_read ON {table} FOR SELECT USING (app_all_tenants());
"""


def enable(op, table: str, *, nullable: bool = False) -> None:
    """Use from an Alembic migration: ``rls.enable(op, "loans")``."""
    op.execute(enable_sql(table, nullable=nullable))


GATE_SQL = text(
    """
    SELECT c.relname AS table_name,
           c.relrowsecurity AS enabled,
           c.relforcerowsecurity AS forced,
           (SELECT count(*) FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname) AS policies
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'client_id' AND NOT a.attisdropped
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
    ORDER BY c.relname
    """
)


def unprotected_tables(connection: Connection) -> list[str]:
    """Every table with a client_id column that lacks RLS, FORCE or a policy, with the reason."""
    problems = []
    for row in connection.execute(GATE_SQL):
        missing = [
            name
            for name, ok in (("RLS", row.enabled), ("FORCE", row.forced), ("policy", row.policies > 0))
            if not ok
        ]
        if missing:
            problems.append(f"{row.table_name}: missing {', '.join(missing)}")
    return problems


def tenant_tables(connection: Connection) -> list[str]:
    return [row.table_name for row in connection.execute(GATE_SQL)]
