"""account links: password reset and e-mail verification share the invitation mechanism

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("invitations", sa.Column("purpose", sa.String(length=10), nullable=False, server_default="invite"))
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("DROP FUNCTION IF EXISTS caas_invitation_lookup(text)")
    op.execute("""
CREATE FUNCTION caas_invitation_lookup(p_token_hash text)
RETURNS TABLE (id uuid, client_id uuid, user_id uuid, expires_at timestamptz, used_at timestamptz, purpose text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.id, i.client_id, i.user_id, i.expires_at, i.used_at, i.purpose::text
  FROM invitations i WHERE i.token_hash = p_token_hash
$$;
REVOKE ALL ON FUNCTION caas_invitation_lookup(text) FROM PUBLIC;
""")


def downgrade():
    op.execute("DROP FUNCTION IF EXISTS caas_invitation_lookup(text)")
    op.drop_column("users", "email_verified_at")
    op.drop_column("invitations", "purpose")
