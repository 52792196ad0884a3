"""Pay now from the borrower's loan page through the sandbox charge; the gateway's webhook for the
same charge changes nothing more; a partial payment above the payoff is refused at the field."""
from __future__ import annotations



from sqlalchemy import select

from caas.core import tenant
from caas.events.models import OutboxMessage
from caas.loans.models import Loan, LoanInstallment, Repayment
from caas.payments import service
from caas.tenancy.models import User
from tests import factories
from tests.helpers import BASE, field_errors, get, login, post_form
from tests.loans.test_servicing_stories import loan, sandbox  # noqa: F401 — fixtures


def test_a_borrower_pays_the_next_instalment_and_sees_it_paid(client, db, loan):  # noqa: F811
    client_, provider, loan_id = loan
    with tenant.tenant_scope(client_.id, db):
        borrower = db.get(User, db.get(Loan, loan_id).borrower_id)
        email = borrower.email
    base = f"/c/{client_.slug}"
    login(client, email, factories.PASSWORD, path=f"{base}/login")
    page_url = f"{base}/loans/{loan_id}"
    page = get(client, page_url).get_data(as_text=True)
    assert "Next instalment: 17.25 NGN" in page and 'data-testid="pay-form"' in page
    too_much = post_form(client, f"{page_url}/pay", {"kind": "partial", "amount": "500"}, token_from=page_url)
    assert too_much.status_code == 422
    assert "more than it takes to repay the loan" in field_errors(too_much.get_data(as_text=True))["amount"][0]
    paid = post_form(client, f"{page_url}/pay", {"kind": "instalment"}, token_from=page_url)
    assert paid.status_code == 302
    after = get(client, page_url).get_data(as_text=True)

    assert after.count('<span class="badge text-bg-success">paid</span>') == 1
    with tenant.tenant_scope(client_.id, db):
        repayment = db.scalar(select(Repayment))
        first = db.get(LoanInstallment, (loan_id, 1), populate_existing=True)
    assert repayment.status == "succeeded" and repayment.amount_minor == 17_25
    assert (first.paid_principal_minor, first.paid_interest_minor) == (16_25, 1_00)  # Fineract C3154 row 1
    headers, body = service.router().gateway("sandbox").build_charge_webhook(repayment.reference)
    again = client.post("/webhooks/sandbox", data=body, headers=headers, base_url=BASE)
    assert again.status_code == 200
    with tenant.tenant_scope(client_.id, db):
        received = db.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "credit.repayment.received")).all()
        assert len(received) == 1
        assert db.get(LoanInstallment, (loan_id, 1), populate_existing=True).paid_minor == 17_25


def test_the_borrower_turns_auto_debit_on_and_off_and_asks_for_hardship(client, db, loan):  # noqa: F811
    from caas.loans.models import HardshipRequest, PaymentAuthorization

    client_, _, loan_id = loan
    with tenant.tenant_scope(client_.id, db):
        email = db.get(User, db.get(Loan, loan_id).borrower_id).email
    base = f"/c/{client_.slug}"
    login(client, email, factories.PASSWORD, path=f"{base}/login")
    page_url = f"{base}/loans/{loan_id}"
    on = post_form(client, f"{page_url}/auto-debit", {}, token_from=page_url)
    assert on.status_code == 302 and "Sandbox card" in get(client, page_url).get_data(as_text=True)
    post_form(client, f"{page_url}/auto-debit", {"action": "revoke"}, token_from=page_url)
    with tenant.tenant_scope(client_.id, db):
        [auth] = db.scalars(select(PaymentAuthorization)).all()
        assert auth.revoked_at is not None and auth.authorization_code.startswith("AUTH_sandbox_")
    short = post_form(client, f"{page_url}/hardship", {"reason": "ill", "plan": "holiday", "periods": "2"},
                      token_from=page_url)
    assert short.status_code == 422 and field_errors(short.get_data(as_text=True)) == {
        "reason": ["Tell us in a sentence what has changed."]}
    asked = post_form(client, f"{page_url}/hardship", {"reason": "I lost my job last week.", "plan": "holiday",
                                                       "periods": "2"}, token_from=page_url)
    assert asked.status_code == 302
    with tenant.tenant_scope(client_.id, db):
        request = db.scalar(select(HardshipRequest))
    assert (request.plan, request.periods, request.status) == ("holiday", 2, "pending")
    assert "is with our team" in get(client, page_url).get_data(as_text=True)
