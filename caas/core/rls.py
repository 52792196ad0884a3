"""Row-level security: the SQL the migrations use, and the gate that finds unprotected tables.

A tenant-owned table gets RLS ENABLEd and FORCEd (so the owner is bound too) and two policies:
- ``tenant_rw`` for every command: the row's client_id equals the acting tenant.
- ``platform_read`` for SELECT only: the transaction is in the explicit all-tenants read mode.
Tables where client_id may be NULL (platform rows beside tenant rows: users, audit, outbox,
invitations) let a transaction with no tenant see and write the NULL rows, which belong to no
tenant; a tenant's transaction sees only its own rows.

Every policy calls the context functions (``app_current_client()`` and the others) as a scalar
sub-select, ``(SELECT app_current_client())``: PostgreSQL then evaluates it once per query (an
InitPlan) instead of once per row, which made set-based work (billing aggregation, PAR history,
marketplace lists) several times slower under FORCEd RLS. ``policies_calling_per_row`` is the gate
that keeps it so.
"""
from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection

# The functions policies read the transaction's context through (app_billing_run: migration 0600).
CONTEXT_FUNCTIONS = ("app_current_client", "app_all_tenants", "app_current_provider", "app_billing_run")


def once(function: str) -> str:
    """A context function called once per query: ``(SELECT app_current_client())``."""
    return f"(SELECT {function}())"


CLIENT = once("app_current_client")

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
    using, check = initplan(using), check and initplan(check)
    with_check = f" WITH CHECK ({check})" if check else ""
    return f"""
DROP POLICY IF EXISTS provider_{command.lower()} ON {table};
CREATE POLICY provider_{command.lower()} ON {table} FOR {command} USING ({using}){with_check};
"""


def enable_sql(table: str, *, nullable: bool = False) -> str:
    match = f"client_id = {CLIENT}"
    if nullable:
        # Platform rows belong to no tenant: visible and writable only when no tenant is set.
        match = f"({match} OR (client_id IS NULL AND {CLIENT} IS NULL))"
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_rw ON {table};
DROP POLICY IF EXISTS platform_read ON {table};
CREATE POLICY tenant_rw ON {table} USING ({match}) WITH CHECK ({match});
CREATE POLICY platform_read ON {table} FOR SELECT USING ({once("app_all_tenants")});
"""


# A bare call: one not already the body of a scalar sub-select (PostgreSQL shows those back as
# "( SELECT app_current_client() AS app_current_client)").
_BARE_CALL = re.compile(r"(?<!SELECT )\b(" + "|".join(CONTEXT_FUNCTIONS) + r")\(\)")
_WRAPPED_CALL = re.compile(r"\(\s*SELECT (" + "|".join(CONTEXT_FUNCTIONS) + r")\(\)(?: AS \w+)?\)")


def initplan(expression: str) -> str:
    """Wrap every bare context-function call in ``expression`` as a sub-select; idempotent."""
    return _BARE_CALL.sub(lambda m: once(m.group(1)), expression)


def per_row(expression: str) -> str:
    """The inverse of ``initplan`` (for a downgrade)."""
    return _WRAPPED_CALL.sub(lambda m: f"{m.group(1)}()", expression)


POLICIES_SQL = text("SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'public' "
                    "ORDER BY tablename, policyname")


def rewrite_policies(connection: Connection, rewrite) -> int:
    """ALTER every policy whose expressions ``rewrite`` changes; returns how many changed."""
    changed = 0
    for row in connection.execute(POLICIES_SQL).all():
        clauses = []
        for keyword, expression in (("USING", row.qual), ("WITH CHECK", row.with_check)):
            if expression is not None and rewrite(expression) != expression:
                clauses.append(f"{keyword} ({rewrite(expression)})")
        if clauses:
            connection.execute(text(f'ALTER POLICY "{row.policyname}" ON "{row.tablename}" {" ".join(clauses)}'))
            changed += 1
    return changed


def policies_calling_per_row(connection: Connection) -> list[str]:
    """Policies that call a context function once per row instead of once per query."""
    return [f"{row.tablename}.{row.policyname}" for row in connection.execute(POLICIES_SQL)
            if any(e is not None and initplan(e) != e for e in (row.qual, row.with_check))]


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
