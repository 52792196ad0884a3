"""user sessions kept on the server (issue 13): a log-in's token digest, start and end, under the
same row-level security as users (client_id NULL for platform and provider staff)

Revision ID: 0640
Revises: 0600
Create Date: 2026-11-22 04:00:00

"""
from alembic import op
import sqlalchemy as sa

from caas.core import rls

revision = "0640"
down_revision = "0600"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("token_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_user_sessions_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_user_sessions_token_sha256")),
        sa.CheckConstraint("end_reason IS NULL OR end_reason IN ('logout', 'password_changed', 'idle', 'expired', "
                           "'revoked')", name=op.f("ck_user_sessions_end_reason_known")),
    )
    op.create_index("ix_user_sessions_open", "user_sessions", ["user_id"], postgresql_where=sa.text("ended_at IS NULL"))
    rls.enable(op, "user_sessions", nullable=True)


def downgrade():
    op.drop_table("user_sessions")
