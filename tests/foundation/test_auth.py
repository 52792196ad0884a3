"""Identity: log in per role, portal guards, borrower sign-up, throttling, cookies, hashing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from caas.core import tenant
from caas.tenancy.models import Role, User
from tests import factories
from tests.helpers import BASE, field_errors, get, login, post_form


@pytest.fixture
def world(db):
    demo = factories.client(db, slug="acme-demo", display_name="Acme Demo")
    other = factories.client(db)
    provider = factories.provider(db)
    people = {
        "platform_admin": factories.platform_admin(db),
        "client_admin": factories.client_admin(db, demo),
        "provider_user": factories.provider_user(db, provider),
        "borrower": factories.borrower(db, demo),
        "other_borrower": factories.borrower(db, other),
    }
    db.commit()
    return {"demo": demo, "other": other, "provider": provider, **people}


@pytest.mark.parametrize("role, home", [
    ("platform_admin", "/admin/"), ("client_admin", "/admin/"), ("provider_user", "/provider/"),
])
def test_staff_log_in_and_land_on_their_home(client, world, role, home):
    response = login(client, world[role].email, factories.PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == home
    page = get(client, home)
    assert page.status_code == 200
    assert 'data-testid="home-title"' in page.get_data(as_text=True)


def test_borrower_logs_in_on_the_client_portal(client, world):
    response = login(client, world["borrower"].email, factories.PASSWORD, path="/c/acme-demo/login")
    assert response.status_code == 302 and response.headers["Location"] == "/c/acme-demo/"
    page = get(client, "/c/acme-demo/").get_data(as_text=True)
    assert world["borrower"].full_name in page and "Acme Demo" in page


def test_borrower_cannot_log_in_on_another_clients_portal(client, world):
    response = login(client, world["other_borrower"].email, factories.PASSWORD, path="/c/acme-demo/login")
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True))["password"] == ["Invalid e-mail or password."]


def test_borrower_cannot_use_the_staff_login(client, world):
    response = login(client, world["borrower"].email, factories.PASSWORD)
    assert response.status_code == 422


def test_wrong_password_and_unknown_email_give_the_same_message(client, world):
    wrong_password = login(client, world["client_admin"].email, "not-the-password-at-all")
    unknown_email = login(client, "nobody@example.com", factories.PASSWORD)
    assert wrong_password.status_code == unknown_email.status_code == 422
    assert field_errors(wrong_password.get_data(as_text=True)) == field_errors(unknown_email.get_data(as_text=True)) \
        == {"password": ["Invalid e-mail or password."]}


@pytest.mark.parametrize("path", ["/admin/", "/provider/", "/c/acme-demo/"])
def test_anonymous_is_sent_to_a_login_page(client, world, path):
    response = get(client, path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role, forbidden", [
    ("provider_user", "/admin/"), ("borrower", "/admin/"), ("borrower", "/provider/"),
    ("platform_admin", "/provider/"), ("client_admin", "/provider/"), ("client_admin", "/c/acme-demo/"),
])
def test_wrong_role_gets_403(client, world, role, forbidden):
    path = "/c/acme-demo/login" if role == "borrower" else "/login"
    assert login(client, world[role].email, factories.PASSWORD, path=path).status_code == 302
    response = get(client, forbidden)
    assert response.status_code == 403
    assert 'data-testid="error-page"' in response.get_data(as_text=True)


def test_unknown_client_slug_is_404(client, world):
    for path in ("/c/no-such-client/login", "/c/no-such-client/", "/c/no-such-client/signup"):
        assert get(client, path).status_code == 404


def test_borrower_signs_up_on_the_client_portal(client, world, db):
    response = post_form(client, "/c/acme-demo/signup", {
        "full_name": "Ngozi Okafor", "email": "Ngozi@Example.com", "password": "a-long-passphrase", "confirm":
        "a-long-passphrase"})
    assert response.status_code == 302 and response.headers["Location"] == "/c/acme-demo/"
    assert "Ngozi Okafor" in get(client, "/c/acme-demo/").get_data(as_text=True)
    with tenant.tenant_scope(world["demo"].id, db):
        user = db.scalar(select(User).where(User.email == "ngozi@example.com"))
    assert user.role == Role.borrower and user.client_id == world["demo"].id
    assert user.password_hash.startswith("$argon2id$")


def test_signup_refuses_duplicate_email_and_short_password_at_the_field(client, world, db):
    taken = post_form(client, "/c/acme-demo/signup", {
        "full_name": "Again", "email": world["borrower"].email, "password": "a-long-passphrase",
        "confirm": "a-long-passphrase"})
    assert taken.status_code == 422
    assert field_errors(taken.get_data(as_text=True)) == {"email": ["An account with this e-mail already exists."]}
    short = post_form(client, "/c/acme-demo/signup", {
        "full_name": "Shorty", "email": "shorty@example.com", "password": "short", "confirm": "short"})
    assert field_errors(short.get_data(as_text=True)) == {"password": ["Use between 12 and 128 characters."]}
    with tenant.tenant_scope(world["demo"].id, db):
        assert db.scalar(select(User).where(User.email == "shorty@example.com")) is None


def test_the_same_email_may_borrow_from_two_clients(client, world, db):
    response = post_form(client, "/c/acme-demo/signup", {
        "full_name": "Twice", "email": world["other_borrower"].email, "password": "a-long-passphrase",
        "confirm": "a-long-passphrase"})
    assert response.status_code == 302


def test_login_attempts_are_rate_limited(app, client, world):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = [login(client, "someone@example.com", "wrong-password-xx").status_code for _ in range(4)]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    assert statuses == [422, 422, 422, 429]


def test_session_cookie_is_secure_httponly_samesite(client, world):
    response = login(client, world["platform_admin"].email, factories.PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_ends_the_session(client, world):
    login(client, world["platform_admin"].email, factories.PASSWORD)
    assert get(client, "/admin/").status_code == 200
    assert post_form(client, "/logout", {}, token_from="/admin/").status_code == 302
    assert get(client, "/admin/").status_code == 302


def test_post_without_csrf_token_is_refused(client, world):
    response = client.post("/login", data={"email": world["platform_admin"].email, "password": factories.PASSWORD},
                           base_url=BASE, headers={"Referer": f"{BASE}/login"})
    assert response.status_code == 400


def test_suspended_client_portal_says_so(client, world, db):
    from caas.tenancy.models import Status

    admin_email = world["client_admin"].email
    world["demo"].status = Status.suspended
    db.commit()
    response = get(client, "/c/acme-demo/login")
    assert response.status_code == 403
    assert "not taking applications" in response.get_data(as_text=True)
    refused = login(client, admin_email, factories.PASSWORD)
    assert refused.status_code == 403
    assert "account is suspended" in field_errors(refused.get_data(as_text=True))["email"][0]
    wrong = login(client, admin_email, "not-the-password-at-all")
    assert wrong.status_code == 422  # without the password, suspension is not revealed


def test_platform_admin_dashboard_access_is_audited(client, world, db):
    login(client, world["platform_admin"].email, factories.PASSWORD)
    page = get(client, "/admin/").get_data(as_text=True)
    assert re.search(r'data-testid="count-clients"><a [^>]*>2</a>', page)
    from sqlalchemy import text
    rows = db.execute(text("SELECT actor_id, action FROM audit_log WHERE action = 'platform.read_all_tenants'")).all()
    assert [(r.actor_id, r.action) for r in rows] == [(world["platform_admin"].id, "platform.read_all_tenants")]


def test_failed_logins_are_throttled_per_account_whatever_the_address(app, client, world):
    from tests.helpers import post_form

    target, bystander = world["client_admin"].email, world["platform_admin"].email
    app.config["ACCOUNT_LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        def attempt(email, password, ip):  # a new browser each time
            return post_form(app.test_client(), "/login", {"email": email, "password": password},
                             environ_base={"REMOTE_ADDR": ip}).status_code

        for _ in range(4):  # successful log-ins do not count against the account
            assert attempt(bystander, factories.PASSWORD, "10.0.0.9") == 302
        assert [attempt(target, "wrong-password-xx", f"10.0.0.{n}") for n in range(1, 4)] == [422, 422, 422]
        assert attempt(target, factories.PASSWORD, "10.0.0.7") == 429  # even the right password now waits
        assert attempt(bystander, factories.PASSWORD, "10.0.0.7") == 302  # other accounts are not affected
    finally:
        app.config["ACCOUNT_LOGIN_RATE_LIMIT"] = "1000 per minute"
