"""Password reset and e-mail verification links: one-time, expiring, and silent about who exists."""
from __future__ import annotations

import re

from sqlalchemy import select

from caas.core import tenant, worker
from caas.events import mail
from caas.tenancy.models import User
from tests import factories
from tests.helpers import field_errors, get, login, post_form


def _link(app, email: str) -> str:
    worker.run(app, ["default"], burst=True, with_cron=False)
    body = mail.messages_to(email, app.config["MAIL_DIR"])[-1].get_body(("plain",)).get_content()
    return re.search(r"http://localhost:5000(\S+)", body).group(1)


def test_borrower_resets_password_once_and_unknown_email_gets_the_same_answer(app, client, db):
    c = factories.client(db, slug="reset-co")
    b = factories.borrower(db, c, email="forgetful@example.com")
    db.commit()
    unknown = post_form(client, "/c/reset-co/reset", {"email": "nobody@example.com"})
    known = post_form(client, "/c/reset-co/reset", {"email": "forgetful@example.com"})
    assert unknown.status_code == known.status_code == 302
    assert mail.messages_to("nobody@example.com", app.config["MAIL_DIR"]) == []
    path = _link(app, "forgetful@example.com")
    assert path.startswith("/c/reset-co/reset/")
    assert post_form(client, path, {"password": "my-new-long-password", "confirm": "my-new-long-password"}
                     ).status_code == 302
    assert get(client, path).status_code == 410  # spent
    fresh = app.test_client()
    assert login(fresh, "forgetful@example.com", factories.PASSWORD, path="/c/reset-co/login").status_code == 422
    assert login(fresh, "forgetful@example.com", "my-new-long-password", path="/c/reset-co/login").status_code == 302


def test_signup_sends_a_verification_link_that_confirms_the_address(app, client, db):
    factories.client(db, slug="verify-co")
    db.commit()
    post_form(client, "/c/verify-co/signup", {"full_name": "Vera Verify", "email": "vera@example.com",
                                              "password": "vera-long-password", "confirm": "vera-long-password"})
    path = _link(app, "vera@example.com")
    assert path.startswith("/c/verify-co/verify/")
    assert get(client, path).status_code == 302
    c_id = db.execute(__import__("sqlalchemy").text("SELECT id FROM clients WHERE slug = 'verify-co'")).scalar_one()
    with tenant.tenant_scope(c_id, db):
        user = db.scalar(select(User).where(User.email == "vera@example.com"))
        assert user.email_verified_at is not None
    assert get(client, path).status_code == 302  # a spent link says so and sends you to log in


def test_staff_reset_uses_the_common_page(app, client, db):
    admin = factories.platform_admin(db, email="staff.reset@example.com")
    db.commit()
    post_form(client, "/reset", {"email": "staff.reset@example.com"})
    path = _link(app, "staff.reset@example.com")
    assert path.startswith("/reset/")
    short = post_form(client, path, {"password": "short", "confirm": "short"})
    assert field_errors(short.get_data(as_text=True)) == {"password": ["Use between 12 and 128 characters."]}
