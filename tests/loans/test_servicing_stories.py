"""Time travel: the daily job run day by day over a 6-month loan, in three stories — paid on time,
one missed payment then cured, default then write-off — checking balances, buckets and events to
the cent. The loan reproduces Fineract's C3154 schedule (100.00 at 12% over 6 months, 30/360), so
the interest the provider earns comes from ../shared/reference/schedules.csv, not from our code."""
from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from caas.core import clock, tenant
from caas.events.models import OutboxMessage
from caas.ledger import operations as ledger
from caas.ledger.models import AccountKind
from caas.ledger.reports import trial_balance
from caas.loans import repayments, servicing
from caas.loans.models import BucketChange, Loan, LoanInstallment, LoanStatus, Repayment
from caas.market import acceptance, bids
from caas.payments import payouts, service
from caas.payments.gateways import SandboxGateway
from caas.payments.routing import Router
from caas.tenancy import policy as policies
from tests import factories
from tests.market.world import NOW, bid_input, lender, open_application

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
START = NOW.date()  # the payout day: 2026-11-22


def fineract_c3154() -> list[dict]:
    with open(REFERENCE / "schedules.csv", newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["case_id"] == "F-C3154"]


def minor(text: str) -> int:
    return int((Decimal(text) * 100).to_integral_value())


@pytest.fixture
def sandbox():
    service.use(Router({"sandbox": SandboxGateway(settle_after=0)}))
    yield
    service.use(None)


@pytest.fixture
def loan(db, sandbox):
    """An active 6-month loan of NGN 100.00 at 12% (no fee), paid out on START. The views stand on
    that day too (the clock is frozen at NOW), whatever day the tests run."""
    with clock.frozen(NOW):
        yield _active_loan(db)


def _active_loan(db):
    client = factories.client(db)
    with tenant.tenant_scope(client.id, db):
        values = policies.default_policy("NGN")
        values.min_amount_minor = 100_00
        values.write_off_days_past_due = 60
        policies.save(db, factories.SYSTEM, client.id, values)
        from caas.tenancy.models import CreditPolicy

        db.get(CreditPolicy, client.id).late_fee_minor = 5_00
        db.flush()
    provider = lender(db, client, funds_minor=1_000_00, min_amount_minor=100)
    opened = open_application(db, client, amount_minor=100_00, term=6)
    with tenant.provider_scope(provider.id, db):
        bid = bids.place(db, factories.SYSTEM, provider.id, opened.listing_id,
                         bid_input(rate="12", term=6, fee_minor=0), NOW)
    with tenant.tenant_scope(client.id, db):
        made = acceptance.accept(db, factories.SYSTEM, application_id=opened.application_id, bid_id=bid.id,
                                 typed_name="Adaeze Okoro", consent=True, agreement_sha256=None, channel="portal",
                                 ip_address=None, now=NOW, borrower_id=opened.borrower_id)
        db.commit()
        payouts.process(db, payouts.for_loan(db, made.id).id, service.router(), NOW)
    db.commit()
    return client, provider, made.id


def due_dates(db, client, loan_id) -> list[date]:
    with tenant.tenant_scope(client.id, db):
        return [r.due_date for r in db.scalars(select(LoanInstallment).where(LoanInstallment.loan_id == loan_id)
                                                .order_by(LoanInstallment.number))]


def pay(db, client, loan_id, on: date, kind: str = "instalment") -> Repayment:
    with tenant.tenant_scope(client.id, db):
        loan = repayments.lock_loan(db, loan_id)
        amount = repayments.quote(db, loan, kind, on)
        repayment = repayments.start(db, loan, amount, "portal")
        db.commit()
        done = repayments.charge(db, repayment, service.router(), authorization_code="AUTH_demo_1",
                                 email="ada@example.com", on=on)
        db.commit()
        return done


def run_days(db, first: date, last: date, pay_on: dict[date, str] | None = None) -> None:
    day = first
    while day <= last:
        for when, (client, loan_id, kind) in (pay_on or {}).items():
            if when == day:
                pay(db, client, loan_id, day, kind)
        servicing.service(db, day)
        day += timedelta(days=1)


def events(db, client, event_type) -> list[OutboxMessage]:
    with tenant.tenant_scope(client.id, db):
        return db.scalars(select(OutboxMessage).where(OutboxMessage.event_type == event_type)
                          .order_by(OutboxMessage.created_at)).all()


def state(db, client, loan_id) -> Loan:
    with tenant.tenant_scope(client.id, db):
        return db.get(Loan, loan_id, populate_existing=True)


