"""Hard quotas: applications per month refused at 100 % (API 429 quota_exceeded, portal message),
warned once at 90 %, lifted for the month by an audited override."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from caas.audit.models import AuditEntry
from caas.billing import quotas, usage
from caas.billing.models import QuotaWarning, UsageEvent
from caas.billing.usage import UsageInput
from caas.core import tenant
from caas.credit.models import Application
from caas.events.models import OutboxMessage
from tests import factories
from tests.credit.test_api_applications import call
from tests.credit.test_portal_journey import PROFILE
from tests.helpers import get, login, post_form


def used_already(db, client, n):
    now = datetime.now(timezone.utc)
    with tenant.tenant_scope(client.id, db):
        usage.record_many(db, [UsageInput(client.id, "application_processed", f"earlier-{i}", occurred_at=now)
                               for i in range(n)])


def test_api_warns_at_90_percent_once_and_refuses_at_the_limit_with_429(client, db):
    c = factories.client(db, slug="quota-api", quota_applications_per_month=10)
    key = factories.api_key(db, c)
    used_already(db, c, 8)
    db.commit()
    assert call(client, "POST", "/applications", key, factories.application_body()).status_code == 201  # 9 = 90 %
    assert call(client, "POST", "/applications", key, factories.application_body()).status_code == 201  # 10
    refused = call(client, "POST", "/applications", key, factories.application_body())
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "quota_exceeded" and "all 10 applications" in error["message"]
    with tenant.tenant_scope(c.id, db):
        assert db.scalar(select(func.count()).select_from(Application)) == 2  # the refused one left nothing
        assert db.scalar(select(func.sum(UsageEvent.quantity)).where(
            UsageEvent.metric == "application_processed")) == 10
        warnings = db.execute(select(QuotaWarning.level, QuotaWarning.used, QuotaWarning.limit)
                              .order_by(QuotaWarning.level)).all()
        assert [tuple(w) for w in warnings] == [(90, 9, 10), (100, 10, 10)]
        told = db.scalars(select(OutboxMessage.args).where(OutboxMessage.args[0].astext == "quota.warning")).all()
        assert len(told) == 2  # one message per threshold, not per application


def test_a_platform_override_lifts_the_quota_for_the_month_and_is_audited(client, db):
    c = factories.client(db, slug="quota-override", quota_applications_per_month=2)
    key = factories.api_key(db, c)
    used_already(db, c, 2)
    admin_id = factories.platform_admin(db).id
    db.commit()
    assert call(client, "POST", "/applications", key, factories.application_body()).status_code == 429
    with tenant.tenant_scope(c.id, db):
        quotas.grant_override(db, factories.Actor(admin_id, "platform_admin"), c, reason="Launch week")
        db.commit()
    assert call(client, "POST", "/applications", key, factories.application_body()).status_code == 201
    with tenant.tenant_scope(c.id, db):
        audit = db.scalar(select(AuditEntry).where(AuditEntry.action == "billing.quota_override"))
        assert audit.after["reason"] == "Launch week" and audit.actor_id == admin_id


def test_the_borrower_portal_says_why_at_the_limit(client, db):
    c = factories.client(db, slug="quota-portal", quota_applications_per_month=1)
    b = factories.borrower(db, c)
    used_already(db, c, 1)
    db.commit()
    login(client, b.email, factories.PASSWORD, path="/c/quota-portal/login")
    post_form(client, "/c/quota-portal/profile", PROFILE)
    post_form(client, "/c/quota-portal/consents", {"data_processing": "y", "credit_check": "y"})
    edit_url = post_form(client, "/c/quota-portal/apply", {}, token_from="/c/quota-portal/").headers["Location"]
    step = f"/c/quota-portal/applications/{edit_url.split('/')[-2]}/step"
    post_form(client, f"{step}/terms", {"amount": "100000", "currency": "NGN", "term_months": "12",
                                        "purpose": "education"}, token_from=edit_url)
    post_form(client, f"{step}/income", {"income_confirmed": "y"}, token_from=edit_url)
    refused = post_form(client, f"{step}/review", {}, token_from=edit_url)
    assert refused.status_code == 422
    assert "has used all 1 applications of its plan for this month" in refused.get_data(as_text=True)
    with tenant.tenant_scope(c.id, db):
        assert db.scalar(select(Application.status)).value == "draft"  # kept as a draft, nothing lost


def test_the_hourly_api_quota_warns_once_at_90_and_at_100_percent(client, db):
    c = factories.client(db, slug="quota-calls", quota_api_calls_per_hour=10)
    key = factories.api_key(db, c)
    db.commit()
    answers = [call(client, "GET", "/ping", key).status_code for _ in range(11)]
    assert answers == [200] * 10 + [429]
    with tenant.tenant_scope(c.id, db):
        warnings = db.execute(select(QuotaWarning.quota, QuotaWarning.level, QuotaWarning.used)
                              .order_by(QuotaWarning.level)).all()
        assert [tuple(w) for w in warnings] == [("api_calls_per_hour", 90, 9), ("api_calls_per_hour", 100, 10)]
        told = db.scalars(select(OutboxMessage.kwargs).where(OutboxMessage.args[0].astext == "quota.warning")).all()
        assert [t["data"]["quota"] for t in told] == ["API calls in one hour"] * 2
