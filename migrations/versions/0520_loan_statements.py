"""loans: statements, penalty interest and overpayments (issue 9)

- credit_policies.penalty_annual_rate: penalty interest on overdue principal (0 = off), charged by the
  daily job once per month of lateness per instalment;
- credit_policies.overpayment: what happens to money left over when a loan closes (refund | hold_credit);
- loan_installments.penalty_minor / penalty_periods: the penalty interest charged to an instalment (it
  is also in fees_minor, so the waterfall, days past due and payoff treat it like the late fee) and
  how many periods were charged (the idempotency mark);
- loan_refunds: an overpayment sent back to the borrower's bank account, once per reference.

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
    op.add_column("credit_policies", sa.Column("penalty_annual_rate", sa.Numeric(7, 6), server_default="0",
                                               nullable=False))
    op.add_column("credit_policies", sa.Column("overpayment", sa.String(12), server_default="refund", nullable=False))
    op.create_check_constraint(op.f("ck_credit_policies_penalty_rate"), "credit_policies",
                               "penalty_annual_rate >= 0 AND penalty_annual_rate <= 5")
    op.create_check_constraint(op.f("ck_credit_policies_overpayment"), "credit_policies",
                               "overpayment IN ('refund', 'hold_credit')")
    op.add_column("loan_installments", sa.Column("penalty_minor", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("loan_installments", sa.Column("penalty_periods", sa.Integer(), server_default="0",
                                                 nullable=False))
    op.create_table(
        "loan_refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("repayment_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("gateway", sa.String(32), nullable=True),
        sa.Column("gateway_id", sa.String(100), nullable=True),
        sa.Column("recipient", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_loan_refunds_client_id_clients"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_loan_refunds_loan_id_loans")),
        sa.ForeignKeyConstraint(["repayment_id"], ["repayments.id"], name=op.f("fk_loan_refunds_repayment_id_repayments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_refunds")),
        sa.UniqueConstraint("reference", name=op.f("uq_loan_refunds_reference")),
        sa.UniqueConstraint("repayment_id", name=op.f("uq_loan_refunds_repayment_id")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_loan_refunds_positive")),
        sa.CheckConstraint("status IN ('pending', 'submitted', 'succeeded', 'failed')",
                           name=op.f("ck_loan_refunds_status")),
    )
    op.create_index(op.f("ix_loan_refunds_client_id"), "loan_refunds", ["client_id"], unique=False)
    op.create_index(op.f("ix_loan_refunds_loan_id"), "loan_refunds", ["loan_id"], unique=False)
    rls.enable(op, "loan_refunds")
    # the provider's monthly statement reads its repayments by month
    op.create_index("ix_repayments_loan_received", "repayments", ["loan_id", "received_on"],
                    postgresql_where=sa.text("status = 'succeeded'"))


def downgrade():
    op.drop_index("ix_repayments_loan_received", table_name="repayments")
    op.drop_index(op.f("ix_loan_refunds_loan_id"), table_name="loan_refunds")
    op.drop_index(op.f("ix_loan_refunds_client_id"), table_name="loan_refunds")
    op.drop_table("loan_refunds")
    op.drop_column("loan_installments", "penalty_periods")
    op.drop_column("loan_installments", "penalty_minor")
    op.drop_constraint(op.f("ck_credit_policies_overpayment"), "credit_policies", type_="check")
    op.drop_constraint(op.f("ck_credit_policies_penalty_rate"), "credit_policies", type_="check")
    op.drop_column("credit_policies", "overpayment")
    op.drop_column("credit_policies", "penalty_annual_rate")
