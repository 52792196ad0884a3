"""The collections queue for agents: a client admin sees their loans in collections and pending
hardship requests, logs a promise, approves a plan; another client's admin gets 404."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from caas.core import clock, tenant
from caas.loans import collections
from caas.loans.models import CollectionNote, HardshipRequest, Loan
from tests import factories
from tests.helpers import field_errors, get, login, post_form
from tests.loans.test_servicing_stories import START, due_dates, loan, run_days, sandbox  # noqa: F401


def test_an_agent_works_a_loan_in_collections(client, db, loan):  # noqa: F811
    client_, _, loan_id = loan
    dues = due_dates(db, client_, loan_id)
    run_days(db, dues[0] + timedelta(days=29), dues[0] + timedelta(days=31))
    with tenant.tenant_scope(client_.id, db):
        collections.request_hardship(db, db.get(Loan, loan_id), reason="Shop burnt down last month.",
                                     plan="holiday", periods=2, on=clock.today())
    agent = factories.client_admin(db, client_)
    db.commit()
    login(client, agent.email, factories.PASSWORD)
    queue = get(client, "/admin/collections").get_data(as_text=True)
    assert queue.count('data-testid="collections-row"') == 1 and queue.count('data-testid="hardship-row"') == 1
    page = f"/admin/loans/{loan_id}"
    bad = post_form(client, f"{page}/notes", {"kind": "promise", "note": "Will pay"}, token_from=page)
    assert field_errors(bad.get_data(as_text=True)) == {"promised_on": ["A promise needs a date and an amount."]}
    good = post_form(client, f"{page}/notes", {"kind": "promise", "note": "Will pay Friday",
                                               "promised_on": str(dues[0] + timedelta(days=35)),
                                               "promised_amount": "17.25"}, token_from=page)
    assert good.status_code == 302
    with tenant.tenant_scope(client_.id, db):
        note = db.scalar(select(CollectionNote))
        request = db.scalar(select(HardshipRequest))
    assert (note.promised_minor, note.author_id) == (17_25, agent.id)
    decided = post_form(client, f"/admin/hardship/{request.id}", {"outcome": "approve", "note": "Insurance letter seen."},
                        token_from=page)
    assert decided.status_code == 302
    with tenant.tenant_scope(client_.id, db):
        assert db.get(HardshipRequest, request.id, populate_existing=True).status == "approved"


def test_another_clients_admin_cannot_open_the_loan(client, db, loan):  # noqa: F811
    client_, _, loan_id = loan
    outsider = factories.client_admin(db, factories.client(db))
    db.commit()
    login(client, outsider.email, factories.PASSWORD)
    assert get(client, f"/admin/loans/{loan_id}").status_code == 404
    assert 'data-testid="collections-row"' not in get(client, "/admin/collections").get_data(as_text=True)
