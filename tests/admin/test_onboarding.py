"""Onboarding a client through the wizard, the invitation, and what must not exist after a refusal."""
from __future__ import annotations

from sqlalchemy import func, select, text

from caas.core import tenant, worker
from caas.events import mail
from caas.events.models import OutboxMessage
from caas.tenancy.models import Client, CreditPolicy, Invitation, Role, Tier, User
from tests import factories
from tests.helpers import BASE, enrol, field_errors, get, login, post_form

HX = {"HX-Request": "true"}
IDENTITY = {"legal_name": "Kobo Credit Ltd", "display_name": "Kobo Credit", "slug": "kobo", "country": "NG",
            "currency": "NGN", "brand_colour": "#aa3300"}


def wizard_post(client, step: str, data: dict, headers=HX):
    return post_form(client, f"/admin/clients/new/{step}", data, token_from="/admin/clients/new", headers=headers)


def as_platform_admin(db, client):
    admin = factories.platform_admin(db)
    db.commit()
    assert login(client, admin.email, factories.PASSWORD).status_code == 302
    return admin


def test_wizard_onboards_a_client_step_by_step(app, db, client, redis_conn):
    as_platform_admin(db, client)
    first = wizard_post(client, "identity", IDENTITY)
    assert first.status_code == 200 and 'data-testid="wizard-step">Tier and quotas<' in first.get_data(as_text=True)
    assert "<html" not in first.get_data(as_text=True)  # an HTMX partial
    assert wizard_post(client, "tier", {"tier": "professional", "quota_api_calls_per_hour": "2500"}).status_code == 200
    assert wizard_post(client, "services", {"services": ["borrower_portal", "client_api"]}).status_code == 200
    done = wizard_post(client, "admin", {"full_name": "Kemi Admin", "email": "kemi@kobo.example.com"})
    assert done.status_code == 204
    made = db.scalar(select(Client).where(Client.slug == "kobo"))
    assert done.headers["HX-Redirect"] == f"/admin/clients/{made.id}/welcome"
    assert (made.tier, made.quota_api_calls_per_hour, made.quota_applications_per_month) == (Tier.professional, 2500, None)
    assert made.enabled_services == ["borrower_portal", "client_api"]
    assert made.brand_colour == "#aa3300"
    with tenant.tenant_scope(made.id, db):
        policy = db.get(CreditPolicy, made.id)
        assert policy.currencies == ["NGN"] and policy.min_amount_minor == 1_000_000
        admin = db.scalar(select(User).where(User.role == Role.client_admin))
        assert admin.email == "kemi@kobo.example.com" and admin.password_hash == "!invited"
        invitation = db.scalar(select(Invitation).where(Invitation.user_id == admin.id))
        assert invitation.sent_at is None and invitation.token_hash is None
        actions = db.scalars(text("SELECT action FROM audit_log ORDER BY chain_seq")).all()
        assert actions[:4] == ["client.create", "policy.create", "user.invite", "platform.act_for_tenant"][:len(actions[:4])]
        assert {"client.create", "policy.create", "user.invite"} <= set(actions)
    welcome = get(client, f"/admin/clients/{made.id}/welcome").get_data(as_text=True)
    assert "https://localhost/c/kobo/login" in welcome and "Create the first API key" in welcome


def test_invitation_is_mailed_and_sets_the_password_once(app, db, client):
    c = factories.client(db)
    with tenant.tenant_scope(c.id, db):
        from caas.tenancy import operations
        user = operations.invite_user(db, factories.SYSTEM, role=Role.client_admin, email="new.admin@example.com",
                                      full_name="New Admin", client_id=c.id)
        db.commit()
    worker.run(app, ["default"], burst=True, with_cron=False)
    worker.run(app, ["default"], burst=True, with_cron=False)  # at-least-once: a second run sends nothing
    messages = mail.messages_to("new.admin@example.com", app.config["MAIL_DIR"])
    assert len(messages) == 1
    body = messages[0].get_body(preferencelist=("plain",)).get_content()
    link = next(line for line in body.splitlines() if "/invite/" in line).strip()
    path = link.split("localhost:5000", 1)[1]
    page = get(client, path)
    assert page.status_code == 200 and "New Admin" in page.get_data(as_text=True)
    short = post_form(client, path, {"password": "short", "confirm": "short"})
    assert field_errors(short.get_data(as_text=True)) == {"password": ["Use between 12 and 128 characters."]}
    accepted = post_form(client, path, {"password": "a-brand-new-password", "confirm": "a-brand-new-password"})
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/login/two-factor"  # an admin enrols first
    assert get(client, "/admin/").status_code == 302
    _, enrolled, codes = enrol(client)
    assert enrolled.status_code == 200 and len(codes) == 10
    assert get(client, "/admin/").status_code == 200
    again = get(client, path)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    with tenant.tenant_scope(c.id, db):
        db.refresh(user)
        assert user.password_hash.startswith("$argon2id$")


