"""Someone signed in for one tenant on another client's public portal pages (found by the matrix:
an invalid reset link there rolled back, the signed-in user's row was reloaded under the other
tenant, where it is invisible, and the page failed with a 500)."""
from __future__ import annotations

from tests import factories
from tests.helpers import get, login


def test_a_user_of_another_tenant_is_nobody_on_a_portals_public_pages(client, db):
    a, b = factories.client(db), factories.client(db)
    borrower = factories.borrower(db, a, full_name="Ifeoma From A")
    db.commit()
    assert login(client, borrower.email, factories.PASSWORD, f"/c/{a.slug}/login").status_code == 302

    invalid = get(client, f"/c/{b.slug}/reset/not-a-real-token")
    assert invalid.status_code == 410
    assert "This link is not valid." in invalid.get_data(as_text=True)
    assert "Ifeoma From A" not in invalid.get_data(as_text=True)  # the page is drawn for nobody
    page = get(client, f"/c/{b.slug}/login")
    assert page.status_code == 200 and "Ifeoma From A" not in page.get_data(as_text=True)
    # ...and the session is untouched: back on their own portal they are still signed in.
    home = get(client, f"/c/{a.slug}/")
    assert home.status_code == 200 and "Ifeoma From A" in home.get_data(as_text=True)
