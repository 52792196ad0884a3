"""webhook deliveries: deliveries, append-only attempt log, endpoint rotation and health

One row per (endpoint, event), an append-only attempt log, and on webhook_endpoints what secret
rotation and endpoint health need.

A branch from 0004 (setup applies every head). Written by hand.

Revision ID: 0200
Revises: 0004
Create Date: 2026-11-23 09:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from caas.core import rls

revision = "0200"
down_revision = "0004"
branch_labels = None
depends_on = None

ENDPOINT_COLUMNS = (
    ("previous_secret_ciphertext", sa.Text()),
    ("rotated_at", sa.DateTime(timezone=True)),
    ("failing_since", sa.DateTime(timezone=True)),
    ("flagged_at", sa.DateTime(timezone=True)),
    ("disabled_at", sa.DateTime(timezone=True)),
    ("disabled_reason", sa.String(length=200)),
)


def upgrade():
    for name, type_ in ENDPOINT_COLUMNS:
        op.add_column("webhook_endpoints", sa.Column(name, type_, nullable=True))

    status = postgresql.ENUM("pending", "succeeded", "failed", name="webhook_delivery_status", create_type=False)
    status.create(op.get_bind(), checkfirst=True)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("outbox_id", sa.Uuid(), nullable=True),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("event_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", status, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("cycle_attempts", sa.Integer(), nullable=False),
        sa.Column("cycle_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_webhook_deliveries_client_id_clients"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"],
                                name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        sa.CheckConstraint("attempts >= 0 AND cycle >= 0 AND cycle_attempts >= 0 AND cycle_attempts <= attempts",
                           name=op.f("ck_webhook_deliveries_counts")),
    )
    op.create_index(op.f("ix_webhook_deliveries_client_id"), "webhook_deliveries", ["client_id"])
    op.create_index("ix_webhook_deliveries_endpoint_created", "webhook_deliveries", ["endpoint_id", "created_at"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"))

    op.create_table(
        "webhook_delivery_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"],
                                name=op.f("fk_webhook_delivery_attempts_client_id_clients"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_deliveries.id"],
                                name=op.f("fk_webhook_delivery_attempts_delivery_id_webhook_deliveries")),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"],
                                name=op.f("fk_webhook_delivery_attempts_endpoint_id_webhook_endpoints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery_attempts")),
        sa.UniqueConstraint("delivery_id", "attempt", name="uq_webhook_delivery_attempts_attempt"),
        sa.CheckConstraint("octet_length(response_body) <= 8192", name=op.f("ck_webhook_delivery_attempts_body")),
        comment="append-only: webhook delivery attempts",
    )
    op.create_index(op.f("ix_webhook_delivery_attempts_client_id"), "webhook_delivery_attempts", ["client_id"])
    op.create_index("ix_webhook_delivery_attempts_endpoint_at", "webhook_delivery_attempts", ["endpoint_id", "at"])
    # The attempt log is evidence: the database refuses UPDATE and DELETE (caas_refuse_change is
    # from 0001; dbsetup also revokes UPDATE/DELETE from the app role because of the comment).
    op.execute("CREATE TRIGGER webhook_delivery_attempts_append_only BEFORE UPDATE OR DELETE "
               "ON webhook_delivery_attempts FOR EACH ROW EXECUTE FUNCTION caas_refuse_change()")

    for table in ("webhook_deliveries", "webhook_delivery_attempts"):
        rls.enable(op, table)


def downgrade():
    op.drop_table("webhook_delivery_attempts")
    op.drop_table("webhook_deliveries")
    op.execute("DROP TYPE IF EXISTS webhook_delivery_status")
    for name, _ in reversed(ENDPOINT_COLUMNS):
        op.drop_column("webhook_endpoints", name)
