"""Where usage comes from: payouts and repayments record a payment transaction, in the same
transaction as the money movement, once however often the gateway's answer is applied."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from caas.billing.models import UsageEvent
from caas.core import tenant
from caas.loans import repayments
from caas.loans.models import Loan
from caas.payments import payouts
from tests.loans.test_servicing_stories import loan, sandbox  # noqa: F401 — fixtures


def payment_usage(db, client):
    with tenant.tenant_scope(client.id, db):
        return db.execute(select(UsageEvent.idempotency_key, UsageEvent.amount_minor, UsageEvent.currency)
                          .where(UsageEvent.metric == "payment_transaction")
                          .order_by(UsageEvent.recorded_at, UsageEvent.idempotency_key)).all()


def test_a_payout_and_a_repayment_each_record_one_payment_transaction(db, loan):  # noqa: F811
    client, _provider, loan_id = loan
    with tenant.tenant_scope(client.id, db):
        payout = payouts.for_loan(db, loan_id)
        paid_out = [(f"payment_transaction:payout:{payout.reference}", payout.amount_minor, "NGN")]
    assert payment_usage(db, client) == paid_out
    assert paid_out[0][1] == 100_00  # the NGN 100.00 loan, no fee withheld
    with tenant.tenant_scope(client.id, db):
        repayment = repayments.start(db, db.get(Loan, loan_id), 17_25, "portal")
        db.commit()
        repayments.settle(db, repayment.id, succeeded=True, on=date(2026, 12, 22), gateway="sandbox")
        repayments.settle(db, repayment.id, succeeded=True, on=date(2026, 12, 22), gateway="sandbox")  # webhook again
        db.commit()
    assert payment_usage(db, client)[1:] == [(f"payment_transaction:repayment:{repayment.reference}", 17_25, "NGN")]


def test_a_failed_repayment_records_no_usage(db, loan):  # noqa: F811
    client, _provider, loan_id = loan
    with tenant.tenant_scope(client.id, db):
        repayment = repayments.start(db, db.get(Loan, loan_id), 17_25, "portal")
        db.commit()
        repayments.settle(db, repayment.id, succeeded=False, on=date(2026, 12, 22), gateway="sandbox",
                          reason="insufficient funds")
        db.commit()
    assert len(payment_usage(db, client)) == 1  # only the payout
