"""The SMTP mail backend against a real SMTP server (aiosmtpd) on 127.0.0.1, and the e-mail a client
admin gets when an endpoint is disabled, sent through it."""
from __future__ import annotations

import socket
import uuid
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from caas.core import tenant
from caas.events import jobs, mail
from caas.events.models import WebhookEndpoint
from tests import factories
from tests.webhooks.conftest import make_endpoint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collect:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setattr(mail.settings, "backend", "smtp")
    monkeypatch.setattr(mail.settings, "smtp_host", "127.0.0.1")
    monkeypatch.setattr(mail.settings, "smtp_port", port)
    yield handler
    controller.stop()


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


def test_disabled_endpoint_email_goes_to_every_active_client_admin(db, smtp):
    c = factories.client(db)
    admins = [factories.client_admin(db, c) for _ in range(2)]
    factories.client_admin(db, factories.client(db))  # another tenant's admin gets nothing
    endpoint, _ = make_endpoint(db, c, f"http://127.0.0.1:9/{uuid.uuid4().hex}")
    with tenant.tenant_scope(c.id, db):
        db.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
                   .values(enabled=False, disabled_reason="Every delivery failed for 3 days"))
        db.commit()
        assert jobs.notify_endpoint_disabled(str(endpoint.id)) == "sent 2"
    assert sorted(r for _, rcpt, _ in smtp.messages for r in rcpt) == sorted(a.email for a in admins)
    body = smtp.messages[0][2].get_body(("plain",)).get_content()
    assert endpoint.url in body and "Every delivery failed for 3 days" in body
    assert f"/admin/clients/{c.id}/webhooks/{endpoint.id}/deliveries" in body
