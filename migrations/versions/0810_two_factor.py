"""two-factor authentication (issue 13): a user's TOTP secret (encrypted), the last time step used
and the recovery codes' hashes, under the same row-level security as users (client_id NULL for
platform and provider staff)

Revision ID: 0810
Revises: 0900
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from caas.core import rls

revision = "0810"
down_revision = "0900"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_two_factor",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("secret_ciphertext", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("recovery_code_hashes", postgresql.ARRAY(sa.String(length=64)), nullable=False,
                  server_default=sa.text("'{}'")),
        sa.Column("recovery_generated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_two_factor_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_user_two_factor_client_id_clients")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_two_factor")),
    )
    op.create_index(op.f("ix_user_two_factor_client_id"), "user_two_factor", ["client_id"])
    rls.enable(op, "user_two_factor", nullable=True)


def downgrade():
    op.drop_table("user_two_factor")
