"""A worker SIGKILLed in the middle of a webhook delivery: after the receiver got the request and
before the delivery row recorded the answer (the receiver holds its answer; the worker, a real
`flask worker -q events` subprocess, is killed while it waits).

Webhooks are at least once: the killed attempt stays claimed (its lease runs), RQ's retry of the
killed job finds the attempt taken and sends nothing, and once the lease is over the stalled-
delivery sweep sends the next attempt. The receiver gets the same event (the same ``id``,
``CaaS-Event-Id`` and ``CaaS-Delivery-Id``, the same body) a second time, which is what
docs/webhooks.md tells receivers to deduplicate on; CaaS ends with one delivery row, succeeded.
"""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from caas.core import jobs, tenant
from caas.events import deliveries, jobs as event_jobs, outbox, webhooks
from caas.events.verify import construct_event
from tests import factories
from tests.helpers import LoopbackServer
from tests.worker_procs import WorkerProcesses, retry_abandoned_jobs, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

EVENT = "credit.application.submitted"


class HoldingReceiver(LoopbackServer):
    """A client's webhook endpoint: records every request; while ``holding`` it keeps its answer
    (200) until released, as a slow receiver does."""

    def __init__(self):
        super().__init__()
        self.received: list[dict] = []
        self.holding = True
        self.release = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/caas"

    def _wsgi(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        with self.lock:
            self.received.append({"headers": headers, "body": body})
            hold = self.holding
        if hold:
            self.release.wait(30)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok":true}']


@pytest.fixture
def receiver():
    server = HoldingReceiver().start()
    yield server
    server.release.set()
    server.stop()


@pytest.fixture
def workers(app, tmp_path):
    made = WorkerProcesses(app, tmp_path, ("events",))
    yield made
    made.stop_all()


def delivery_rows(owner) -> list[dict]:
    with owner.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT d.id, d.status, d.attempts, d.event_id, "
            "       (SELECT count(*) FROM webhook_delivery_attempts a WHERE a.delivery_id = d.id) AS logged, "
            "       (SELECT array_agg(a.attempt ORDER BY a.attempt) FROM webhook_delivery_attempts a "
            "         WHERE a.delivery_id = d.id AND a.succeeded) AS succeeded_attempts "
            "FROM webhook_deliveries d")).mappings()]


def test_a_worker_killed_while_the_receiver_holds_its_answer_delivers_the_same_event_again_and_records_it_once(
        app, committed, owner, receiver, workers, monkeypatch):
    client = factories.client(committed)
    with tenant.tenant_scope(client.id, committed):
        _, secret = webhooks.create(committed, factories.SYSTEM, client.id, url=receiver.url, events=[EVENT],
                                    allow_http=True)
        committed.commit()
        message = outbox.record_event(committed, client.id, EVENT, {"id": "app_1", "object": "application"})
        committed.commit()  # the dispatch job reaches Redis after this commit
    tenant.reset()
    message_id = message.id

    worker = workers.start()
    wait_for(lambda: receiver.received, 60, "the receiver to get the delivery")
    workers.kill(worker)  # the receiver got it; the worker never heard the answer
    receiver.holding = False
    receiver.release.set()

    [killed] = delivery_rows(owner)
    assert (killed["status"], killed["attempts"], killed["logged"]) == ("pending", 1, 0)  # claimed, not recorded

    # RQ retries the killed job: the attempt is claimed already, so it sends nothing.
    events = jobs.queue("events")
    assert retry_abandoned_jobs(events) == 1
    workers.burst()
    assert len(receiver.received) == 1
    assert delivery_rows(owner) == [killed]
    assert event_jobs.requeue_stalled() == 0  # within the claimed attempt's lease it is not stalled

    # Once the lease is over, the periodic sweep queues the next attempt, and a worker sends it.
    later = deliveries.utcnow() + deliveries.LEASE + timedelta(minutes=3)
    monkeypatch.setattr(deliveries, "utcnow", lambda: later)
    assert event_jobs.requeue_stalled() == 1
    assert event_jobs.requeue_stalled() == 0  # queued already: a second sweep adds nothing
    workers.burst()

    first, second = receiver.received
    [done] = delivery_rows(owner)
    assert done["id"] == killed["id"] and done["status"] == "succeeded" and done["attempts"] == 2
    assert (done["logged"], done["succeeded_attempts"]) == (1, [2])  # the killed attempt was never answered here
    assert event_jobs.requeue_stalled() == 0
    workers.burst()
    assert len(receiver.received) == 2  # nothing more is sent

    # The receiver's contract (docs/webhooks.md): the same event again, to be deduplicated on its id.
    for request in (first, second):
        event = construct_event(request["body"], request["headers"]["Caas-Signature"], secret)
        assert event["id"] == deliveries.event_id_for(message_id) == request["headers"]["Caas-Event-Id"]
        assert request["headers"]["Caas-Delivery-Id"] == str(done["id"])
    assert first["body"] == second["body"]
    assert [r["headers"]["Caas-Delivery-Attempt"] for r in (first, second)] == ["1", "2"]
    kept = {json.loads(r["body"])["id"] for r in receiver.received}
    assert kept == {done["event_id"]}  # a receiver deduplicating by id processes it once
