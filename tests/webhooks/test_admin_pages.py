"""The delivery log pages: filters, attempts, resend, replay, test event, secret rotation; another
tenant's ids answer 404; platform admins enter audited."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import text

from caas.core import tenant
from caas.events import deliveries, verify
from tests import factories
from tests.helpers import get, login, post_form
from tests.webhooks.conftest import make_endpoint, record


def setup_tenant(db, receiver, run_events):
    c = factories.client(db)
    admin = factories.client_admin(db, c)
    endpoint, secret = make_endpoint(db, c, receiver.plan("/hook", [200, 500, 200], body=b"thanks"),
                                     events=["credit.application.submitted", "credit.application.withdrawn"])
    db.commit()
    record(db, c, "credit.application.submitted", {"id": "app_1"})
    record(db, c, "credit.application.withdrawn", {"id": "app_2"})
    run_events()
    return c, admin, endpoint, secret


def rows(html: str) -> list[str]:
    return re.findall(r'data-testid="delivery-row" data-status="(\w+)"', html)


def test_client_admin_reads_the_log_with_filters_and_the_attempts(client, db, receiver, run_events):
    c, admin, endpoint, _ = setup_tenant(db, receiver, run_events)
    login(client, admin.email, factories.PASSWORD)
    hooks = get(client, f"/admin/clients/{c.id}/webhooks").get_data(as_text=True)
    url = f"/admin/clients/{c.id}/webhooks/{endpoint.id}/deliveries"
    assert url in hooks

    page = get(client, url)
    assert page.status_code == 200
    assert sorted(rows(page.get_data(as_text=True))) == ["pending", "succeeded"]
    failed_only = get(client, url + "?status=pending", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert failed_only.lstrip().startswith('<div id="deliveries-table">') and rows(failed_only) == ["pending"]
    assert "HTTP 500" in failed_only
    by_type = get(client, url + "?event_type=credit.application.withdrawn").get_data(as_text=True)
    assert len(rows(by_type)) == 1 and "credit.application.withdrawn" in by_type
    tomorrow = (deliveries.utcnow() + timedelta(days=1)).date().isoformat()
    assert rows(get(client, url + f"?date_from={tomorrow}").get_data(as_text=True)) == []
    assert get(client, url + "?status=bogus").status_code == 200  # a bad filter is ignored, not a 500

    with tenant.tenant_scope(c.id, db):
        pending = next(d for d in deliveries.list_deliveries(db, endpoint.id, deliveries.LogFilters())[0]
                       if d.status.value == "pending")
    detail = get(client, f"{url}/{pending.id}").get_data(as_text=True)
    assert re.search(r'data-testid="attempt-row".*?HTTP 500.*?ms', detail, flags=re.S)
    assert "thanks" in detail and pending.event_id in detail


def test_resend_test_event_and_replay_are_queued_and_audited(client, db, receiver, run_events):
    c, admin, endpoint, secret = setup_tenant(db, receiver, run_events)
    login(client, admin.email, factories.PASSWORD)
    base = f"/admin/clients/{c.id}/webhooks/{endpoint.id}"
    with tenant.tenant_scope(c.id, db):
        first = deliveries.list_deliveries(db, endpoint.id, deliveries.LogFilters())[0][-1]
    sent_before = len(receiver.at("/hook"))

    resent = post_form(client, f"{base}/deliveries/{first.id}/resend", {}, token_from=f"{base}/deliveries")
    assert resent.status_code == 302
    tested = post_form(client, f"{base}/test", {}, token_from=f"{base}/deliveries")
    assert tested.status_code == 302
    now = deliveries.utcnow()
    replayed = post_form(client, f"{base}/replay", {"start": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                                                    "end": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")},
                         token_from=f"{base}/deliveries")
    assert replayed.status_code == 302
    assert "Replaying 2 events" in get(client, f"{base}/deliveries").get_data(as_text=True)
    run_events()
    got = receiver.at("/hook")[sent_before:]
    # the replay re-armed the resent delivery again before it went out: it is sent once, not twice
    assert sorted(r.event["type"] for r in got) == ["caas.test", "credit.application.submitted",
                                                    "credit.application.withdrawn"]
    for r in got:
        verify.construct_event(r.body, r.headers["CaaS-Signature"], secret)
    with tenant.tenant_scope(c.id, db):
        actions = db.scalars(text("SELECT action FROM audit_log WHERE action IN "
                                  "('webhook.resend', 'webhook.test', 'webhook.replay') ORDER BY chain_seq")).all()
    assert actions == ["webhook.resend", "webhook.test", "webhook.replay"]

    bad = post_form(client, f"{base}/replay", {"start": now.strftime("%Y-%m-%dT%H:%M"),
                                               "end": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")},
                    token_from=f"{base}/deliveries")
    assert bad.status_code == 422 and "The end must be after the start." in bad.get_data(as_text=True)


def test_rotating_shows_the_new_secret_once_and_signs_with_both(client, db, receiver, run_events):
    c, admin, endpoint, old = setup_tenant(db, receiver, run_events)
    login(client, admin.email, factories.PASSWORD)
    base = f"/admin/clients/{c.id}/webhooks/{endpoint.id}"
    page = post_form(client, f"{base}/rotate", {}, token_from=f"/admin/clients/{c.id}/webhooks")
    new = re.search(r'data-testid="webhook-secret">([^<]+)<', page.get_data(as_text=True)).group(1)
    assert new.startswith("whsec_") and new != old
    assert new not in get(client, f"{base}/deliveries").get_data(as_text=True)
    record(db, c, "credit.application.submitted", {"id": "app_3"})
    run_events()
    last = receiver.at("/hook")[-1]
    verify.construct_event(last.body, last.headers["CaaS-Signature"], old)
    verify.construct_event(last.body, last.headers["CaaS-Signature"], new)


def test_another_tenants_endpoint_and_delivery_answer_404(client, db, receiver, run_events):
    c, _, endpoint, _ = setup_tenant(db, receiver, run_events)
    other = factories.client(db)
    intruder = factories.client_admin(db, other)
    own, _ = make_endpoint(db, other, receiver.plan("/own"))
    db.commit()
    with tenant.tenant_scope(c.id, db):
        delivery = deliveries.list_deliveries(db, endpoint.id, deliveries.LogFilters())[0][0]
    login(client, intruder.email, factories.PASSWORD)
    for path in (f"/admin/clients/{c.id}/webhooks/{endpoint.id}/deliveries",
                 f"/admin/clients/{other.id}/webhooks/{endpoint.id}/deliveries",
                 f"/admin/clients/{other.id}/webhooks/{own.id}/deliveries/{delivery.id}"):
        assert get(client, path).status_code == 404, path
    for path in (f"/admin/clients/{other.id}/webhooks/{endpoint.id}/test",
                 f"/admin/clients/{other.id}/webhooks/{endpoint.id}/rotate",
                 f"/admin/clients/{other.id}/webhooks/{own.id}/deliveries/{delivery.id}/resend"):
        response = post_form(client, path, {}, token_from=f"/admin/clients/{other.id}/webhooks")
        assert response.status_code == 404, path


def test_platform_admin_reads_a_tenants_log_audited(client, db, receiver, run_events):
    c, _, endpoint, _ = setup_tenant(db, receiver, run_events)
    platform = factories.platform_admin(db)
    db.commit()
    login(client, platform.email, factories.PASSWORD)
    page = get(client, f"/admin/clients/{c.id}/webhooks/{endpoint.id}/deliveries")
    assert page.status_code == 200 and len(rows(page.get_data(as_text=True))) == 2
    with tenant.tenant_scope(c.id, db):
        assert db.execute(text("SELECT count(*) FROM audit_log WHERE action = 'platform.act_for_tenant' "
                               "AND after->>'reason' = 'admin.webhook_deliveries'")).scalar() >= 1
