"""Webhook test fixtures: a real HTTP receiver on 127.0.0.1 (a thread), a movable clock, tenants
with endpoints pointing at the receiver, and a burst worker on the events queue."""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from caas.core import tenant, worker
from caas.events import deliveries, mail, webhooks
from tests import factories


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers POSTs by path: a list of statuses consumed in order (the last one repeats), an
    optional delay, and optional extra headers (redirects). Records every request."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    plans: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, path: str, statuses=(200,), *, delay: float = 0.0, body: bytes = b'{"ok":true}',
             headers: dict | None = None) -> str:
        self.plans[path] = {"statuses": list(statuses), "delay": delay, "body": body, "headers": headers or {}}
        return self.url + path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def unique_events(self, path: str) -> dict[str, dict]:
        """What a receiver that deduplicates by event id keeps."""
        kept: dict[str, dict] = {}
        for r in self.at(path):
            kept.setdefault(r.event["id"], r.event)
        return kept


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with state.lock:
                state.received.append(Received(self.path, dict(self.headers), body, time.time()))
                plan = state.plans.get(self.path, {"statuses": [200], "delay": 0, "body": b"ok", "headers": {}})
                status = plan["statuses"].pop(0) if len(plan["statuses"]) > 1 else plan["statuses"][0]
            if plan["delay"]:
                time.sleep(plan["delay"])
            try:
                self.send_response(status)
                for name, value in plan["headers"].items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(plan["body"])))
                self.end_headers()
                self.wfile.write(plan["body"])
            except OSError:
                pass  # the client gave up (timeout)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()
    server.server_close()


class Clock:
    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(deliveries, "utcnow", c)
    return c


@pytest.fixture
def run_events(app):
    def run():
        worker.run(app, ["events"], burst=True, with_cron=False)
    return run


def make_endpoint(db, client, url: str, events=("credit.application.submitted",)):
    with tenant.tenant_scope(client.id, db):
        endpoint, secret = webhooks.create(db, factories.SYSTEM, client.id, url=url, events=list(events),
                                           allow_http=True)
    return endpoint, secret


def record(db, client, event_type="credit.application.submitted", data=None):
    from caas.events import outbox

    with tenant.tenant_scope(client.id, db):
        message = outbox.record_event(db, client.id, event_type, data or {"id": "app_1", "object": "application"})
        db.commit()
    return message


def load(db, client, model, ident):
    with tenant.tenant_scope(client.id, db):
        return db.get(model, ident, populate_existing=True)


# --- A real SMTP server (aiosmtpd) on 127.0.0.1 for the mail backend -----------------------------------

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
