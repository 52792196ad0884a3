"""billing: usage recorded_at, the dated price book (platform plan seeded), billing runs, invoices and
lines, the gap-free invoice number sequence, quota warnings and overrides, client billing settings,
and the platform_tax_payable ledger account kind

Revision ID: 0600
Revises: 0530
Create Date: 2026-11-22 03:00:00

"""
from alembic import op
import sqlalchemy as sa

from caas.core import rls

revision = "0600"
down_revision = "0530"
branch_labels = None
depends_on = None

TENANT_TABLES = ("invoices", "invoice_lines", "quota_warnings", "quota_overrides")

# (kind, owner_type, normal_side): 0100's list plus the tax the platform collects on invoices.
# caas.ledger.models.KINDS must agree (tests/ledger/test_schema.py reads the newest list).
KINDS = [
    ("provider_available", "provider", "credit"),
    ("provider_reserved", "provider", "credit"),
    ("provider_loans", "provider", "credit"),
    ("loan_receivable", "loan", "debit"),
    ("borrower_payout_clearing", "loan", "credit"),
    ("gateway_clearing", "gateway", "debit"),
    ("platform_fee_revenue", "platform", "credit"),
    ("client_billing_receivable", "client", "debit"),
    ("platform_tax_payable", "platform", "credit"),
]

# The platform plan, frozen here as data (ARCHITECTURE.md "Prices"); tiers differ in included units.
# (metric, unit_price, per_units, percent, {tier: included_units})
PLAN = [
    ("application_processed", "100.00", 1, "0", {"starter": 0, "professional": 200, "enterprise": 2000}),
    ("risk_assessment", "50.00", 1, "0", {"starter": 0, "professional": 200, "enterprise": 2000}),
    ("provider_network_access", "500.00", 1, "0", {"starter": 0, "professional": 0, "enterprise": 1}),
    ("payment_transaction", "0.50", 1, "1.5", {"starter": 0, "professional": 0, "enterprise": 0}),
    ("api_call", "0.10", 1000, "0", {"starter": 100_000, "professional": 1_000_000, "enterprise": 10_000_000}),
]

BILLING_RUN_FUNCTION = """
CREATE OR REPLACE FUNCTION app_billing_run() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT coalesce(current_setting('app.billing_run', true), '') = 'on' $$;
"""


def _kinds_check(kinds) -> str:
    rows = ", ".join(f"('{k}', '{o}', '{s}')" for k, o, s in kinds)
    return f"(kind, owner_type, normal_side) IN ({rows})"


