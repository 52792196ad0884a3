"""Platform admins record a provider's funding deposit and see a trial balance that sums to zero."""
from __future__ import annotations

from tests import factories
from tests.helpers import field_errors, get, login, post_form


def test_funding_deposit_posts_to_available_funds_and_the_trial_balance(db, client):
    provider = factories.provider(db, currencies=["NGN"])
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    url = f"/admin/providers/{provider.id}/funding"
    assert post_form(client, url, {"amount": "2500000.50", "currency": "NGN", "reference": "DEP-1"}).status_code == 302
    assert post_form(client, url, {"amount": "2500000.50", "currency": "NGN", "reference": "DEP-1"}).status_code == 302
    page = get(client, url).get_data(as_text=True)
    assert 'data-testid="available-NGN">2500000.50<' in page  # the same reference twice is one deposit
    refused = post_form(client, url, {"amount": "10", "currency": "XYZ", "reference": "DEP-2"})
    assert refused.status_code == 422
    trial = get(client, "/admin/ledger").get_data(as_text=True)
    assert "Total (difference 0.00)" in trial and "2500000.50" in trial
