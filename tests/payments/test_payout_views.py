"""Payout pages: the admin list and detail with retry, a client admin limited to their tenant,
the provider's disbursements."""
from __future__ import annotations

from sqlalchemy import select

from caas.audit.models import AuditEntry
from caas.core import tenant
from caas.payments.models import Payout
from caas.payments.states import PayoutState as P
from tests import factories
from tests.helpers import get, login, post_form
from tests.payments.test_payouts import accepted, run, sandbox  # noqa: F401 — the fixture


def test_a_platform_admin_sees_a_failed_payout_and_retries_it(client, db, sandbox):  # noqa: F811
    client_, _, _, payout = accepted(db, account="0123456780")
    run(db, client_, payout)
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    listing = get(client, "/admin/payouts?status=failed").get_data(as_text=True)
    assert payout.reference in listing
    detail_url = f"/admin/payouts/{payout.id}"
    detail = get(client, detail_url).get_data(as_text=True)
    assert "account rejected" in detail and 'data-testid="payout-calls"' in detail
    assert "0123456780" not in detail  # the account number is shown by its last four digits only
    retried = post_form(client, f"{detail_url}/retry", {}, token_from=detail_url)
    assert retried.status_code == 302
    with tenant.tenant_scope(client_.id, db):
        again = db.get(Payout, payout.id, populate_existing=True)
        assert again.attempt == 2 and again.status == P.submitted
        assert db.scalar(select(AuditEntry.action).where(AuditEntry.action == "payout.retry")) == "payout.retry"


def test_a_client_admin_sees_only_their_payouts(client, db, sandbox):  # noqa: F811
    mine, _, _, my_payout = accepted(db)
    theirs, _, _, their_payout = accepted(db)
    admin = factories.client_admin(db, mine)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    page = get(client, "/admin/payouts").get_data(as_text=True)
    assert my_payout.reference in page and their_payout.reference not in page
    assert get(client, f"/admin/payouts/{their_payout.id}").status_code == 404
    assert get(client, f"/admin/payouts/{my_payout.id}").status_code == 200


def test_a_provider_sees_its_disbursements_only(client, db, sandbox):  # noqa: F811
    client_, provider, _, payout = accepted(db)
    _, _, _, other = accepted(db)
    run(db, client_, payout)
    user = factories.provider_user(db, provider)
    db.commit()
    login(client, user.email, factories.PASSWORD)
    page = get(client, "/provider/disbursements").get_data(as_text=True)
    assert page.count('data-testid="disbursement-row"') == 1
    assert "247,500.00 NGN" in page and ">succeeded<" in page
