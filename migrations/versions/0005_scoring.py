"""scoring: sanctions lists, scoring models, credit decisions, referral reviews

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from caas.core import rls

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sanctions_lists",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("sdn_text", sa.Text(), nullable=False),
        sa.Column("alt_text", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("alias_count", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("uq_sanctions_lists_one_active", "sanctions_lists", ["active"], unique=True,
                    postgresql_where=sa.text("active"))
    op.create_table(
        "scoring_models",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("version", sa.String(40), nullable=False, unique=True),
        sa.Column("artifact", postgresql.JSONB(), nullable=False),
        sa.Column("metrics", postgresql.JSONB(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("uq_scoring_models_one_active", "scoring_models", ["active"], unique=True,
                    postgresql_where=sa.text("active"))
    op.create_table(
        "credit_decisions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("client_id", sa.Uuid(), sa.ForeignKey("clients.id", ondelete="RESTRICT"), nullable=False, index=True),
        sa.Column("application_id", sa.Uuid(), sa.ForeignKey("applications.id"), nullable=False, index=True),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("model_version", sa.String(40), nullable=False),
        sa.Column("sanctions_list_sha256", sa.String(64), nullable=True),
        sa.Column("pd", sa.Numeric(7, 6), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(1), nullable=True),
        sa.Column("reasons", postgresql.JSONB(), nullable=False),
        sa.Column("rule_results", postgresql.JSONB(), nullable=False),
        sa.Column("screening_hits", postgresql.JSONB(), nullable=False),
        sa.Column("kyc_results", postgresql.JSONB(), nullable=False),
        sa.Column("inputs", postgresql.JSONB(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.UniqueConstraint("application_id", "model_version", name="uq_credit_decisions_app_model"),
        comment="append-only: credit decisions",
    )
    op.create_table(
        "referral_reviews",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("client_id", sa.Uuid(), sa.ForeignKey("clients.id", ondelete="RESTRICT"), nullable=False, index=True),
        sa.Column("application_id", sa.Uuid(), sa.ForeignKey("applications.id"), nullable=False, index=True),
        sa.Column("reviewer_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        comment="append-only: referral reviews",
    )
    for table in ("credit_decisions", "referral_reviews"):
        rls.enable(op, table)
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION caas_refuse_change()")


def downgrade():
    op.drop_table("referral_reviews")
    op.drop_table("credit_decisions")
    op.drop_table("scoring_models")
    op.drop_table("sanctions_lists")
