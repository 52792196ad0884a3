"""Provider onboarding and lists."""
from __future__ import annotations

from sqlalchemy import select

from caas.tenancy.models import Invitation, Provider, Role, User
from tests import factories
from tests.helpers import field_errors, get, login, post_form

FORM = {"legal_name": "Sahel Finance", "licence_number": "CBN-0099", "country": "NG", "currencies": "NGN, usd",
        "contact_name": "Musa", "contact_email": "musa@sahel.example.com", "contact_phone": "+2348000000000",
        "user_name": "Lara Lender", "user_email": "lara@sahel.example.com"}


def test_platform_admin_onboards_a_provider_and_invites_its_first_user(db, client):
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    response = post_form(client, "/admin/providers/new", FORM)
    assert response.status_code == 302
    provider = db.scalar(select(Provider).where(Provider.legal_name == "Sahel Finance"))
    assert provider.currencies == ["NGN", "USD"] and provider.licence_number == "CBN-0099"
    user = db.scalar(select(User).where(User.email == "lara@sahel.example.com"))
    assert user.role == Role.provider_user and user.provider_id == provider.id and user.client_id is None
    assert db.scalar(select(Invitation).where(Invitation.user_id == user.id)) is not None
    listing = get(client, "/admin/providers?q=sahel").get_data(as_text=True)
    assert "Sahel Finance" in listing


def test_duplicate_provider_and_bad_currency_are_refused_at_the_field(db, client):
    factories.provider(db, legal_name="Sahel Finance")
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    dup = post_form(client, "/admin/providers/new", FORM)
    assert field_errors(dup.get_data(as_text=True)) == {"legal_name": ["A provider with this legal name exists."]}
    bad = post_form(client, "/admin/providers/new", {**FORM, "legal_name": "Other", "currencies": "NGN, ZZZ"})
    assert field_errors(bad.get_data(as_text=True)) == {"currencies": ["Use ISO 4217 codes we support, e.g. NGN, USD."]}
    assert db.scalar(select(Provider).where(Provider.legal_name == "Other")) is None


def test_client_list_searches_filters_and_pages_by_keyset(db, client):
    from caas.tenancy import operations

    for n in range(30):
        factories.client(db, slug=f"zz-page-{n:02d}", display_name=f"Paged {n:02d}")
    first, after = operations.list_clients(db, q="paged", limit=25)
    second, after2 = operations.list_clients(db, q="paged", after=after, limit=25)
    assert [c.slug for c in first] == [f"zz-page-{n:02d}" for n in range(25)]
    assert [c.slug for c in second] == [f"zz-page-{n:02d}" for n in range(25, 30)] and after2 is None
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    page = get(client, "/admin/clients?q=zz-page-29", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "zz-page-29" in page and "zz-page-28" not in page and "<html" not in page