def test_paid_on_time(db, loan):
    client, provider, loan_id = loan
    dues = due_dates(db, client, loan_id)
    assert dues[0] == date(2026, 12, 22)
    run_days(db, START + timedelta(days=1), dues[-1] + timedelta(days=3),
             {d: (client, loan_id, "instalment") for d in dues})
    reference = fineract_c3154()
    interest = sum(minor(r["interest_due"]) for r in reference)  # 3.53
    assert interest == 3_53
    done = state(db, client, loan_id)
    assert done.status == LoanStatus.repaid and done.bucket == "current"
    commission = 35  # 10% of 3.53, half-even
    funds = ledger.provider_funds(db, provider.id, "NGN")
    assert funds.available_minor == 1_000_00 + interest - commission and funds.reserved_minor == 0
    assert ledger.balance_of(db, AccountKind.platform_fee_revenue, "platform", "NGN") == commission
    assert ledger.balance_of(db, AccountKind.loan_receivable, loan_id, "NGN") == 0
    assert ledger.balance_of(db, AccountKind.provider_loans, provider.id, "NGN") == 0
    assert all(tb.difference_minor == 0 for tb in trial_balance(db))
    assert len(events(db, client, "credit.repayment.due")) == 6
    assert len(events(db, client, "credit.repayment.received")) == 6
    assert events(db, client, "credit.repayment.missed") == []
    assert len(events(db, client, "credit.loan.closed")) == 1
    with tenant.tenant_scope(client.id, db):
        assert db.scalar(select(func.count()).select_from(BucketChange)) == 0
        paid = db.scalars(select(Repayment.amount_minor).order_by(Repayment.received_on)).all()
    assert paid == [minor(r["total_due"]) for r in reference]  # 17.25 × 5 and 17.28


def test_one_missed_payment_then_cured(db, loan):
    client, provider, loan_id = loan
    dues = due_dates(db, client, loan_id)
    late = dues[1] + timedelta(days=10)
    plan = {d: (client, loan_id, "instalment") for d in dues if d != dues[1]}
    plan[late] = (client, loan_id, "instalment")
    run_days(db, START + timedelta(days=1), dues[1] + timedelta(days=9), plan)
    behind = state(db, client, loan_id)
    assert (behind.days_past_due, behind.bucket) == (9, "1-30")
    [missed] = events(db, client, "credit.repayment.missed")
    assert missed.payload["instalment"] == 2 and missed.payload["amount"] == "22.25"  # 17.25 + the 5.00 late fee
    run_days(db, late, dues[-1] + timedelta(days=1), plan)
    done = state(db, client, loan_id)
    assert done.status == LoanStatus.repaid
    with tenant.tenant_scope(client.id, db):
        changes = db.scalars(select(BucketChange).order_by(BucketChange.on)).all()
        late_payment = db.scalar(select(Repayment).where(Repayment.received_on == late))
    assert [(c.from_bucket, c.to_bucket, c.on) for c in changes] == [
        ("current", "1-30", dues[1] + timedelta(days=1)), ("1-30", "current", late)]
    assert late_payment.amount_minor == 22_25 and late_payment.allocation["fees_minor"] == 5_00
    commission = int((Decimal(3_53 + 5_00) * Decimal("0.1")).to_integral_value())  # 10% of 8.53
    assert ledger.balance_of(db, AccountKind.platform_fee_revenue, "platform", "NGN") == commission == 85
    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 1_000_00 + 3_53 + 5_00 - 85
    assert all(tb.difference_minor == 0 for tb in trial_balance(db))


def test_default_goes_to_collections_then_is_written_off(db, loan):
    client, provider, loan_id = loan
    dues = due_dates(db, client, loan_id)
    run_days(db, START + timedelta(days=1), dues[0] + timedelta(days=61))
    gone = state(db, client, loan_id)
    assert gone.status == LoanStatus.written_off and gone.days_past_due == 60
    assert gone.collections_since == dues[0] + timedelta(days=30)
    [collection] = events(db, client, "credit.collection.initiated")
    assert collection.payload["days_past_due"] == 30
    with tenant.tenant_scope(client.id, db):
        buckets = [(c.from_bucket, c.to_bucket) for c in db.scalars(select(BucketChange).order_by(BucketChange.on))]
    assert buckets == [("current", "1-30"), ("1-30", "31-60")]
    # the provider bears the loss of the principal: its claim and the receivable are gone
    assert ledger.balance_of(db, AccountKind.loan_receivable, loan_id, "NGN") == 0
    assert ledger.balance_of(db, AccountKind.provider_loans, provider.id, "NGN") == 0
    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 1_000_00 - 100_00
    assert all(tb.difference_minor == 0 for tb in trial_balance(db))


def test_the_daily_job_twice_on_one_date_changes_nothing_the_second_time(db, loan):
    client, _, loan_id = loan
    dues = due_dates(db, client, loan_id)
    day = dues[0] + timedelta(days=1)
    servicing.service(db, dues[0] - timedelta(days=3))
    first = servicing.service(db, day)
    with tenant.tenant_scope(client.id, db):
        before = (db.scalar(select(func.count()).select_from(OutboxMessage)),
                  db.scalar(select(func.count()).select_from(BucketChange)))
        fees = db.scalar(select(func.sum(LoanInstallment.fees_minor)))
    second = servicing.service(db, day)
    with tenant.tenant_scope(client.id, db):
        after = (db.scalar(select(func.count()).select_from(OutboxMessage)),
                 db.scalar(select(func.count()).select_from(BucketChange)))
        assert db.scalar(select(func.sum(LoanInstallment.fees_minor))) == fees == 5_00
    assert first.missed == 1 and second.missed == 0 and second.reminders == 0
    assert before == after