def test_unknown_invitation_token_is_refused(client, db):
    response = get(client, "/invite/not-a-real-token")
    assert response.status_code == 410 and "not valid" in response.get_data(as_text=True)


def test_identity_step_refuses_bad_fields_at_the_field(db, client):
    factories.client(db, slug="taken-slug")
    as_platform_admin(db, client)
    bad = wizard_post(client, "identity", {**IDENTITY, "slug": "taken-slug"})
    assert bad.status_code == 422
    assert field_errors(bad.get_data(as_text=True)) == {"slug": ["This slug is already used by another client."]}
    assert field_errors(wizard_post(client, "identity", {**IDENTITY, "currency": "XXY"}).get_data(as_text=True)) == \
        {"currency": ["Not an ISO 4217 currency we support."]}
    assert field_errors(wizard_post(client, "identity", {**IDENTITY, "brand_colour": "red"}).get_data(as_text=True)) == \
        {"brand_colour": ["Use a hex colour such as #1a2b3c."]}
    assert field_errors(wizard_post(client, "identity", {**IDENTITY, "slug": "Bad Slug!"}).get_data(as_text=True)) == \
        {"slug": ["Use 3–63 lower-case letters, digits and hyphens."]}


def test_refused_last_step_leaves_nothing_behind(db, client):
    existing = factories.client(db)
    taken = factories.client_admin(db, existing)
    db.commit()
    as_platform_admin(db, client)
    wizard_post(client, "identity", IDENTITY)
    wizard_post(client, "tier", {"tier": "starter"})
    wizard_post(client, "services", {"services": ["client_api"]})
    refused = wizard_post(client, "admin", {"full_name": "Dup", "email": taken.email})
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True)) == {"email": ["An account with this e-mail already exists."]}
    assert db.scalar(select(Client).where(Client.slug == "kobo")) is None
    with tenant.all_tenants_scope(db):
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_logo_is_checked_by_content_and_served_from_outside_static(db, client):
    import io

    as_platform_admin(db, client)
    fake = (io.BytesIO(b"GIF89a not a png"), "logo.png")
    refused = wizard_post(client, "identity", {**IDENTITY, "logo": fake})
    assert field_errors(refused.get_data(as_text=True)) == {"logo": ["The logo must be a PNG or JPEG image."]}
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    wizard_post(client, "identity", {**IDENTITY, "logo": (io.BytesIO(png), "brand.png")})
    wizard_post(client, "tier", {"tier": "starter"})
    wizard_post(client, "services", {"services": ["borrower_portal"]})
    wizard_post(client, "admin", {"full_name": "Logo Admin", "email": "logo@kobo.example.com"})
    made = db.scalar(select(Client).where(Client.slug == "kobo"))
    assert made.logo_path.startswith("logos/") and made.logo_path.endswith(".png") and "brand" not in made.logo_path
    served = get(client, "/c/kobo/logo")
    assert served.status_code == 200 and served.data == png and served.mimetype == "image/png"


def test_wizard_without_htmx_redirects_between_pages(db, client):
    as_platform_admin(db, client)
    page = wizard_post(client, "identity", IDENTITY, headers={})
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)


def test_only_platform_admins_onboard(db, client):
    c = factories.client(db)
    admin = factories.client_admin(db, c)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    assert get(client, "/admin/clients/new").status_code == 403
    assert get(client, "/admin/clients").status_code == 403
    assert get(client, "/admin/providers").status_code == 403
