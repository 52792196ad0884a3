"""merge the sessions (0640) and identity verification (0700) branches into one head

Revision ID: 0800
Revises: 0640, 0700
Create Date: 2026-11-22 09:00:00

"""
revision = "0800"
down_revision = ("0640", "0700")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
