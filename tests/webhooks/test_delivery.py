"""Signed delivery to a real receiver on 127.0.0.1: fan-out, payload, signature, the attempt log,
idempotency and deduplication, tenant isolation, redirects and private addresses."""
from __future__ import annotations

import time

from sqlalchemy import func, select, text

from caas.core import tenant
from caas.events import deliveries, jobs, verify, webhooks
from caas.events.models import DeliveryStatus, OutboxMessage, WebhookAttempt, WebhookDelivery
from tests import factories
from tests.webhooks.conftest import make_endpoint, record

SUBMITTED = "credit.application.submitted"


def deliveries_of(db, client, endpoint_id=None):
    with tenant.tenant_scope(client.id, db):
        query = select(WebhookDelivery).execution_options(populate_existing=True)
        if endpoint_id:
            query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        return db.scalars(query.order_by(WebhookDelivery.created_at)).all()


def attempts_of(db, client, delivery_id):
    with tenant.tenant_scope(client.id, db):
        return deliveries.attempts_of(db, delivery_id)


def test_event_goes_signed_to_every_enabled_subscribed_endpoint(db, receiver, run_events):
    c = factories.client(db)
    one, secret_one = make_endpoint(db, c, receiver.plan("/one"))
    two, secret_two = make_endpoint(db, c, receiver.plan("/two"), events=[SUBMITTED, "credit.loan.closed"])
    make_endpoint(db, c, receiver.plan("/other-type"), events=["credit.loan.closed"])
    off, _ = make_endpoint(db, c, receiver.plan("/off"))
    with tenant.tenant_scope(c.id, db):
        webhooks.set_enabled(db, factories.SYSTEM, off.id, False)
    db.commit()
    data = {"id": "app_42", "object": "application", "status": "submitted", "updated_at": "2026-11-23T10:00:00+00:00"}
    message = record(db, c, SUBMITTED, data)

    run_events()

    assert [len(receiver.at(p)) for p in ("/one", "/two", "/other-type", "/off")] == [1, 1, 0, 0]
    for path, secret in (("/one", secret_one), ("/two", secret_two)):
        got = receiver.at(path)[0]
        event = verify.construct_event(got.body, got.headers["CaaS-Signature"], secret)
        assert event == {"id": f"evt_{message.id.hex}", "type": SUBMITTED, "created": event["created"],
                         "client_id": str(c.id), "data": data}
        assert abs(event["created"] - time.time()) < 60
        assert got.headers["Content-Type"] == "application/json"
        assert got.headers["CaaS-Event-Id"] == event["id"]
    # the other endpoint's secret does not verify this endpoint's delivery
    got = receiver.at("/one")[0]
    assert secret_one != secret_two
    try:
        verify.construct_event(got.body, got.headers["CaaS-Signature"], secret_two)
        raise AssertionError("verified with the wrong secret")
    except verify.SignatureVerificationError:
        pass

    rows = deliveries_of(db, c)
    assert {r.endpoint_id for r in rows} == {one.id, two.id}
    assert all(r.status == DeliveryStatus.succeeded and r.attempts == 1 and r.last_status_code == 200 for r in rows)
    attempt = attempts_of(db, c, rows[0].id)[0]
    assert attempt.status_code == 200 and attempt.succeeded and attempt.latency_ms >= 0
    assert attempt.response_body == '{"ok":true}' and attempt.error is None


def test_attempt_keeps_only_the_first_2_kb_of_the_answer(db, receiver, run_events):
    c = factories.client(db)
    make_endpoint(db, c, receiver.plan("/big", [200], body=b"x" * 50_000))
    db.commit()
    record(db, c)
    run_events()
    (delivery,) = deliveries_of(db, c)
    (attempt,) = attempts_of(db, c, delivery.id)
    assert attempt.response_body == "x" * 2048


def test_attempt_log_is_append_only(db, receiver, run_events):
    import pytest
    from sqlalchemy.exc import DBAPIError

    c = factories.client(db)
    make_endpoint(db, c, receiver.plan("/log"))
    db.commit()
    record(db, c)
    run_events()
    with tenant.tenant_scope(c.id, db):
        with pytest.raises(DBAPIError, match="permission denied|append-only"):
            with db.begin_nested():
                db.execute(text("UPDATE webhook_delivery_attempts SET status_code = 500"))


def test_dispatch_twice_creates_no_duplicate_deliveries_or_jobs(db, receiver, app):
    c = factories.client(db)
    make_endpoint(db, c, receiver.plan("/a"))
    make_endpoint(db, c, receiver.plan("/b"))
    db.commit()
    message = record(db, c)
    with tenant.tenant_scope(c.id, db):
        assert jobs.dispatch_event(str(message.id)) == SUBMITTED
        assert jobs.dispatch_event(str(message.id)) == SUBMITTED
        queued = db.scalar(select(func.count()).select_from(OutboxMessage)
                           .where(OutboxMessage.func == deliveries.DELIVER))
    assert len(deliveries_of(db, c)) == 2
    assert queued == 2


