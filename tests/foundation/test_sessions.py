"""Log-in sessions kept on the server: rotated at log-in, a __Host- cookie, ended at log-out (a
copy of the old cookie no longer works), idle and absolute timeouts, and a password change ends
the account's other sessions."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from caas.core import clock, tenant
from caas.tenancy import invitations
from caas.tenancy.sessions import UserSession
from tests import factories
from tests.helpers import get, login, post_form, second_factor

COOKIE = "__Host-caas_session"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def admin(db):
    user = factories.platform_admin(db)
    db.commit()
    return user


def cookie_contents(app, client) -> dict:
    cookie = client.get_cookie(COOKIE, domain="localhost")
    return dict(app.session_interface.get_signing_serializer(app).loads(cookie.value)) if cookie else {}


def open_sessions(db, user_id) -> list[UserSession]:
    return db.scalars(select(UserSession).where(UserSession.user_id == user_id)
                      .execution_options(populate_existing=True)).all()


def test_login_rotates_the_session_and_opens_one_on_the_server(app, client, db, admin):
    get(client, "/login")
    before = cookie_contents(app, client)
    assert "csrf_token" in before and "_sid" not in before
    response = login(client, admin.email, factories.PASSWORD)
    set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{COOKIE}=") and "Path=/" in set_cookie and "Domain" not in set_cookie
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    after = cookie_contents(app, client)
    assert after.get("csrf_token") != before["csrf_token"]  # nothing from before the log-in carries over
    [row] = open_sessions(db, admin.id)
    assert row.ended_at is None and row.client_id is None and len(row.token_sha256) == 32
    assert after["_sid"] and row.token_sha256 != after["_sid"].encode()  # only the digest is stored


def test_logout_ends_the_server_session_so_a_copied_cookie_is_dead(app, client, db, admin):
    login(client, admin.email, factories.PASSWORD)
    stolen = client.get_cookie(COOKIE, domain="localhost").value
    assert get(client, "/admin/").status_code == 200
    assert post_form(client, "/logout", {}, token_from="/admin/").status_code == 302
    [row] = open_sessions(db, admin.id)
    assert row.ended_at is not None and row.end_reason == "logout"
    client.set_cookie(COOKIE, stolen, domain="localhost", secure=True, httponly=True)
    replay = get(client, "/admin/")
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]


def test_the_idle_timeout_counts_from_the_last_request(client, db, admin):
    with clock.frozen(T0):
        login(client, admin.email, factories.PASSWORD)
    with clock.frozen(T0 + timedelta(minutes=25)):
        assert get(client, "/admin/").status_code == 200  # moving: the idle clock restarts
    with clock.frozen(T0 + timedelta(minutes=50)):
        assert get(client, "/admin/").status_code == 200
    with clock.frozen(T0 + timedelta(minutes=50 + 31)):
        assert get(client, "/admin/").status_code == 302  # 31 idle minutes: logged out
    with clock.frozen(T0 + timedelta(minutes=50 + 32)):
        assert get(client, "/admin/").status_code == 302  # and it stays out


def test_the_absolute_timeout_ends_even_a_busy_session(client, db, admin):
    with clock.frozen(T0):
        login(client, admin.email, factories.PASSWORD)
    for minutes in range(20, 8 * 60, 20):  # a request every 20 minutes, the last at 7 h 40
        at = T0 + timedelta(minutes=minutes)
        with clock.frozen(at):
            assert get(client, "/admin/").status_code == 200, at
    with clock.frozen(T0 + timedelta(hours=8, minutes=1)):
        assert get(client, "/admin/").status_code == 302


def test_a_password_change_ends_the_other_sessions(app, db, admin):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, admin.email, factories.PASSWORD)
    login(phone, admin.email, factories.PASSWORD)
    assert get(laptop, "/admin/").status_code == 200 and get(phone, "/admin/").status_code == 200
    invitation = invitations.invite(db, admin, "reset")
    token = invitations.issue_token(invitation)
    db.commit()
    changed = post_form(laptop, f"/reset/{token}", {"password": "a-brand-new-passphrase", "confirm": "a-brand-new-passphrase"})
    assert changed.status_code == 302 and changed.headers["Location"] == "/login/code"  # a reset skips no factor
    assert get(phone, "/admin/").status_code == 302  # the new password has ended it already
    assert second_factor(laptop, changed).status_code == 302
    assert get(laptop, "/admin/").status_code == 200  # the session that changed it is a new one
    assert get(phone, "/admin/").status_code == 302
    reasons = sorted(r.end_reason or "open" for r in open_sessions(db, admin.id))
    assert reasons == ["open", "password_changed", "password_changed"]


def test_a_borrowers_session_row_belongs_to_its_client(client, db):
    c = factories.client(db)
    borrower = factories.borrower(db, c)
    db.commit()
    login(client, borrower.email, factories.PASSWORD, path=f"/c/{c.slug}/login")
    assert get(client, f"/c/{c.slug}/").status_code == 200
    with tenant.tenant_scope(c.id, db):
        [row] = open_sessions(db, borrower.id)
    assert row.client_id == c.id
    assert open_sessions(db, borrower.id) == []  # without the tenant the row is invisible
