"""The notification centre in every portal: a user sees their own notices and nobody else's, the badge
counts the unread, one or all are marked read (POST with CSRF), and another tenant's or another
person's notice answers 404."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from caas.core import tenant
from caas.credit import notifications
from caas.credit.models import Notification
from caas.market.models import ProviderNotification
from tests import factories
from tests.helpers import BASE, csrf_token, get, login

HX = {"HX-Request": "true"}


def notice(db, user, text: str, link: str | None = None) -> uuid.UUID:
    """A notice for ``user`` written the way the domain writes them, in the user's own scope."""
    if user.client_id is not None:
        with tenant.tenant_scope(user.client_id, db):
            notifications.notify(db, user.client_id, user.id, text, link)
            return db.scalar(select(Notification.id).where(Notification.text == text))
    notifications.notify(db, None, user.id, text, link)
    return db.scalar(select(Notification.id).where(Notification.text == text))


def texts(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t).strip() for t in re.findall(
        r'data-testid="notification".*?<div>\s*(.*?)\s*<div class="text-muted', html, flags=re.S)]


def badge(client, prefix: str) -> int:
    html = get(client, f"{prefix}/notifications/badge", headers=HX).get_data(as_text=True)
    return int(re.search(r'data-count="(\d+)"', html).group(1))


def post(client, path: str, page: str, **kwargs):
    return client.post(path, data={"csrf_token": csrf_token(client, page)}, base_url=BASE,
                       headers={"Referer": f"{BASE}{page}", **kwargs.pop("headers", {})}, **kwargs)


def test_a_borrower_sees_only_their_own_notices_and_marks_them_read(client, db):
    c, other_tenant = factories.client(db), factories.client(db)
    me, neighbour = factories.borrower(db, c), factories.borrower(db, c)
    stranger = factories.borrower(db, other_tenant)
    first = notice(db, me, "Your application is now submitted.", "/applications/x")
    notice(db, me, "You have a new offer from Acme.")
    theirs = notice(db, neighbour, "Neighbour's notice")
    foreign = notice(db, stranger, "Another tenant's notice")
    db.commit()
    prefix = f"/c/{c.slug}"
    assert login(client, me.email, factories.PASSWORD, path=f"{prefix}/login").status_code == 302

    page = get(client, f"{prefix}/notifications").get_data(as_text=True)
    assert sorted(texts(page)) == ["You have a new offer from Acme.", "Your application is now submitted."]
    assert f'href="{prefix}/applications/x"' in page  # borrower links live under the portal
    assert f'href="{prefix}/notifications/preferences"' in page
    assert 'id="nav-unread"' in page and f'hx-get="{prefix}/notifications/badge"' in page
    assert badge(client, prefix) == 2

    # another person's notice, in this tenant or another, is not there for this borrower
    for ident in (theirs, foreign, uuid.uuid4()):
        assert post(client, f"{prefix}/notifications/{ident}/read", f"{prefix}/notifications").status_code == 404
    one = post(client, f"{prefix}/notifications/{first}/read", f"{prefix}/notifications", headers=HX)
    assert one.status_code == 200 and one.headers["HX-Trigger"] == "notifications-changed"
    assert 'data-read="yes"' in one.get_data(as_text=True)
    assert badge(client, prefix) == 1
    everything = post(client, f"{prefix}/notifications/read-all", f"{prefix}/notifications")
    assert everything.status_code == 302 and everything.headers["Location"].endswith(f"{prefix}/notifications")
    assert badge(client, prefix) == 0
    with tenant.tenant_scope(c.id, db):
        unread = db.scalars(select(Notification.text).where(Notification.read_at.is_(None))).all()
    assert unread == ["Neighbour's notice"]  # marking all read touched only this borrower's
    with tenant.tenant_scope(other_tenant.id, db):
        assert db.get(Notification, foreign, populate_existing=True).read_at is None


def test_mark_read_needs_the_csrf_token(client, db):
    c = factories.client(db)
    me = factories.borrower(db, c)
    ident = notice(db, me, "Hello")
    db.commit()
    prefix = f"/c/{c.slug}"
    login(client, me.email, factories.PASSWORD, path=f"{prefix}/login")
    refused = client.post(f"{prefix}/notifications/{ident}/read", base_url=BASE)
    assert refused.status_code == 400
    refused_all = client.post(f"{prefix}/notifications/read-all", base_url=BASE, headers=HX)
    assert refused_all.status_code == 400
    assert badge(client, prefix) == 1


