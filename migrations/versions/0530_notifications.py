"""notifications: preferences, SMS and per-event messages (issue 11)

- notifications (in-app) serve every role now: a platform admin's notice has no tenant, so
  client_id may be NULL, protected like users (a tenant sees its own rows, NULL rows only
  without a tenant); indexes for the unread badge.
- notification_messages: the sent-log, one row per (event, person, channel), rendered when the
  event is routed and sent by a job; the unique key makes routing and sending idempotent.
- notification_preferences: a borrower's opt-outs of optional e-mails and SMS opt-in (tenant-owned).
- sms_messages: what the sandbox SMS gateway recorded (tenant-owned).

Revision ID: 0530
Revises: 0520
Create Date: 2026-11-22 02:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from caas.core import rls

revision = "0530"
down_revision = "0520"
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("notifications", "client_id", existing_type=sa.Uuid(), nullable=True)
    rls.enable(op, "notifications", nullable=True)
    op.create_index("ix_notifications_user_unread", "notifications", ["user_id"],
                    postgresql_where=sa.text("read_at IS NULL"))
    op.create_index("ix_provider_notifications_provider_unread", "provider_notifications", ["provider_id"],
                    postgresql_where=sa.text("read_at IS NULL"))

    op.create_table(
        "notification_messages",
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("event_id", sa.String(length=160), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms', 'in_app')", name=op.f("ck_notification_messages_channel")),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')",
                           name=op.f("ck_notification_messages_status")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_notification_messages_client_id_clients"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notification_messages_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_messages")),
        sa.UniqueConstraint("event_id", "user_id", "channel", name="uq_notification_messages_event_user_channel"),
    )
    op.create_index(op.f("ix_notification_messages_client_id"), "notification_messages", ["client_id"])
    op.create_index("ix_notification_messages_user_created", "notification_messages", ["user_id", "created_at"])
    rls.enable(op, "notification_messages", nullable=True)

    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("email_opt_outs", postgresql.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("sms_opt_in", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"],
                                name=op.f("fk_notification_preferences_client_id_clients"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notification_preferences_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preferences")),
    )
    op.create_index(op.f("ix_notification_preferences_client_id"), "notification_preferences", ["client_id"])
    rls.enable(op, "notification_preferences")

    op.create_table(
        "sms_messages",
        sa.Column("to_phone", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_sms_messages_client_id_clients"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
    )
    op.create_index(op.f("ix_sms_messages_client_id"), "sms_messages", ["client_id"])
    rls.enable(op, "sms_messages")


def downgrade():
    op.drop_table("sms_messages")
    op.drop_table("notification_preferences")
    op.drop_table("notification_messages")
    op.drop_index("ix_provider_notifications_provider_unread", table_name="provider_notifications")
    op.drop_index("ix_notifications_user_unread", table_name="notifications")
    # Platform admins' notices have no tenant and cannot stay once client_id is required again.
    op.execute("DELETE FROM notifications WHERE client_id IS NULL")
    op.alter_column("notifications", "client_id", existing_type=sa.Uuid(), nullable=False)
    rls.enable(op, "notifications")
