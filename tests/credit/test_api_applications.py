"""The client API: applications end to end, validation, idempotency, isolation, rate limits, usage."""
from __future__ import annotations

import pytest
from rq.job import Job
from sqlalchemy import func, select, text

from caas.core import jobs, tenant
from caas.credit.models import Application, ApplicationStatus, BorrowerProfile, Consent
from caas.billing.models import UsageEvent
from caas.events.models import OutboxMessage
from caas.tenancy.models import Role, User
from tests import factories
from tests.helpers import BASE


@pytest.fixture
def tenant_a(db):
    c = factories.client(db, slug="api-a")
    key = factories.api_key(db, c)
    db.commit()
    return c, key


def call(client, method, path, key, json=None, **headers):
    headers["Authorization"] = f"Bearer {key}"
    return client.open(f"/api/v1{path}", method=method, json=json, base_url=BASE, headers=headers)


def test_post_application_creates_borrower_profile_consents_and_submits(client, db, tenant_a):
    c, key = tenant_a
    body = factories.application_body()
    response = call(client, "POST", "/applications", key, body)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["status"] == "submitted" and data["amount"] == "250000.00" and data["amount_minor"] == 25_000_000
    assert data["currency"] == "NGN" and data["term_months"] == 12 and data["channel"] == "api"
    # 24% reference rate, 12 months, 30/360: 2% a month on 250,000.00 -> 23,639.90 a month
    assert data["indicative_monthly_payment"] == "23639.90" and data["indicative_apr"] == "24.00"
    with tenant.tenant_scope(c.id, db):
        borrower = db.scalar(select(User).where(User.email == body["applicant"]["email"]))
        assert borrower.role == Role.borrower and borrower.client_id == c.id
        profile = db.get(BorrowerProfile, borrower.id)
        assert profile.monthly_net_income_minor == 45_000_000 and profile.national_id == "22345678901"
        assert {k.kind for k in db.scalars(select(Consent).where(Consent.user_id == borrower.id))} == \
            {"data_processing", "credit_check"}
        events = db.scalars(select(OutboxMessage.event_type).where(OutboxMessage.kind == "event")).all()
        assert events == ["credit.application.submitted"]
        usage = db.execute(select(UsageEvent.metric, UsageEvent.quantity).order_by(UsageEvent.metric)).all()
        assert [(u.metric, u.quantity) for u in usage] == [("api_call", 1), ("application_processed", 1)]
    assert jobs.queue("scoring").job_ids == [f"score-{data['id']}"]


def test_second_application_reuses_the_borrower_by_email(client, db, tenant_a):
    c, key = tenant_a
    body = factories.application_body()
    first = call(client, "POST", "/applications", key, body).get_json()
    second = call(client, "POST", "/applications", key, {**body, "amount": "300000"}).get_json()
    assert first["borrower_id"] == second["borrower_id"] and first["id"] != second["id"]