def upgrade():
    op.execute(BILLING_RUN_FUNCTION)
    op.drop_constraint(op.f("ck_ledger_accounts_kind_owner_side"), "ledger_accounts", type_="check")
    op.create_check_constraint(op.f("ck_ledger_accounts_kind_owner_side"), "ledger_accounts", _kinds_check(KINDS))

    op.add_column("clients", sa.Column("billing_tax_rate", sa.Numeric(7, 4), nullable=False, server_default="0"))
    op.add_column("clients", sa.Column("payment_terms_days", sa.Integer(), nullable=False, server_default="30"))

    op.add_column("usage_events", sa.Column("recorded_at", sa.DateTime(timezone=True),
                                            server_default=sa.text("now()"), nullable=False))
    op.drop_index("ix_usage_events_client_id", table_name="usage_events")  # the unique (client_id, key) serves
    # Usage is appended roughly in time order: BRIN indexes find a month (or what arrived lately) for
    # almost nothing on insert; the quota check counts one client's applications this month.
    op.create_index("ix_usage_events_occurred_at", "usage_events", ["occurred_at"], postgresql_using="brin")
    op.create_index("ix_usage_events_recorded_at", "usage_events", ["recorded_at"], postgresql_using="brin")
    op.create_index("ix_usage_events_applications", "usage_events", ["client_id", "occurred_at"],
                    postgresql_where=sa.text("metric = 'application_processed'"))

    op.create_table(
        "price_book",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("unit_price", sa.Numeric(18, 6), nullable=False),
        sa.Column("per_units", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("percent", sa.Numeric(9, 6), nullable=False, server_default="0"),
        sa.Column("included_units", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_price_book_client_id_clients"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_book")),
        sa.CheckConstraint("(client_id IS NULL) <> (tier IS NULL)", name=op.f("ck_price_book_tier_or_client")),
        sa.CheckConstraint("extract(day FROM effective_from) = 1", name=op.f("ck_price_book_first_of_month")),
        sa.CheckConstraint("unit_price >= 0 AND percent >= 0 AND per_units >= 1 AND included_units >= 0",
                           name=op.f("ck_price_book_non_negative")),
        sa.CheckConstraint("metric IN ('application_processed', 'risk_assessment', 'provider_network_access', "
                           "'payment_transaction', 'api_call')", name=op.f("ck_price_book_metric")),
    )
    op.create_index(op.f("ix_price_book_client_id"), "price_book", ["client_id"])
    op.create_index("uq_price_book_tier", "price_book", ["tier", "metric", "effective_from"], unique=True,
                    postgresql_where=sa.text("client_id IS NULL"))
    op.create_index("uq_price_book_client", "price_book", ["client_id", "metric", "effective_from"], unique=True,
                    postgresql_where=sa.text("client_id IS NOT NULL"))
    rows = []
    for metric, price, per, percent, included in PLAN:
        for tier, units in included.items():
            rows.append(f"(gen_random_uuid(), NULL, '{tier}', '{metric}', DATE '2026-01-01', {price}, {per}, "
                        f"{percent}, {units})")
    op.execute("INSERT INTO price_book (id, client_id, tier, metric, effective_from, unit_price, per_units, percent, "
               "included_units) VALUES " + ", ".join(rows))

    op.create_table(
        "billing_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("scope_client_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.Column("invoices_created", sa.Integer(), nullable=False),
        sa.Column("invoices_existing", sa.Integer(), nullable=False),
        sa.Column("lines_created", sa.Integer(), nullable=False),
        sa.Column("triggered_by", sa.String(length=80), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_runs")),
        sa.CheckConstraint("period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'", name=op.f("ck_billing_runs_period")),
        comment="platform: billing run executions (counts only, no tenant data)",
    )
    op.create_index(op.f("ix_billing_runs_period"), "billing_runs", ["period"])

    op.create_table(
        "invoice_sequences",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_invoice_sequences")),
        comment="platform: gap-free invoice numbers per year",
    )

    op.execute("CREATE TYPE invoice_status AS ENUM ('draft', 'issued', 'paid', 'void')")
    op.create_table(
        "invoices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.dialects.postgresql.ENUM(name="invoice_status", create_type=False), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("tax_rate", sa.Numeric(7, 4), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_reference", sa.String(length=100), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_invoices_client_id_clients"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["run_id"], ["billing_runs.id"], name=op.f("fk_invoices_run_id_billing_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint("year", "sequence", name="uq_invoices_year_sequence"),
        sa.CheckConstraint("total_minor = subtotal_minor + tax_minor", name=op.f("ck_invoices_total")),
        sa.CheckConstraint("subtotal_minor >= 0 AND tax_minor >= 0", name=op.f("ck_invoices_non_negative")),
    )
    op.create_index(op.f("ix_invoices_client_id"), "invoices", ["client_id"])
    op.create_index(op.f("ix_invoices_period"), "invoices", ["period"])
    op.create_index("uq_invoices_client_period_currency", "invoices", ["client_id", "period", "currency"],
                    unique=True, postgresql_where=sa.text("status <> 'void'"))

    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("usage_period", sa.String(length=7), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("base_minor", sa.BigInteger(), nullable=False),
        sa.Column("included_units", sa.BigInteger(), nullable=False),
        sa.Column("billable_units", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.Numeric(18, 6), nullable=False),
        sa.Column("per_units", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Numeric(9, 6), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_invoice_lines_client_id_clients"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.CheckConstraint("kind IN ('usage', 'adjustment')", name=op.f("ck_invoice_lines_kind")),
        comment="append-only in practice: an invoice's lines never change after the run",
    )
    op.create_index(op.f("ix_invoice_lines_invoice_id"), "invoice_lines", ["invoice_id"])
    op.create_index("ix_invoice_lines_usage", "invoice_lines", ["client_id", "usage_period", "metric"])

    for name, unique_cols, period_len in (("quota_warnings", ("client_id", "quota", "period", "level"), 13),
                                          ("quota_overrides", ("client_id", "quota", "period"), 13)):
        columns = [
            sa.Column("id", sa.Uuid(), nullable=False),
            sa.Column("client_id", sa.Uuid(), nullable=False),
            sa.Column("quota", sa.String(length=40), nullable=False),
            sa.Column("period", sa.String(length=period_len), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        ]
        if name == "quota_warnings":
            columns += [sa.Column("level", sa.Integer(), nullable=False), sa.Column("used", sa.BigInteger(), nullable=False),
                        sa.Column("limit", sa.BigInteger(), nullable=False)]
        else:
            columns += [sa.Column("reason", sa.Text(), nullable=False), sa.Column("granted_by", sa.Uuid(), nullable=True)]
        op.create_table(
            name, *columns,
            sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f(f"fk_{name}_client_id_clients"),
                                    ondelete="RESTRICT"),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
            sa.UniqueConstraint(*unique_cols, name="uq_quota_warnings_once" if name == "quota_warnings"
                                else "uq_quota_overrides_period"),
        )
        op.create_index(op.f(f"ix_{name}_client_id"), name, ["client_id"])

    for table in TENANT_TABLES:
        rls.enable(op, table)
    rls.enable(op, "price_book", nullable=True)
    # The tier prices (no tenant) are the published plan: every tenant reads them beside its own overrides.
    op.execute("DROP POLICY IF EXISTS plan_read ON price_book; "
               "CREATE POLICY plan_read ON price_book FOR SELECT USING (client_id IS NULL);")
    # The billing run writes every tenant's invoices (and network-access usage) in one statement;
    # only caas.billing.run sets app.billing_run, inside the run's transaction.
    for table in ("invoices", "invoice_lines", "usage_events"):
        op.execute(f"DROP POLICY IF EXISTS billing_run ON {table}; "
                   f"CREATE POLICY billing_run ON {table} FOR INSERT WITH CHECK (app_billing_run());")
    # INSERT … ON CONFLICT DO NOTHING (idempotent usage) also needs the new rows visible to SELECT.
    op.execute("DROP POLICY IF EXISTS billing_run_read ON usage_events; "
               "CREATE POLICY billing_run_read ON usage_events FOR SELECT USING (app_billing_run());")


def downgrade():
    op.execute("DROP POLICY IF EXISTS billing_run_read ON usage_events")
    op.execute("DROP POLICY IF EXISTS plan_read ON price_book")
    for table in ("invoices", "invoice_lines", "usage_events"):
        op.execute(f"DROP POLICY IF EXISTS billing_run ON {table}")
    for table in ("quota_overrides", "quota_warnings", "invoice_lines", "invoices", "invoice_sequences",
                  "billing_runs", "price_book"):
        op.drop_table(table)
    op.execute("DROP TYPE IF EXISTS invoice_status")
    op.drop_index("ix_usage_events_applications", table_name="usage_events")
    op.create_index("ix_usage_events_client_id", "usage_events", ["client_id"])
    op.drop_index("ix_usage_events_recorded_at", table_name="usage_events")
    op.drop_index("ix_usage_events_occurred_at", table_name="usage_events")
    op.drop_column("usage_events", "recorded_at")
    op.drop_column("clients", "payment_terms_days")
    op.drop_column("clients", "billing_tax_rate")
    op.drop_constraint(op.f("ck_ledger_accounts_kind_owner_side"), "ledger_accounts", type_="check")
    op.create_check_constraint(op.f("ck_ledger_accounts_kind_owner_side"), "ledger_accounts", _kinds_check(KINDS[:-1]))
    op.execute("DROP FUNCTION IF EXISTS app_billing_run()")
