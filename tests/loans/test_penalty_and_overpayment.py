"""Penalty interest (once per month of lateness, by the daily job, allocated like the late fee and
split with the platform when paid) and overpayments at closure (refunded through the gateway or held,
by the client's policy; a second payment refused while one is being confirmed)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from caas.core import tenant
from caas.core.errors import DomainError
from caas.credit.models import Notification
from caas.events.models import OutboxMessage
from caas.ledger import operations as ledger
from caas.ledger.models import AccountKind, JournalEntry
from caas.ledger.reports import trial_balance
from caas.loans import refunds, repayments, servicing
from caas.loans.maths import penalty_interest
from caas.loans.models import Loan, LoanInstallment, LoanRefund, LoanStatus, Repayment
from caas.payments import service
from caas.payments.models import BankAccount
from caas.tenancy.models import CreditPolicy
from tests.loans.test_servicing_stories import (START, due_dates, events, loan, pay, run_days,  # noqa: F401
                                                sandbox, state)


def set_policy(db, client, **values) -> None:
    with tenant.tenant_scope(client.id, db):
        policy = db.get(CreditPolicy, client.id)
        for name, value in values.items():
            setattr(policy, name, value)
        db.commit()


def row(db, client, loan_id, number) -> LoanInstallment:
    with tenant.tenant_scope(client.id, db):
        return db.get(LoanInstallment, (loan_id, number), populate_existing=True)


# --- Penalty interest ------------------------------------------------------------------------------

def test_penalty_interest_is_charged_once_per_month_late_and_paid_like_a_fee(db, loan):  # noqa: F811
    client, provider, loan_id = loan
    set_policy(db, client, penalty_annual_rate=Decimal("0.36"))
    dues = due_dates(db, client, loan_id)
    catch_up = dues[3] + timedelta(days=1)  # 23 Mar 2027: instalments 2, 3 and 4 paid together
    plan = {dues[0]: (client, loan_id, "instalment"), catch_up: (client, loan_id, "instalment"),
            dues[4]: (client, loan_id, "instalment"), dues[5]: (client, loan_id, "instalment")}
    run_days(db, START + timedelta(days=1), dues[2] - timedelta(days=1), plan)
    two = row(db, client, loan_id, 2)
    assert (two.fees_minor, two.penalty_minor, two.penalty_periods) == (5_00, 0, 0)  # late fee only: < 1 month late

    run_days(db, dues[2], dues[2], plan)  # 22 Feb: instalment 2 is one month late
    # Fineract C3154 principal of instalment 2: 16.41; 1641 × 0.36 / 12 = 49.23 → 49 (half-even)
    two = row(db, client, loan_id, 2)
    assert (two.penalty_minor, two.penalty_periods, two.fees_minor) == (49, 1, 5_00 + 49)
    again = servicing.service(db, dues[2])  # the same date again charges nothing
    assert again.penalties == 0 and row(db, client, loan_id, 2).penalty_minor == 49

    run_days(db, dues[2] + timedelta(days=1), dues[3], plan)  # 22 Mar
    two, three = row(db, client, loan_id, 2), row(db, client, loan_id, 3)
    assert (two.penalty_minor, two.penalty_periods) == (49 + 49, 2)  # second month: 49.23 → 49 again
    # instalment 3 (principal 16.58) one month late: 1658 × 0.03 = 49.74 → 50
    assert (three.fees_minor, three.penalty_minor, three.penalty_periods) == (5_00 + 50, 50, 1)
    assert row(db, client, loan_id, 4).penalty_minor == 0  # due today, not late

    run_days(db, catch_up, dues[5] + timedelta(days=1), plan)
    with tenant.tenant_scope(client.id, db):
        caught = db.scalar(select(Repayment).where(Repayment.received_on == catch_up))
    # 2: 17.25 + 5.00 + 0.98; 3: 17.25 + 5.00 + 0.50; 4: 17.25
    assert caught.amount_minor == 23_23 + 22_75 + 17_25
    assert caught.allocation["fees_minor"] == 5_00 + 98 + 5_00 + 50
    assert state(db, client, loan_id).status == LoanStatus.repaid
    # commission, 10% half-even of each repayment's interest and fees: 1.00 → 10; on 23 Mar interest
    # 0.84 + 0.67 + 0.51 and fees 11.48 = 13.50 → 135; 0.34 → 3 (3.4); 0.17 → 2 (1.7)
    commission = 10 + 135 + 3 + 2
    assert ledger.balance_of(db, AccountKind.platform_fee_revenue, "platform", "NGN") == commission
    income = 3_53 + 10_00 + 1_48
    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 1_000_00 + income - commission
    assert ledger.balance_of(db, AccountKind.loan_receivable, loan_id, "NGN") == 0
    assert all(tb.difference_minor == 0 for tb in trial_balance(db))


def test_no_penalty_without_a_rate(db, loan):  # noqa: F811
    client, _, loan_id = loan
    dues = due_dates(db, client, loan_id)
    run_days(db, dues[0] + timedelta(days=1), dues[0] + timedelta(days=31))
    first = row(db, client, loan_id, 1)
    assert (first.fees_minor, first.penalty_minor, first.penalty_periods) == (5_00, 0, 0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(principal=st.integers(0, 10**15), rate=st.decimals(min_value=0, max_value=5, places=6))
@example(principal=25_00, rate=Decimal("0.06"))  # 12.5: a tie, down to the even 12
@example(principal=27_00, rate=Decimal("0.06"))  # 13.5: a tie, up to the even 14
@example(principal=10**15, rate=Decimal("4.999999"))  # beyond BIGINT before the division
def test_the_jobs_sql_rounds_like_the_reference(db, principal, rate):
    n = "CAST(:p AS numeric) * CAST(CAST(:r AS numeric) * 1000000 AS numeric)"  # as the job builds it
    expression = servicing.PENALTY_AMOUNT_SQL.format(n=n)
    from_sql = db.execute(text(f"SELECT CAST({expression} AS bigint)"), {"p": principal, "r": str(rate)}).scalar()
    assert from_sql == penalty_interest(principal, rate)
    assert from_sql == int((Decimal(principal) * rate / 12).quantize(Decimal(1), ROUND_HALF_EVEN))


# --- Overpayments ----------------------------------------------------------------------------------

def _stale_pending_then_payoff(db, client, loan_id, on):
    """A charge the gateway has not answered (so not counted), then the payoff through another
    payment; the first charge is confirmed after the loan closed."""
    with tenant.tenant_scope(client.id, db):
        loan_ = repayments.lock_loan(db, loan_id)
        waiting = repayments.start(db, loan_, 17_25, "portal")
        db.commit()
        with pytest.raises(DomainError) as refused:
            repayments.quote(db, repayments.lock_loan(db, loan_id), "payoff", on)
        assert refused.value.code == "payment_in_progress" and refused.value.field == "kind"
        db.rollback()
        waiting.created_at = datetime.now(timezone.utc) - timedelta(hours=2)  # no longer blocks
        db.commit()
    payoff = pay(db, client, loan_id, on, "payoff")
    with tenant.tenant_scope(client.id, db):
        late = repayments.settle(db, waiting.id, succeeded=True, on=on, gateway="sandbox")
        db.commit()
    return payoff, late


def test_an_overpayment_is_refunded_to_the_borrowers_bank_account_once(app, db, loan):  # noqa: F811
    client, provider, loan_id = loan
    on = START + timedelta(days=10)
    payoff, late = _stale_pending_then_payoff(db, client, loan_id, on)
    # principal 100.00 + this period's interest for 10 of 30 days: 1.00 × 10 / 30 = 0.333 → 0.33
    assert payoff.amount_minor == 100_33 and late.status == "succeeded"
    assert late.allocation["credit_minor"] == 17_25 and late.allocation["principal_minor"] == 0
    assert state(db, client, loan_id).status == LoanStatus.repaid
    assert len(events(db, client, "credit.loan.closed")) == 1  # the late payment does not close it again
    with tenant.tenant_scope(client.id, db):
        [refund] = db.scalars(select(LoanRefund)).all()
        job = db.scalar(select(OutboxMessage).where(OutboxMessage.func == "caas.loans.jobs.process_refund"))
        assert job.args == [str(refund.id)] and job.queue == "payouts"
        assert db.get(Loan, loan_id, populate_existing=True).credit_minor == 0  # on its way back
    assert (refund.amount_minor, refund.status, refund.recipient["account_number"]) == (17_25, "pending", "0123456781")
    assert ledger.balance_of(db, AccountKind.borrower_payout_clearing, loan_id, "NGN") == 17_25  # owed to the borrower

    from caas.core import worker

    refund_id, reference = refund.id, refund.reference
    db.commit()  # (the test's reads end here, so the worker's commits are not inside them)
    worker.run(app, ["payouts"], burst=True, with_cron=False)  # the refund job, sent after commit
    with tenant.tenant_scope(client.id, db):
        assert db.get(LoanRefund, refund_id, populate_existing=True).status == "succeeded"
        # a duplicate delivery of the job changes nothing
        assert refunds.process(db, refund_id, service.router(), datetime.now(timezone.utc)) == "succeeded"
        assert db.scalar(select(func.count()).select_from(Notification)
                         .where(Notification.text.like("We sent 17.25 NGN back%"))) == 1
    assert ledger.balance_of(db, AccountKind.borrower_payout_clearing, loan_id, "NGN") == 0
    assert db.scalar(select(func.count()).select_from(JournalEntry)
                     .where(JournalEntry.idempotency_key == f"payout:sandbox:{reference}")) == 1
    # the provider got the payoff's principal and interest net of commission, nothing of the overpayment
    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 1_000_00 + 33 - 3  # 10% of 0.33 → 3
    assert all(tb.difference_minor == 0 for tb in trial_balance(db))


def test_a_refund_the_bank_refuses_leaves_the_money_held_as_credit(db, loan):  # noqa: F811
    client, _, loan_id = loan
    with tenant.tenant_scope(client.id, db):
        db.scalar(select(BankAccount)).account_number = "0123456780"  # the sandbox refuses accounts ending in 0
        db.commit()
    _stale_pending_then_payoff(db, client, loan_id, START + timedelta(days=10))
    with tenant.tenant_scope(client.id, db):
        refund = db.scalar(select(LoanRefund))
        assert refunds.process(db, refund.id, service.router(), datetime.now(timezone.utc)) == "failed"
        assert db.get(Loan, loan_id, populate_existing=True).credit_minor == 17_25
    assert ledger.balance_of(db, AccountKind.borrower_payout_clearing, loan_id, "NGN") == 17_25


def test_with_hold_credit_the_overpayment_stays_on_the_loan(db, loan):  # noqa: F811
    client, _, loan_id = loan
    set_policy(db, client, overpayment="hold_credit")
    _stale_pending_then_payoff(db, client, loan_id, START + timedelta(days=10))
    with tenant.tenant_scope(client.id, db):
        assert db.scalar(select(func.count()).select_from(LoanRefund)) == 0
        assert db.get(Loan, loan_id, populate_existing=True).credit_minor == 17_25
        assert db.scalar(select(func.count()).select_from(Notification)
                         .where(Notification.text.like("%We hold it for you as a credit%"))) == 1
    assert ledger.balance_of(db, AccountKind.borrower_payout_clearing, loan_id, "NGN") == 17_25
    assert len(events(db, client, "credit.loan.closed")) == 1


def test_the_client_admin_sets_late_fee_penalty_and_overpayment_in_the_policy(client, db):
    from tests import factories
    from tests.helpers import field_errors, login, post_form

    c = factories.client(db)
    admin = factories.client_admin(db, c)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    url = f"/admin/clients/{c.id}/policy"
    good = {"currencies": "NGN", "min_amount": "50000", "max_amount": "2000000", "allowed_terms": "6, 12",
            "max_debt_to_income": "0.35", "min_age": "21", "auto_decline_below_grade": "D",
            "bidding_window_hours": "48", "write_off_days_past_due": "120", "reference_annual_rate": "28.5",
            "late_fee": "2500.50", "penalty_annual_rate": "36", "overpayment": "hold_credit"}
    bad = post_form(client, url, {**good, "penalty_annual_rate": "600", "overpayment": "keep"})
    assert bad.status_code == 422
    assert field_errors(bad.get_data(as_text=True)) == {"overpayment": ["Not a valid choice."]}
    worse = post_form(client, url, {**good, "penalty_annual_rate": "600"})
    assert field_errors(worse.get_data(as_text=True)) == {
        "penalty_annual_rate": ["Use a yearly rate from 0 (none) to 500%."]}
    assert post_form(client, url, good).status_code == 302
    with tenant.tenant_scope(c.id, db):
        policy = db.get(CreditPolicy, c.id, populate_existing=True)
        assert (policy.late_fee_minor, policy.penalty_annual_rate, policy.overpayment) == (
            2_500_50, Decimal("0.360000"), "hold_credit")
        change = db.execute(text("SELECT after FROM audit_log WHERE action = 'policy.update'")).scalar()
    assert Decimal(change["penalty_annual_rate"]) == Decimal("0.36") and change["overpayment"] == "hold_credit"


def test_the_portal_refuses_a_second_payment_while_one_is_being_confirmed(client, db, loan):  # noqa: F811
    from caas.tenancy.models import User
    from tests import factories
    from tests.helpers import field_errors, get, login, post_form

    client_, _, loan_id = loan
    with tenant.tenant_scope(client_.id, db):
        email = db.get(User, db.get(Loan, loan_id).borrower_id).email
        repayments.start(db, repayments.lock_loan(db, loan_id), 17_25, "portal")  # the gateway has not answered
        db.commit()
    base = f"/c/{client_.slug}"
    login(client, email, factories.PASSWORD, path=f"{base}/login")
    page = f"{base}/loans/{loan_id}"
    refused = post_form(client, f"{page}/pay", {"kind": "payoff"}, token_from=page)
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {"kind": [
        "Your payment of 17.25 NGN is still being confirmed by the bank. Please wait for it before paying again."]}
    with tenant.tenant_scope(client_.id, db):
        assert db.scalar(select(func.count()).select_from(Repayment)) == 1  # nothing more was started
    assert get(client, page).status_code == 200
