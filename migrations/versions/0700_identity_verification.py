"""identity verification: checks stored on the borrower's KYC record (identity_verifications, FORCE
RLS) and the client policy's require_identity_verification

Revision ID: 0700
Revises: 0600
Create Date: 2026-11-23 09:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from caas.core import rls

revision = "0700"
down_revision = "0600"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("credit_policies", sa.Column("require_identity_verification", sa.Boolean(), nullable=False,
                                               server_default=sa.text("false")))
    op.create_table(
        "identity_verifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("id_type", sa.String(length=20), nullable=False),
        sa.Column("id_number_masked", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("name_match_score", sa.Numeric(5, 2), nullable=True),
        sa.Column("dob_match", sa.Boolean(), nullable=True),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_identity_verifications_client_id_clients"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["borrower_profiles.user_id"],
                                name=op.f("fk_identity_verifications_user_id_borrower_profiles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_verifications")),
        sa.UniqueConstraint("client_id", "user_id", "fingerprint", name="uq_identity_verifications_fingerprint"),
        sa.CheckConstraint("status IN ('matched', 'mismatched', 'not_found')",
                           name=op.f("ck_identity_verifications_status")),
        comment="identity checks of borrowers' national ids (masked); one per id, name and date of birth",
    )
    op.create_index(op.f("ix_identity_verifications_client_id"), "identity_verifications", ["client_id"])
    op.create_index(op.f("ix_identity_verifications_user_id"), "identity_verifications", ["user_id"])
    rls.enable(op, "identity_verifications")


def downgrade():
    op.drop_table("identity_verifications")
    op.drop_column("credit_policies", "require_identity_verification")