def test_a_job_run_twice_sends_once_and_the_receiver_deduplicates_resends(db, receiver, run_events):
    c = factories.client(db)
    endpoint, _ = make_endpoint(db, c, receiver.plan("/dedup"))
    db.commit()
    record(db, c)
    run_events()
    (delivery,) = deliveries_of(db, c)
    with tenant.tenant_scope(c.id, db):
        # RQ delivers at least once: the same attempt again is a no-op
        assert jobs.deliver(str(delivery.id), 1, 0) == "already succeeded"
        deliveries.resend(db, factories.SYSTEM, delivery.id)
        db.commit()
    run_events()
    assert len(receiver.at("/dedup")) == 2  # the resend really went out again...
    assert len(receiver.unique_events("/dedup")) == 1  # ...with the same event id, so it is dropped
    (delivery,) = deliveries_of(db, c)
    assert delivery.attempts == 2 and delivery.cycle == 1 and delivery.status == DeliveryStatus.succeeded


def test_a_tenant_never_receives_another_tenants_events(db, receiver, run_events):
    a, b = factories.client(db), factories.client(db)
    make_endpoint(db, a, receiver.plan("/tenant-a"))
    make_endpoint(db, b, receiver.plan("/tenant-b"))
    db.commit()
    for n in range(3):
        record(db, a, data={"id": f"app_a{n}"})
    record(db, b, data={"id": "app_b0"})
    run_events()
    got_a = [r.event for r in receiver.at("/tenant-a")]
    got_b = [r.event for r in receiver.at("/tenant-b")]
    assert sorted(e["data"]["id"] for e in got_a) == ["app_a0", "app_a1", "app_a2"]
    assert [e["data"]["id"] for e in got_b] == ["app_b0"]
    assert {e["client_id"] for e in got_a} == {str(a.id)} and {e["client_id"] for e in got_b} == {str(b.id)}
    # and the rows: each tenant sees only its own deliveries and attempts
    with tenant.tenant_scope(b.id, db):
        assert db.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
        assert db.scalar(select(func.count()).select_from(WebhookAttempt)) == 1


def test_fan_out_under_one_tenant_ignores_other_tenants_endpoints(db, receiver):
    """Even if an event row were dispatched under the wrong tenant, RLS hides it: nothing is sent."""
    a, b = factories.client(db), factories.client(db)
    make_endpoint(db, b, receiver.plan("/b-only"))
    db.commit()
    message = record(db, a)
    with tenant.tenant_scope(b.id, db):
        assert jobs.dispatch_event(str(message.id)) == "missing"
    assert deliveries_of(db, b) == []


def test_redirects_are_not_followed(db, receiver, run_events):
    c = factories.client(db)
    target = receiver.plan("/target")
    make_endpoint(db, c, receiver.plan("/moved", [302], headers={"Location": target}))
    db.commit()
    record(db, c)
    run_events()
    assert receiver.at("/target") == []
    (delivery,) = deliveries_of(db, c)
    assert delivery.status == DeliveryStatus.pending and delivery.last_status_code == 302
    assert "not followed" in delivery.last_error


def test_private_addresses_are_refused_unless_allowed(db, receiver, run_events, app, monkeypatch):
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_WEBHOOK_TARGETS", False)
    deliveries._clients.clear()
    c = factories.client(db)
    make_endpoint(db, c, receiver.plan("/private"))
    db.commit()
    record(db, c)
    run_events()
    assert receiver.at("/private") == []
    (delivery,) = deliveries_of(db, c)
    assert delivery.status == DeliveryStatus.pending
    assert "refused" in delivery.last_error and "127.0.0.1" in delivery.last_error


def test_address_check():
    refused = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1",
               "fc00::1", "0.0.0.0", "::ffff:127.0.0.1", "224.0.0.1", "100.64.0.1"]
    allowed = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"]
    assert [a for a in refused if deliveries.address_allowed(a)] == []
    assert all(deliveries.address_allowed(a) for a in allowed)


def test_test_event_goes_to_that_endpoint_only(db, receiver, run_events):
    c = factories.client(db)
    endpoint, secret = make_endpoint(db, c, receiver.plan("/tested"))
    make_endpoint(db, c, receiver.plan("/untouched"))
    db.commit()
    with tenant.tenant_scope(c.id, db):
        deliveries.send_test(db, factories.SYSTEM, endpoint.id)
        db.commit()
    run_events()
    (got,) = receiver.at("/tested")
    event = verify.construct_event(got.body, got.headers["CaaS-Signature"], secret)
    assert event["type"] == "caas.test" and event["data"]["endpoint_id"] == str(endpoint.id)
    assert receiver.at("/untouched") == []


def test_replay_sends_a_time_range_again_and_fills_in_missing_deliveries(db, receiver, run_events):
    from datetime import timedelta

    c = factories.client(db)
    early = record(db, c, data={"id": "before-endpoint"})  # dispatched before the endpoint existed
    run_events()
    endpoint, _ = make_endpoint(db, c, receiver.plan("/replayed"))
    db.commit()
    record(db, c, data={"id": "after-endpoint"})
    run_events()
    assert [r.event["data"]["id"] for r in receiver.at("/replayed")] == ["after-endpoint"]
    with tenant.tenant_scope(c.id, db):
        db.refresh(early)
        start = early.created_at - timedelta(seconds=1)
        count = deliveries.replay(db, factories.SYSTEM, endpoint.id, start, deliveries.utcnow() + timedelta(minutes=1))
        db.commit()
    assert count == 2
    run_events()
    assert sorted(receiver.unique_events("/replayed")) == sorted(
        {f"evt_{early.id.hex}", receiver.at("/replayed")[0].event["id"]})
    assert len(receiver.at("/replayed")) == 3
