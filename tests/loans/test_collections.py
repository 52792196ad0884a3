"""Auto-debit with its retry days, hardship re-planning with the affordability check, and the
collections log with broken promises."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from caas.core import tenant
from caas.core.errors import DomainError
from caas.events.models import OutboxMessage
from caas.loans import collections, servicing
from caas.loans.models import Loan, LoanInstallment, Repayment
from tests import factories
from tests.loans.test_servicing_stories import START, due_dates, loan, pay, run_days, sandbox  # noqa: F401


def authorise(db, client, loan_id, code: str) -> None:
    with tenant.tenant_scope(client.id, db):
        borrower_id = db.get(Loan, loan_id).borrower_id
        collections.authorize(db, factories.SYSTEM, borrower_id, client.id, gateway="sandbox",
                              authorization_code=code, label="sandbox card •••• 4242")
    db.commit()


def repayments_of(db, client) -> list[Repayment]:
    with tenant.tenant_scope(client.id, db):
        return db.scalars(select(Repayment).order_by(Repayment.created_at)).all()


def test_auto_debit_collects_on_the_due_date_once(db, loan):  # noqa: F811
    client, _, loan_id = loan
    authorise(db, client, loan_id, "AUTH_sandbox_ok1")
    dues = due_dates(db, client, loan_id)
    run_days(db, START + timedelta(days=1), dues[0])
    servicing.service(db, dues[0])  # the same day again: nothing more
    [debit] = repayments_of(db, client)
    assert (debit.source, debit.status, debit.amount_minor, debit.attempt) == ("auto_debit", "succeeded", 17_25, 1)
    assert debit.received_on == dues[0]
    run_days(db, dues[0] + timedelta(days=1), dues[0] + timedelta(days=2))
    with tenant.tenant_scope(client.id, db):
        assert db.scalar(select(func.count()).select_from(OutboxMessage)
                         .where(OutboxMessage.event_type == "credit.repayment.missed")) == 0


def test_a_declined_auto_debit_is_retried_on_the_policy_days_only(db, loan):  # noqa: F811
    client, _, loan_id = loan
    authorise(db, client, loan_id, "AUTH_sandbox_no0")  # the sandbox declines codes ending in 0
    dues = due_dates(db, client, loan_id)
    run_days(db, dues[0] - timedelta(days=1), dues[0] + timedelta(days=9))
    attempts = [(r.attempt, r.status, r.created_at.date() >= START) for r in repayments_of(db, client)]
    assert [a for a, _, _ in attempts] == [1, 2, 3, 4] and {s for _, s, _ in attempts} == {"failed"}
    with tenant.tenant_scope(client.id, db):
        days = [r.reference for r in db.scalars(select(Repayment).order_by(Repayment.attempt))]
    assert all(ref.endswith(f"-1-{n}") for n, ref in enumerate(days, start=1))  # instalment 1, attempts 1–4


def test_an_approved_hardship_extension_re_amortises_the_rest(db, loan):  # noqa: F811
    client, _, loan_id = loan
    dues = due_dates(db, client, loan_id)
    pay(db, client, loan_id, dues[0])
    on = dues[0] + timedelta(days=5)
    with tenant.tenant_scope(client.id, db):
        the_loan = db.get(Loan, loan_id)
        with pytest.raises(DomainError) as short:
            collections.request_hardship(db, the_loan, reason="ill", plan="extension", periods=3, on=on)
        assert short.value.field == "reason"
        request = collections.request_hardship(db, the_loan, reason="I was in hospital for a month.",
                                               plan="extension", periods=3, on=on)
        check = request.affordability
        assert check["income_minor"] == 450_000_00 and check["free_cash_minor"] == 450_000_00 - 150_000_00 - 20_000_00
        assert check["proposed_instalment_minor"] < check["current_instalment_minor"] and check["affordable"]
        collections.decide_hardship(db, factories.SYSTEM, request.id, True, "Hospital letter seen.", on)
        db.commit()
        rows = db.scalars(select(LoanInstallment).where(LoanInstallment.loan_id == loan_id)
                          .order_by(LoanInstallment.number)).all()
    assert len(rows) == 1 + 5 + 3  # the paid one, then the 5 left plus 3 more
    assert sum(r.principal_minor for r in rows) == 100_00  # still exactly the principal lent
    from caas.loans.maths import add_months

    assert rows[0].paid_minor == 17_25 and rows[1].due_date == add_months(on, 1)  # re-planned from ``on``
    assert rows[-1].balance_minor == 0


def test_a_promise_to_pay_whose_date_passed_unpaid_is_flagged_broken(db, loan):  # noqa: F811
    client, _, loan_id = loan
    dues = due_dates(db, client, loan_id)
    with tenant.tenant_scope(client.id, db):
        collections.log(db, factories.SYSTEM, loan_id, kind="contact", note="Called, no answer.")
        collections.log(db, factories.SYSTEM, loan_id, kind="promise", note="Will pay Friday.",
                        promised_on=dues[0] + timedelta(days=3), promised_minor=17_25)
        with pytest.raises(DomainError):
            collections.log(db, factories.SYSTEM, loan_id, kind="promise", note="Soon.")
        flagged = collections.notes(db, loan_id, dues[0] + timedelta(days=4))
    assert [(n.kind, broken) for n, broken in flagged] == [("promise", True), ("contact", False)]
