"""ledger: accounts, append-only balanced journal, maintained balances

A separate branch from 0002 (setup applies every head). Written by hand: the constraints and
triggers are the point of this migration.

Revision ID: 0100
Revises: 0002
Create Date: 2026-11-22 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0100"
down_revision = "0002"
branch_labels = None
depends_on = None

# (kind, owner_type, normal_side): frozen here on purpose; caas.ledger.models.KINDS must agree
# (tests/ledger/test_schema.py compares them). A new kind is a new migration replacing this CHECK.
KINDS = [
    ("provider_available", "provider", "credit"),
    ("provider_reserved", "provider", "credit"),
    ("provider_loans", "provider", "credit"),
    ("loan_receivable", "loan", "debit"),
    ("borrower_payout_clearing", "loan", "credit"),
    ("gateway_clearing", "gateway", "debit"),
    ("platform_fee_revenue", "platform", "credit"),
    ("client_billing_receivable", "client", "debit"),
]


def _kinds_check() -> str:
    rows = ", ".join(f"('{k}', '{o}', '{s}')" for k, o, s in KINDS)
    return f"(kind, owner_type, normal_side) IN ({rows})"


def upgrade():
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("owner_type", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("normal_side", sa.String(length=6), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("kind", "owner_type", "owner_id", "currency", name=op.f("uq_ledger_accounts_key")),
        # Targets of the composite foreign keys below: a line's currency and a balance's kind must
        # be those of their account, checked by the database rather than trusted from the caller.
        sa.UniqueConstraint("id", "currency", name=op.f("uq_ledger_accounts_id_currency")),
        sa.UniqueConstraint("id", "kind", name=op.f("uq_ledger_accounts_id_kind")),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_ledger_accounts_currency")),
        sa.CheckConstraint(_kinds_check(), name=op.f("ck_ledger_accounts_kind_owner_side")),
        sa.CheckConstraint("owner_id <> ''", name=op.f("ck_ledger_accounts_owner_id")),
        comment="ledger accounts: platform books, no RLS (owners named by owner_type/owner_id)",
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("reverses_entry_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_journal_entries_idempotency_key")),
        # An entry is reversed at most once.
        sa.UniqueConstraint("reverses_entry_id", name=op.f("uq_journal_entries_reverses_entry_id")),
        sa.ForeignKeyConstraint(["reverses_entry_id"], ["journal_entries.id"],
                                name=op.f("fk_journal_entries_reverses_entry_id_journal_entries")),
        sa.CheckConstraint("idempotency_key <> ''", name=op.f("ck_journal_entries_idempotency_key")),
        comment="append-only: ledger journal entries",
    )
    op.create_table(
        "journal_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debit_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_lines")),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"], name=op.f("fk_journal_lines_entry_id_journal_entries")),
        sa.ForeignKeyConstraint(["account_id", "currency"], ["ledger_accounts.id", "ledger_accounts.currency"],
                                name=op.f("fk_journal_lines_account_currency")),
        sa.CheckConstraint("debit_minor >= 0 AND credit_minor >= 0 AND (debit_minor = 0) <> (credit_minor = 0)",
                           name=op.f("ck_journal_lines_one_side")),
        comment="append-only: ledger journal lines",
    )
    op.create_index("ix_journal_lines_entry_id", "journal_lines", ["entry_id"])
    op.create_index("ix_journal_lines_account_id", "journal_lines", ["account_id", "id"])
    op.create_table(
        "ledger_balances",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_ledger_balances")),
        sa.ForeignKeyConstraint(["account_id", "kind"], ["ledger_accounts.id", "ledger_accounts.kind"],
                                name=op.f("fk_ledger_balances_account_kind")),
        # The last line of defence for provider funds: even a bug in the posting code cannot
        # commit a negative available (or reserved) balance, nor pay a borrower more than the
        # disbursement owed (a negative payout clearing would mean paying twice).
        sa.CheckConstraint("kind NOT IN ('provider_available', 'provider_reserved', 'borrower_payout_clearing') "
                           "OR balance_minor >= 0",
                           name=op.f("ck_ledger_balances_non_negative")),
        comment="ledger balances: maintained by caas.ledger.posting in the posting transaction",
    )
    op.execute(LEDGER_SQL)


LEDGER_SQL = """
-- History is never changed: the database refuses UPDATE, DELETE and TRUNCATE, whoever asks.
-- (caas_refuse_change comes from 0001; dbsetup also revokes UPDATE/DELETE from the app role
-- because the table comments start with 'append-only'.)
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION caas_refuse_change();
CREATE TRIGGER journal_lines_append_only BEFORE UPDATE OR DELETE ON journal_lines
  FOR EACH ROW EXECUTE FUNCTION caas_refuse_change();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
  FOR EACH STATEMENT EXECUTE FUNCTION caas_refuse_change();
CREATE TRIGGER journal_lines_no_truncate BEFORE TRUNCATE ON journal_lines
  FOR EACH STATEMENT EXECUTE FUNCTION caas_refuse_change();

-- An entry has two or more lines and balances per currency. Checked at COMMIT (deferred), when
-- every line of the entry is in, so the lines may be inserted one by one.
CREATE OR REPLACE FUNCTION ledger_check_entry(p_entry uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  n integer;
  unbalanced text;
BEGIN
  SELECT count(*) INTO n FROM journal_lines WHERE entry_id = p_entry;
  IF n < 2 THEN
    RAISE EXCEPTION 'journal entry % has % line(s); an entry needs at least two', p_entry, n
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT string_agg(format('%s debits %s credits %s', currency, d, c), '; ' ORDER BY currency)
    INTO unbalanced
    FROM (SELECT currency, sum(debit_minor) AS d, sum(credit_minor) AS c FROM journal_lines
          WHERE entry_id = p_entry GROUP BY currency HAVING sum(debit_minor) <> sum(credit_minor)) s;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry % is unbalanced: %', p_entry, unbalanced USING ERRCODE = 'check_violation';
  END IF;
END $$;

CREATE OR REPLACE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM ledger_check_entry(NEW.id); RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION ledger_line_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM ledger_check_entry(NEW.entry_id); RETURN NULL; END $$;

-- On the entry: catches an entry with no lines at all. On the lines: catches lines added later
-- to an entry committed earlier.
CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
CREATE CONSTRAINT TRIGGER journal_lines_balanced AFTER INSERT ON journal_lines
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_line_balanced();

-- Every account has its balance row from birth, so posting only ever locks and updates rows.
CREATE OR REPLACE FUNCTION ledger_open_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_balances (account_id, kind, balance_minor) VALUES (NEW.id, NEW.kind, 0);
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_accounts_open_balance AFTER INSERT ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_open_balance();
"""


def downgrade():
    op.drop_table("ledger_balances")
    op.drop_index("ix_journal_lines_account_id", table_name="journal_lines")
    op.drop_index("ix_journal_lines_entry_id", table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_table("journal_entries")
    op.drop_table("ledger_accounts")
    op.execute("DROP FUNCTION IF EXISTS ledger_entry_balanced(), ledger_line_balanced(), "
               "ledger_check_entry(uuid), ledger_open_balance()")