def test_validation_lists_every_bad_field_and_saves_nothing(client, db, tenant_a):
    c, key = tenant_a
    body = factories.application_body(
        applicant=factories.applicant(national_id="123", date_of_birth="2015-01-01", email="not-an-email"),
        consents={"data_processing": True}, amount="1.00", term_months=7)
    response = call(client, "POST", "/applications", key, body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert {f["field"] for f in error["fields"]} == {
        "applicant.email", "applicant.national_id", "applicant.date_of_birth", "consents.credit_check", "amount",
        "term_months"}
    assert next(f for f in error["fields"] if f["field"] == "applicant.national_id")["message"] == \
        "Enter your 11-digit BVN or NIN."
    with tenant.tenant_scope(c.id, db):
        assert db.scalar(select(func.count()).select_from(Application)) == 0
        assert db.scalar(select(func.count()).select_from(User).where(User.role == Role.borrower)) == 0


def test_non_json_body_is_a_clear_error(client, tenant_a):
    _, key = tenant_a
    response = client.post("/api/v1/applications", data="x=1", base_url=BASE,
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_json"


def test_idempotency_key_replays_the_first_response_and_refuses_other_parameters(client, db, tenant_a):
    c, key = tenant_a
    body = factories.application_body()
    first = call(client, "POST", "/applications", key, body, **{"Idempotency-Key": "order-1"})
    again = call(client, "POST", "/applications", key, body, **{"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    with tenant.tenant_scope(c.id, db):
        assert db.scalar(select(func.count()).select_from(Application)) == 1
    other = call(client, "POST", "/applications", key, {**body, "amount": "260000"}, **{"Idempotency-Key": "order-1"})
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"


def test_idempotency_key_in_flight_gets_409(client, db, tenant_a):
    from caas.credit import idempotency
    from caas.tenancy import apikeys

    c, key = tenant_a
    body = factories.application_body()
    with tenant.tenant_scope(c.id, db):
        principal = apikeys.authenticate(db, f"Bearer {key}")
        digest = idempotency.request_hash("POST", "/api/v1/applications",
                                          client.application.json.dumps(body).encode())
        assert idempotency.claim(db, c.id, principal.key_id, "busy-1", digest) is None  # first request, running
    busy = call(client, "POST", "/applications", key, body, **{"Idempotency-Key": "busy-1"})
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "idempotency_key_in_use"


def test_validation_failure_is_replayed_too(client, tenant_a):
    _, key = tenant_a
    bad = factories.application_body(amount="0")
    first = call(client, "POST", "/applications", key, bad, **{"Idempotency-Key": "bad-1"})
    again = call(client, "POST", "/applications", key, bad, **{"Idempotency-Key": "bad-1"})
    assert first.status_code == again.status_code == 422 and first.get_json() == again.get_json()


def test_get_list_and_withdraw(client, db, tenant_a):
    _, key = tenant_a
    ids = [call(client, "POST", "/applications", key, factories.application_body()).get_json()["id"] for _ in range(3)]
    one = call(client, "GET", f"/applications/{ids[0]}", key)
    assert one.status_code == 200 and one.get_json()["id"] == ids[0]
    page1 = call(client, "GET", "/applications?limit=2", key).get_json()
    assert [a["id"] for a in page1["data"]] == [ids[2], ids[1]] and page1["has_more"] is True
    page2 = call(client, "GET", f"/applications?limit=2&cursor={page1['next_cursor']}", key).get_json()
    assert [a["id"] for a in page2["data"]] == [ids[0]] and page2["has_more"] is False
    withdrawn = call(client, "POST", f"/applications/{ids[0]}/withdraw", key)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    again = call(client, "POST", f"/applications/{ids[0]}/withdraw", key)
    assert again.status_code == 422 and again.get_json()["error"]["code"] == "not_withdrawable"
    only = call(client, "GET", "/applications?status=withdrawn", key).get_json()["data"]
    assert [a["id"] for a in only] == [ids[0]]
    with tenant.tenant_scope(_tenant_of(db, ids[0]), db):
        events = db.scalars(select(OutboxMessage.event_type).where(OutboxMessage.kind == "event")
                            .order_by(OutboxMessage.created_at)).all()
    assert events.count("credit.application.withdrawn") == 1


def _tenant_of(db, application_id):
    return db.execute(text("SELECT id FROM clients WHERE slug = 'api-a'")).scalar_one()


def test_another_tenants_key_gets_404_for_the_application(client, db, tenant_a):
    _, key_a = tenant_a
    b = factories.client(db, slug="api-b")
    key_b = factories.api_key(db, b)
    db.commit()
    mine = call(client, "POST", "/applications", key_a, factories.application_body()).get_json()["id"]
    assert call(client, "GET", f"/applications/{mine}", key_b).status_code == 404
    assert call(client, "POST", f"/applications/{mine}/withdraw", key_b).status_code == 404
    assert call(client, "GET", "/applications", key_b).get_json()["data"] == []
    assert call(client, "GET", "/applications/not-a-uuid", key_b).status_code == 404


def test_rate_limit_per_key_answers_429_with_retry_after(client, db):
    c = factories.client(db, slug="tiny-quota", quota_api_calls_per_hour=3)
    key = factories.api_key(db, c)
    db.commit()
    statuses = [call(client, "GET", "/ping", key).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = call(client, "GET", "/ping", key)
    assert limited.get_json()["error"]["code"] == "rate_limited" and 0 < int(limited.headers["Retry-After"]) <= 3600


def test_openapi_document_describes_the_endpoints(client):
    doc = client.get("/api/v1/openapi.json", base_url=BASE).get_json()
    assert doc["openapi"] == "3.1.0"
    assert {"/applications", "/applications/{application_id}", "/ping", "/providers"} <= set(doc["paths"])
