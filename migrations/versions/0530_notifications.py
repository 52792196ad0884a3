"""notifications: preferences, SMS and per-event messages (issue 11)

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
    pass


def downgrade():
    pass
