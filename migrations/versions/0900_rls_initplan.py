"""row-level security policies call the context functions once per query, not once per row

Every policy's ``app_current_client()`` (and app_all_tenants, app_current_provider,
app_billing_run) becomes ``(SELECT app_current_client())``, an InitPlan PostgreSQL evaluates once
per statement. Same rows visible, same rows writable; set-based queries under FORCEd RLS stop paying
a function call per row (issue 10: the billing aggregation; issue 13).

Revision ID: 0900
Revises: 0800
Create Date: 2026-11-22 09:30:00

"""
from alembic import op

from caas.core import rls

revision = "0900"
down_revision = "0800"
branch_labels = None
depends_on = None


def upgrade():
    rls.rewrite_policies(op.get_bind(), rls.initplan)


def downgrade():
    rls.rewrite_policies(op.get_bind(), rls.per_row)
