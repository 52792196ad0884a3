"""The SMTP mail backend against a real SMTP server (aiosmtpd) on 127.0.0.1, and the e-mail a client
admin gets when an endpoint is disabled, sent through it."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from caas.core import tenant
from caas.credit.models import Notification
from caas.events import jobs, mail
from caas.events.models import WebhookEndpoint
from tests import factories
from tests.webhooks.conftest import free_port, make_endpoint


def test_smtp_backend_sends_text_and_html(smtp):
    message_id = mail.send("ada@example.com", "Hello", "plain body", "<p>html body</p>")
    ((sender, recipients, message),) = smtp.messages
    assert recipients == ["ada@example.com"] and "no-reply@caas.example.com" in sender
    assert message["Subject"] == "Hello" and message["Message-ID"] == message_id
    assert message.get_body(("plain",)).get_content().strip() == "plain body"
    assert message.get_body(("html",)).get_content().strip() == "<p>html body</p>"


def test_smtp_down_raises_so_the_job_is_retried(monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setattr(mail.settings, "backend", "smtp")
    monkeypatch.setattr(mail.settings, "smtp_host", "127.0.0.1")
    monkeypatch.setattr(mail.settings, "smtp_port", port)
    with pytest.raises(OSError):
        mail.send("ada@example.com", "Hello", "body")


def test_disabled_endpoint_email_goes_to_every_active_client_admin_once(db, smtp, run_events):
    c = factories.client(db)
    admins = [factories.client_admin(db, c) for _ in range(2)]
    factories.client_admin(db, factories.client(db))  # another tenant's admin gets nothing
    platform = factories.platform_admin(db)
    endpoint, _ = make_endpoint(db, c, f"http://127.0.0.1:9/{uuid.uuid4().hex}")
    with tenant.tenant_scope(c.id, db):
        db.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
                   .values(enabled=False, disabled_reason="Every delivery failed for 3 days"))
        db.commit()
        assert jobs.notify_endpoint_disabled(str(endpoint.id)) == "queued 5"  # 2 e-mails, 3 in-app notices
    run_events()
    with tenant.tenant_scope(c.id, db):
        assert jobs.notify_endpoint_disabled(str(endpoint.id)) == "queued 0"  # a re-run of the job
    run_events()
    assert sorted(r for _, rcpt, _ in smtp.messages for r in rcpt) == sorted(a.email for a in admins)
    message = smtp.messages[0][2]
    assert message["Subject"] == f"Webhook endpoint disabled: {endpoint.url}"
    body = message.get_body(("plain",)).get_content()
    assert endpoint.url in body and "Every delivery failed for 3 days" in body
    assert f"/admin/clients/{c.id}/webhooks/{endpoint.id}/deliveries" in body
    html = message.get_body(("html",)).get_content()
    assert f"<code>{endpoint.url}</code>" in html and "Open the delivery log" in html
    # the platform admins see it in their notification centre, without an e-mail
    with tenant.tenant_scope(c.id, db):
        assert len(db.scalars(select(Notification).where(Notification.user_id.in_([a.id for a in admins]))).all()) == 2
    notices = db.scalars(select(Notification).where(Notification.user_id == platform.id)).all()
    assert [n.client_id for n in notices] == [None] and endpoint.url in notices[0].text
