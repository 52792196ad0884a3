"""The password policy where people meet it: a common password is refused at the field on sign-up
and when setting a password from a reset link."""
from __future__ import annotations

from caas.tenancy import invitations
from tests.unit.test_passwords import COMMON


def test_signup_says_so_at_the_field(client, db):
    from tests import factories
    from tests.helpers import field_errors, post_form

    c = factories.client(db)
    db.commit()
    response = post_form(client, f"/c/{c.slug}/signup", {
        "full_name": "Ada Okoro", "email": "ada@example.com", "password": "password2026!",
        "confirm": "password2026!"})
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True))["password"] == [COMMON]


def test_a_reset_link_refuses_a_common_password_and_keeps_the_old_one(client, db):
    from tests import factories
    from tests.helpers import field_errors, login, post_form

    admin = factories.platform_admin(db)
    token = invitations.issue_token(invitations.invite(db, admin, "reset"))
    db.commit()
    response = post_form(client, f"/reset/{token}", {"password": "qwertyuiop123", "confirm": "qwertyuiop123"})
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True))["password"] == [COMMON]
    assert login(client, admin.email, factories.PASSWORD).status_code == 302  # nothing was changed
