"""loans: statements, penalty interest and overpayments (issue 9)

Revision ID: 0520
Revises: 0510
Create Date: 2026-11-22 02:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from caas.core import rls

revision = "0520"
down_revision = "0510"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
