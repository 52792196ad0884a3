"""A tenant's admin pages and the API key: issue, use, revoke, rotate; policy, network, suspension;
and isolation: another tenant's ids answer 404."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select, text

from caas.core import tenant
from caas.tenancy import apikeys, operations
from caas.tenancy.models import ApiKey, Client, CreditPolicy, Status
from tests import factories
from tests.helpers import BASE, field_errors, get, login, post_form


@pytest.fixture
def two_tenants(db):
    a, b = factories.client(db, slug="tenant-a"), factories.client(db, slug="tenant-b")
    admin_a, admin_b = factories.client_admin(db, a), factories.client_admin(db, b)
    with tenant.tenant_scope(b.id, db):
        key_b, _ = apikeys.issue(db, factories.SYSTEM, b.id, name="b key", mode="live", scopes=["applications:read"])
        from caas.events import webhooks
        hook_b, _ = webhooks.create(db, factories.SYSTEM, b.id, url="https://b.example.com/hook",
                                    events=["credit.application.submitted"])
    db.commit()
    return {"a": a, "b": b, "admin_a": admin_a, "admin_b": admin_b, "key_b": key_b, "hook_b": hook_b}


def api(client, path, key=None, **headers):
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return client.get(f"/api/v1{path}", base_url=BASE, headers=headers)


def test_client_admin_creates_a_key_that_authenticates_to_its_tenant(client, two_tenants, db):
    a = two_tenants["a"]
    login(client, two_tenants["admin_a"].email, factories.PASSWORD)
    page = post_form(client, f"/admin/clients/{a.id}/keys",
                     {"name": "backend", "mode": "live", "scopes": ["applications:read", "applications:write"]})
    assert page.status_code == 200
    secret = re.search(r'data-testid="new-api-key">([^<]+)<', page.get_data(as_text=True)).group(1)
    assert re.fullmatch(r"caas_live_[a-z0-9]{12}_[0-9a-f]{48}", secret)
    with tenant.tenant_scope(a.id, db):
        key = db.scalar(select(ApiKey).where(ApiKey.name == "backend"))
        assert key.secret_hash != secret and secret.startswith(f"caas_live_{key.prefix}_")
        assert secret not in str(db.execute(text("SELECT after FROM audit_log WHERE action = 'api_key.issue'")).all())
    # shown once: the list page does not show it again
    assert secret not in get(client, f"/admin/clients/{a.id}/keys").get_data(as_text=True)
    pong = api(client, "/ping", secret)
    assert pong.status_code == 200 and pong.get_json()["client"] == "tenant-a" and pong.get_json()["mode"] == "live"
    with tenant.tenant_scope(a.id, db):
        db.refresh(key)
        assert key.last_used_at is not None


@pytest.mark.parametrize("header, code", [
    (None, "missing_api_key"),
    ("Bearer nonsense", "malformed_api_key"),
    ("Basic caas_live_aaaaaaaaaaaa_" + "0" * 48, "malformed_api_key"),
    ("Bearer caas_live_aaaaaaaaaaaa_" + "0" * 48, "invalid_api_key"),
])
def test_missing_malformed_or_unknown_keys_get_401_with_a_code(client, db, header, code):
    response = client.get("/api/v1/ping", base_url=BASE, headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_right_prefix_wrong_secret_is_invalid(client, db):
    c = factories.client(db)
    with tenant.tenant_scope(c.id, db):
        key, raw = apikeys.issue(db, factories.SYSTEM, c.id, name="k", mode="sandbox", scopes=["loans:read"])
    db.commit()
    forged = raw[:-4] + ("0000" if not raw.endswith("0000") else "1111")
    assert api(client, "/ping", forged).get_json()["error"]["code"] == "invalid_api_key"


def test_revoked_key_gets_401_and_rotation_issues_a_working_one(client, db):
    c = factories.client(db)
    admin = factories.client_admin(db, c)
    with tenant.tenant_scope(c.id, db):
        key, raw = apikeys.issue(db, factories.SYSTEM, c.id, name="k", mode="live", scopes=["applications:read"])
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    rotated = post_form(client, f"/admin/clients/{c.id}/keys/{key.id}/rotate", {}, token_from=f"/admin/clients/{c.id}/keys")
    new_raw = re.search(r'data-testid="new-api-key">([^<]+)<', rotated.get_data(as_text=True)).group(1)
    assert api(client, "/ping", raw).get_json()["error"]["code"] == "revoked_api_key"
    assert api(client, "/ping", new_raw).status_code == 200
    with tenant.tenant_scope(c.id, db):
        new_key = db.scalar(select(ApiKey).where(ApiKey.revoked_at.is_(None)))
    post_form(client, f"/admin/clients/{c.id}/keys/{new_key.id}/revoke", {}, token_from=f"/admin/clients/{c.id}/keys")
    assert api(client, "/ping", new_raw).status_code == 401
    with tenant.tenant_scope(c.id, db):
        actions = db.scalars(text("SELECT action FROM audit_log WHERE action LIKE 'api_key.%' ORDER BY chain_seq")).all()
    assert actions == ["api_key.issue", "api_key.revoke", "api_key.issue", "api_key.revoke"]


def test_key_without_the_scope_gets_403(client, db):
    c = factories.client(db)
    with tenant.tenant_scope(c.id, db):
        _, raw = apikeys.issue(db, factories.SYSTEM, c.id, name="k", mode="live", scopes=["loans:read"])
    db.commit()
    response = api(client, "/providers", raw)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "insufficient_scope"


def test_suspending_a_client_blocks_its_keys_and_portal_and_is_audited(client, db):
    c = factories.client(db, slug="to-suspend")
    platform = factories.platform_admin(db)
    with tenant.tenant_scope(c.id, db):
        _, raw = apikeys.issue(db, factories.SYSTEM, c.id, name="k", mode="live", scopes=["applications:read"])
    db.commit()
    login(client, platform.email, factories.PASSWORD)
    response = post_form(client, f"/admin/clients/{c.id}/status", {"status": "suspended", "reason": "unpaid invoices"},
                         token_from=f"/admin/clients/{c.id}")
    assert response.status_code == 302
    blocked = api(client, "/ping", raw)
    assert blocked.status_code == 403 and blocked.get_json()["error"]["code"] == "client_suspended"
    assert "not taking applications" in get(client, "/c/to-suspend/login").get_data(as_text=True)
    with tenant.tenant_scope(c.id, db):
        row = db.execute(text("SELECT before, after FROM audit_log WHERE action = 'client.suspend'")).one()
    assert row.before == {"status": "active"} and row.after == {"status": "suspended", "reason": "unpaid invoices"}


def test_a_status_no_button_posts_is_refused_and_changes_nothing(client, db):
    """Found by the form fuzz: an unknown status (or an empty one) was read before the form was
    checked and raised (500). It is a 400 now, and the client stays as it was."""
    c = factories.client(db)
    platform = factories.platform_admin(db)
    db.commit()
    login(client, platform.email, factories.PASSWORD)
    for status in ("", "deleted", "ACTIVE"):
        response = post_form(client, f"/admin/clients/{c.id}/status", {"status": status, "reason": "fuzz"},
                             token_from=f"/admin/clients/{c.id}")
        assert response.status_code == 400
    with tenant.tenant_scope(c.id, db):
        assert db.get(Client, c.id, populate_existing=True).status.value == "active"
        assert db.execute(text("SELECT count(*) FROM audit_log WHERE action IN ('client.suspend', 'client.activate')")).scalar() == 0


def test_policy_is_validated_at_the_field_and_changes_are_audited(client, db):
    c = factories.client(db)
    admin = factories.client_admin(db, c)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    url = f"/admin/clients/{c.id}/policy"
    good = {"currencies": "NGN, USD", "min_amount": "50000", "max_amount": "2000000.50", "allowed_terms": "6, 12",
            "max_debt_to_income": "0.35", "min_age": "21", "auto_decline_below_grade": "D",
            "bidding_window_hours": "48", "write_off_days_past_due": "120", "reference_annual_rate": "28.5"}
    bad = post_form(client, url, {**good, "max_amount": "100", "currencies": "NGN, XXX"})
    assert bad.status_code == 422
    assert field_errors(bad.get_data(as_text=True)) == {
        "currencies": ["Use ISO 4217 codes we support, e.g. NGN, USD."],
        "max_amount": ["The maximum must be at least the minimum."]}
    assert post_form(client, url, good).status_code == 302
    with tenant.tenant_scope(c.id, db):
        policy = db.get(CreditPolicy, c.id)
        db.refresh(policy)
        assert policy.max_amount_minor == 200_000_050 and policy.allowed_terms == [6, 12]
        assert str(policy.reference_annual_rate) == "0.285000" and policy.currencies == ["NGN", "USD"]
        change = db.execute(text("SELECT before, after FROM audit_log WHERE action = 'policy.update'")).one()
    assert change.before["max_amount_minor"] == 500_000_000 and change.after["max_amount_minor"] == 200_000_050


def test_provider_network_is_set_by_platform_admins_and_audited(client, db):
    c = factories.client(db)
    p1, p2 = factories.provider(db), factories.provider(db)
    platform = factories.platform_admin(db)
    with tenant.tenant_scope(c.id, db):
        _, raw = apikeys.issue(db, factories.SYSTEM, c.id, name="k", mode="live", scopes=["applications:read"])
    db.commit()
    login(client, platform.email, factories.PASSWORD)
    url = f"/admin/clients/{c.id}/network"
    assert post_form(client, url, {"providers": [str(p1.id), str(p2.id)]}).status_code == 302
    assert post_form(client, url, {"providers": [str(p2.id)]}).status_code == 302
    listed = api(client, "/providers", raw).get_json()["data"]
    assert [p["id"] for p in listed] == [str(p2.id)]
    with tenant.tenant_scope(c.id, db):
        changes = db.execute(text("SELECT before, after FROM audit_log WHERE action = 'network.update' "
                                  "ORDER BY chain_seq")).all()
    assert [c.after["providers"] for c in changes] == [sorted([str(p1.id), str(p2.id)]), [str(p2.id)]]


def test_platform_admin_reaching_tenant_pages_is_audited(client, db):
    c = factories.client(db)
    platform = factories.platform_admin(db)
    db.commit()
    login(client, platform.email, factories.PASSWORD)
    assert get(client, f"/admin/clients/{c.id}/keys").status_code == 200
    with tenant.tenant_scope(c.id, db):
        rows = db.execute(text("SELECT actor_id, after FROM audit_log WHERE action = 'platform.act_for_tenant'")).all()
    assert [(r.actor_id, r.after["reason"]) for r in rows] == [(platform.id, "admin.keys")]


@pytest.mark.parametrize("path", [
    "/admin/clients/{b}/keys", "/admin/clients/{b}/users", "/admin/clients/{b}/webhooks", "/admin/clients/{b}/policy",
    "/admin/clients/{b}/network", "/admin/clients/{b}", "/admin/clients/{b}/welcome",
])
def test_client_admin_gets_404_for_another_tenants_pages(client, two_tenants, path):
    login(client, two_tenants["admin_a"].email, factories.PASSWORD)
    assert get(client, path.format(b=two_tenants["b"].id)).status_code == 404


@pytest.mark.parametrize("path", [
    "/admin/clients/{a}/keys/{key_b}/revoke", "/admin/clients/{a}/keys/{key_b}/rotate",
    "/admin/clients/{a}/webhooks/{hook_b}/disable", "/admin/clients/{a}/users/{admin_b}/remove",
])
def test_another_tenants_object_ids_answer_404_even_under_your_own_tenant(client, two_tenants, db, path):
    login(client, two_tenants["admin_a"].email, factories.PASSWORD)
    url = path.format(a=two_tenants["a"].id, key_b=two_tenants["key_b"].id, hook_b=two_tenants["hook_b"].id,
                      admin_b=two_tenants["admin_b"].id)
    response = post_form(client, url, {}, token_from=f"/admin/clients/{two_tenants['a'].id}/keys")
    assert response.status_code == 404
    with tenant.tenant_scope(two_tenants["b"].id, db):
        db.refresh(two_tenants["key_b"])
        assert two_tenants["key_b"].revoked_at is None


def test_client_admin_sees_only_their_tenants_audit_rows(client, two_tenants, db):
    login(client, two_tenants["admin_a"].email, factories.PASSWORD)
    page = get(client, "/admin/audit").get_data(as_text=True)
    assert str(two_tenants["a"].id) in page
    assert str(two_tenants["b"].id) not in page and str(two_tenants["key_b"].id) not in page
    assert "webhook.create" not in page  # tenant B's action


def test_webhook_endpoint_requires_https_and_shows_the_secret_once(client, db):
    c = factories.client(db)
    admin = factories.client_admin(db, c)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    url = f"/admin/clients/{c.id}/webhooks"
    refused = post_form(client, url, {"url": "http://insecure.example.com/h", "events": ["credit.loan.closed"]})
    assert field_errors(refused.get_data(as_text=True)) == {"url": ["Webhook URLs must use https."]}
    made = post_form(client, url, {"url": "https://ok.example.com/h", "events": ["credit.loan.closed"]})
    secret = re.search(r'data-testid="webhook-secret">([^<]+)<', made.get_data(as_text=True)).group(1)
    assert secret.startswith("whsec_")
    from caas.events import webhooks
    with tenant.tenant_scope(c.id, db):
        endpoint = webhooks.list_endpoints(db)[0]
        assert secret not in endpoint.secret_ciphertext and webhooks.decrypt(endpoint.secret_ciphertext) == secret


def test_client_admin_invites_and_removes_admins_but_not_the_last(client, db):
    c = factories.client(db)
    admin = factories.client_admin(db, c)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    url = f"/admin/clients/{c.id}/users"
    assert post_form(client, url, {"full_name": "Second Admin", "email": "second@example.com"}).status_code == 302
    with tenant.tenant_scope(c.id, db):
        second = next(u for u in operations.client_admins(db) if u.email == "second@example.com")
    post_form(client, f"{url}/{second.id}/remove", {}, token_from=url)
    with tenant.tenant_scope(c.id, db):
        db.refresh(second)
        assert second.status == Status.suspended
    with tenant.tenant_scope(c.id, db):
        with pytest.raises(Exception, match="yourself"):
            operations.remove_client_admin(db, factories.SYSTEM.__class__(admin.id, "client_admin"), admin.id)