def test_a_client_admin_has_a_centre_in_the_admin_portal_for_their_tenant_only(client, db):
    c, other_tenant = factories.client(db), factories.client(db)
    admin, other_admin = factories.client_admin(db, c), factories.client_admin(db, other_tenant)
    platform = factories.platform_admin(db)
    mine = notice(db, admin, "Webhook endpoint disabled", f"/admin/clients/{c.id}/webhooks")
    foreign = notice(db, other_admin, "Other tenant's endpoint disabled")
    platforms = notice(db, platform, "A platform notice")
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    page = get(client, "/admin/notifications").get_data(as_text=True)
    assert texts(page) == ["Webhook endpoint disabled"]
    assert f'href="/admin/clients/{c.id}/webhooks"' in page
    assert "preferences" not in page.lower()  # staff have no preferences
    assert badge(client, "/admin") == 1
    for ident in (foreign, platforms):
        assert post(client, f"/admin/notifications/{ident}/read", "/admin/notifications").status_code == 404
    assert post(client, f"/admin/notifications/{mine}/read", "/admin/notifications").status_code == 302
    assert badge(client, "/admin") == 0


def test_a_platform_admin_sees_their_notices_that_belong_to_no_tenant(client, db):
    c = factories.client(db)
    platform, colleague = factories.platform_admin(db), factories.platform_admin(db)
    admin = factories.client_admin(db, c)
    notice(db, platform, "Application 1a2b3c4d was referred for review.")
    notice(db, colleague, "For the colleague")
    tenants = notice(db, admin, "For the client admin")
    db.commit()
    login(client, platform.email, factories.PASSWORD)
    page = get(client, "/admin/notifications").get_data(as_text=True)
    assert texts(page) == ["Application 1a2b3c4d was referred for review."]
    assert badge(client, "/admin") == 1
    assert post(client, f"/admin/notifications/{tenants}/read", "/admin/notifications").status_code == 404
    listed = post(client, "/admin/notifications/read-all", "/admin/notifications", headers=HX)
    assert listed.status_code == 200 and 'data-testid="centre-unread">0 unread' in listed.get_data(as_text=True)
    assert badge(client, "/admin") == 0
    assert db.scalar(select(Notification.read_at).where(Notification.user_id == colleague.id)) is None


def test_a_provider_user_sees_the_providers_notices_and_their_own_as_one_list(client, db):
    provider, other = factories.provider(db), factories.provider(db)
    me, rival = factories.provider_user(db, provider), factories.provider_user(db, other)
    shared = ProviderNotification(id=uuid.uuid4(), provider_id=provider.id, text="Your offer on listing ab12 won",
                                  link="/provider/bids?status=accepted")
    elsewhere = ProviderNotification(id=uuid.uuid4(), provider_id=other.id, text="Rival's offer lost")
    db.add_all([shared, elsewhere])
    notice(db, me, "Repayment of 17,250.00 NGN received on loan cd34ef56 (Client 1).")
    rivals = notice(db, rival, "For the rival")
    db.commit()
    login(client, me.email, factories.PASSWORD)
    page = get(client, "/provider/notifications").get_data(as_text=True)
    assert sorted(texts(page)) == ["Repayment of 17,250.00 NGN received on loan cd34ef56 (Client 1).",
                                   "Your offer on listing ab12 won"]
    assert badge(client, "/provider") == 2
    for ident in (elsewhere.id, rivals):
        assert post(client, f"/provider/notifications/{ident}/read", "/provider/notifications").status_code == 404
    assert post(client, f"/provider/notifications/{shared.id}/read", "/provider/notifications").status_code == 302
    assert badge(client, "/provider") == 1
    post(client, "/provider/notifications/read-all", "/provider/notifications")
    assert badge(client, "/provider") == 0
    assert db.get(ProviderNotification, elsewhere.id, populate_existing=True).read_at is None
    assert db.scalar(select(Notification.read_at).where(Notification.user_id == rival.id)) is None


@pytest.mark.parametrize("role", ["borrower", "client_admin", "provider_user"])
def test_the_centre_needs_a_login_of_the_portals_role(client, db, role):
    c = factories.client(db)
    prefix = {"borrower": f"/c/{c.slug}", "client_admin": "/admin", "provider_user": "/provider"}[role]
    assert get(client, f"{prefix}/notifications").status_code == 302  # to the log-in page
    other = factories.borrower(db, c) if role != "borrower" else factories.client_admin(db, c)
    db.commit()
    login(client, other.email, factories.PASSWORD,
          path=f"/c/{c.slug}/login" if other.role.value == "borrower" else "/login")
    assert get(client, f"{prefix}/notifications").status_code == 403
