"""Redis stopped while borrowers submit applications (the API) and providers bid (the provider
portal), against gunicorn and a Redis of the test's own. Every request succeeds: the jobs and events
wait in the outbox, committed with the change that caused them. Redis comes back empty (it kept
nothing on disk), the outbox relay sends what it holds, and one burst worker processes it: every
application is scored exactly once (one decision each), every bid stands, every event is recorded
once and delivered once to the client's webhook endpoint. Running the relay and the worker again
changes nothing.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from caas.core import tenant
from caas.credit import scoring_models
from caas.screening import lists
from tests import factories
from tests.faults.processes import Gunicorn, RedisServer, app_env, flask
from tests.market.world import lender, open_application
from tests.webhooks.conftest import make_endpoint

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
APPLICATIONS = 4
EVENTS = ["credit.application.submitted", "credit.application.approved", "credit.application.declined",
          "credit.offer.received"]


@pytest.fixture(scope="module")
def artifact():
    return scoring_models.train_from_file(REFERENCE / "german_train.data", cross_validation=False)


@pytest.fixture
def world(committed, artifact, receiver):
    """Committed: an active scoring model and sanctions list; a client with an API key and a webhook
    endpoint at the receiver; two lenders in its network, each with a portal user; two
    applications open for offers."""
    session = committed
    scoring_models.register(session, factories.SYSTEM, artifact)
    sdn = (REFERENCE / "ofac" / "sdn.csv").read_text(encoding="latin-1").splitlines()
    lists.import_list(session, factories.SYSTEM, "\n".join(sdn[:200]) + "\n", None)
    client = factories.client(session)
    key = factories.api_key(session, client)
    make_endpoint(session, client, receiver.plan("/hooks"), events=EVENTS)
    lenders = []
    for _ in range(2):
        provider = lender(session, client)
        lenders.append((provider, factories.provider_user(session, provider)))
    now = datetime.now(timezone.utc)
    listings = [open_application(session, client, now=now, name=name).listing_id
                for name in ("Adaeze Okoro", "Bola Ade")]
    session.commit()
    tenant.reset()
    return client, key, lenders, listings


def log_in(base: str, email: str) -> httpx.Client:
    browser = httpx.Client(base_url=base, timeout=30)
    token = _CSRF.search(browser.get("/login").text).group(1)
    done = browser.post("/login", data={"email": email, "password": factories.PASSWORD, "csrf_token": token})
    assert done.status_code == 302 and "/login" not in done.headers["location"], done.text[:500]
    return browser


def bid(browser: httpx.Client, listing_id) -> httpx.Response:
    url = f"/provider/market/{listing_id}"
    token = _CSRF.search(browser.get(url).text).group(1)
    valid_until = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    return browser.post(url, data={"annual_rate": "30", "fee_kind": "percent", "fee": "1", "term_months": "12",
                                   "valid_until": valid_until, "csrf_token": token})


def rows(owner, sql: str, **params) -> list:
    with owner.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_redis_stopped_while_borrowers_apply_and_providers_bid_loses_and_duplicates_nothing(
        app, owner, world, receiver, tmp_path):
    client, key, lenders, listings = world
    redis = RedisServer(tmp_path).start()
    env = app_env(app, REDIS_URL=redis.url, RQ_QUEUE_PREFIX="")
    web = Gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=4).start()
    try:
        api = httpx.Client(base_url=web.url, timeout=30, headers={"Authorization": f"Bearer {key}"})
        browsers = [log_in(web.url, user.email) for _, user in lenders]
        [since] = rows(owner, "SELECT now()")[0]
        assert httpx.get(f"{web.url}/readyz").json()["checks"]["redis"]["ok"]

        redis.stop()
        assert httpx.get(f"{web.url}/readyz").json()["failing"] == ["redis"]
        submitted = []
        for n in range(APPLICATIONS):
            body = factories.application_body(applicant=factories.applicant(email=f"outage-{n}@example.com",
                                                                           legal_name=f"Chidi Obi {n}"))
            response = api.post("/api/v1/applications", json=body, headers={"Idempotency-Key": f"outage-{n}"})
            assert response.status_code == 201, (response.text, web.logs())
            submitted.append(response.json()["id"])
        for browser in browsers:
            for listing_id in listings:
                placed = bid(browser, listing_id)
                assert placed.status_code == 302, (placed.text[:2000], web.logs())
        # A log-in while Redis is down (the throttle falls back to memory) works too.
        log_in(web.url, lenders[0][1].email)

        waiting = rows(owner, "SELECT kind, event_type, func, last_error FROM outbox "
                              "WHERE created_at >= :t AND sent_at IS NULL", t=since)
        assert waiting and all(r.last_error for r in waiting)  # each tried after its commit, and kept
        assert sum(r.func == "caas.credit.jobs.score_application" for r in waiting) == APPLICATIONS
        assert sum(r.event_type == "credit.offer.received" for r in waiting) == len(lenders) * len(listings)
        assert rows(owner, "SELECT count(*) FROM outbox WHERE created_at >= :t AND sent_at IS NOT NULL",
                    t=since) == [(0,)]

        redis.start()  # back, and empty
        assert f"sent {len(waiting)}" in flask(env, "outbox", "relay")
        flask(env, "worker", "--burst", "--no-cron", timeout=240)
        first = outcome(owner, since, submitted, receiver)

        # Again: nothing is left to send, and a second worker finds nothing to do twice.
        assert flask(env, "outbox", "relay").strip() == "sent 0"
        flask(env, "worker", "--burst", "--no-cron", timeout=240)
        assert outcome(owner, since, submitted, receiver) == first
    finally:
        web.stop()
        redis.stop()

    decided, bids, events, delivered = first
    assert sorted(decided) == sorted(submitted)  # every application scored once (checked in outcome)
    assert len(bids) == len(lenders) * len(listings) and set(bids.values()) == {"open"}
    print(f"{APPLICATIONS} applications ({sorted(decided.values())}), {len(bids)} bids and "
          f"{len(events)} events made while Redis was down; {sum(delivered.values())} webhook deliveries")


def outcome(owner, since, submitted: list[str], receiver):
    """What the outage left once processed; asserts that nothing is missing or doubled."""
    decisions = rows(owner, "SELECT a.id, a.status, count(d.id) FROM applications a "
                            "LEFT JOIN credit_decisions d ON d.application_id = a.id "
                            "WHERE a.id = ANY(CAST(:ids AS uuid[])) GROUP BY a.id, a.status", ids=submitted)
    assert len(decisions) == len(submitted)
    assert all(n == 1 for _, _, n in decisions), decisions  # one decision each, never two
    decided = {str(i): status for i, status, _ in decisions}
    assert set(decided.values()) <= {"open_for_offers", "declined", "referred"}, decided
    bids = {str(i): status for i, status in rows(owner, "SELECT id, status FROM bids WHERE created_at >= :t",
                                                  t=since)}
    unsent = rows(owner, "SELECT job_id FROM outbox WHERE created_at >= :t AND sent_at IS NULL", t=since)
    assert unsent == []
    events = {str(i): (kind, ref) for i, kind, ref in rows(owner, """
        SELECT id, event_type, coalesce(payload->>'id', '') FROM outbox
        WHERE created_at >= :t AND kind = 'event' AND event_type = ANY(:types)""", t=since, types=EVENTS)}
    # Each application: one "submitted" and one decision event; each bid one offer event.
    per_application = {}
    for kind, ref in events.values():
        per_application.setdefault(ref, []).append(kind)
    for application_id, status in decided.items():
        expected = ["credit.application.submitted"]
        if status != "referred":
            expected.append("credit.application.approved" if status == "open_for_offers"
                            else "credit.application.declined")
        assert sorted(per_application.get(application_id, [])) == sorted(expected), (application_id, status)
    assert sum(kind == "credit.offer.received" for kind, _ in events.values()) == len(bids)
    # The receiver got each event once (it would deduplicate by id, but nothing was sent twice).
    delivered: dict[str, int] = {}
    for received in receiver.at("/hooks"):
        delivered[received.event["id"]] = delivered.get(received.event["id"], 0) + 1
    ours = {event_id(i) for i in events}
    assert ours <= set(delivered), sorted(ours - set(delivered))
    assert all(delivered[i] == 1 for i in ours), {i: delivered[i] for i in ours if delivered[i] != 1}
    return decided, bids, events, {i: delivered[i] for i in ours}


def event_id(outbox_id: str) -> str:
    return f"evt_{outbox_id.replace('-', '')}"
