"""Re-authentication before sensitive changes: API keys, webhook secrets and bank details need the
password typed within REAUTH_SECONDS (10 minutes). Later, the change is not made; the person
confirms the password and comes back to the page to make it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from caas.core import clock, tenant
from caas.tenancy.models import ApiKey
from tests import factories
from tests.helpers import field_errors, get, login, post_form

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
KEY = {"name": "backend", "mode": "live", "scopes": ["applications:read"]}


def keys_made(db, client_id) -> int:
    with tenant.tenant_scope(client_id, db):
        return db.scalar(select(func.count()).select_from(ApiKey))


def test_a_key_made_eleven_minutes_after_log_in_needs_the_password_again(client, db):
    c = factories.client(db)
    admin = factories.client_admin(db, c)
    db.commit()
    keys_page = f"/admin/clients/{c.id}/keys"
    with clock.frozen(T0):
        login(client, admin.email, factories.PASSWORD)
        assert post_form(client, keys_page, KEY).status_code == 200  # just logged in: recent enough
    assert keys_made(db, c.id) == 1
    with clock.frozen(T0 + timedelta(minutes=11)):
        asked = post_form(client, keys_page, {**KEY, "name": "second"})
        assert asked.status_code == 302
        location = urlsplit(asked.headers["Location"])
        assert location.path == "/reauth" and parse_qs(location.query) == {"next": [keys_page]}
        assert keys_made(db, c.id) == 1  # nothing was changed
        wrong = post_form(client, asked.headers["Location"], {"password": "not-my-password-at-all"})
        assert wrong.status_code == 422
        assert field_errors(wrong.get_data(as_text=True)) == {"password": ["That is not your password."]}
        confirmed = post_form(client, asked.headers["Location"], {"password": factories.PASSWORD})
        assert confirmed.status_code == 302 and confirmed.headers["Location"] == keys_page
        made = post_form(client, keys_page, {**KEY, "name": "second"})
        assert made.status_code == 200 and 'data-testid="new-api-key"' in made.get_data(as_text=True)
    assert keys_made(db, c.id) == 2


def test_rotating_a_webhook_secret_asks_too(client, db):
    from caas.events import webhooks

    c = factories.client(db)
    admin = factories.client_admin(db, c)
    with tenant.tenant_scope(c.id, db):
        endpoint, _ = webhooks.create(db, factories.SYSTEM, c.id, url="https://hooks.example.com/caas",
                                      events=["credit.application.submitted"])
    db.commit()
    with clock.frozen(T0):
        login(client, admin.email, factories.PASSWORD)
    with clock.frozen(T0 + timedelta(minutes=15)):
        page = f"/admin/clients/{c.id}/webhooks"
        response = post_form(client, f"{page}/{endpoint.id}/rotate", {}, token_from=page)
        assert response.status_code == 302 and response.headers["Location"].startswith("/reauth?next=")


def test_a_borrower_confirms_before_changing_bank_details_on_the_clients_portal(client, db):
    c = factories.client(db)
    borrower = factories.borrower(db, c)
    db.commit()
    base = f"/c/{c.slug}"
    details = {"bank_code": "058", "account_number": "0123456781", "account_name": "Adaeze Okoro"}
    with clock.frozen(T0):
        login(client, borrower.email, factories.PASSWORD, path=f"{base}/login")
    with clock.frozen(T0 + timedelta(minutes=12)):
        asked = post_form(client, f"{base}/bank-account", details)
        assert asked.status_code == 302 and asked.headers["Location"].startswith(f"{base}/reauth?next=")
        page = get(client, asked.headers["Location"]).get_data(as_text=True)
        assert 'data-testid="reauth-title"' in page and c.display_name in page  # the client's own portal
        back = post_form(client, asked.headers["Location"], {"password": factories.PASSWORD})
        assert back.headers["Location"] == f"{base}/bank-account"
        assert post_form(client, f"{base}/bank-account", details).status_code == 302


def test_the_way_back_stays_on_this_site(client, db):
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    for evil in ("https://evil.example/steal", "//evil.example/steal", "/\\evil.example/steal", "javascript:alert(1)"):
        back = post_form(client, f"/reauth?next={evil}", {"password": factories.PASSWORD})
        assert back.headers["Location"] == "/admin/", evil


def test_the_borrower_portals_next_links_stay_on_this_site_too(client, db):
    c = factories.client(db)
    borrower = factories.borrower(db, c)
    db.commit()
    base = f"/c/{c.slug}"
    login(client, borrower.email, factories.PASSWORD, path=f"{base}/login")
    consents = {"data_processing": "y", "credit_check": "y"}
    away = post_form(client, f"{base}/consents?next=https://evil.example/x", consents, token_from=f"{base}/consents")
    assert away.headers["Location"] == f"{base}/consents"
    onward = post_form(client, f"{base}/consents?next={base}/apply", consents, token_from=f"{base}/consents")
    assert onward.headers["Location"] == f"{base}/apply"
