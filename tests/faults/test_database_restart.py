"""PostgreSQL restarted under load: gunicorn (as deployed) serves pages and API calls against a
PostgreSQL cluster of the test's own, which is stopped and started again while clients keep
calling. During the outage every request answers 503 with the app's own error (the error page, or
the API's JSON error), never a 500 and never a hang; once PostgreSQL is back the same gunicorn
processes (never restarted) serve again on the same log-ins, because the pool checks a connection
before lending it (``pool_pre_ping``) and drops the dead ones. A write refused during the outage is
made once on its retry.
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from caas.demo import PASSWORD
from tests import factories
from tests.faults.processes import Gunicorn, PostgresCluster, RedisServer, app_env, flask
from tests.worker_procs import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
DOWN_MESSAGE = "We cannot reach our database right now."
CLIENT_TIMEOUT = 20.0  # longer than any honest answer here; a request that takes it has hung


@pytest.fixture
def stack(app, tmp_path):
    """Its own PostgreSQL (migrated, demo data, an API key) and Redis, and gunicorn on them."""
    cluster = PostgresCluster().init()
    cluster.start()
    redis = RedisServer(tmp_path).start()
    env = app_env(app, DATABASE_URL=cluster.url, REDIS_URL=redis.url, RQ_QUEUE_PREFIX="",
                  DB_POOL_SIZE="4", DB_MAX_OVERFLOW="2", DB_POOL_TIMEOUT="5")
    web = None
    try:
        flask(env, "setup-db", timeout=240)
        flask(env, "demo", "seed")
        key = json.loads(flask(env, "apikeys", "create", "--client", "demo", "--name", "faults",
                               "--scopes", "applications:read,applications:write", "--json"))["secret"]
        web = Gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=4).start()
        yield cluster, web, key
    finally:
        if web is not None:
            web.stop()
        cluster.remove()
        redis.stop()


def log_in(base: str, path: str, email: str) -> httpx.Client:
    browser = httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT)
    page = browser.get(path)
    token = _CSRF.search(page.text).group(1)
    done = browser.post(path, data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert done.status_code == 302, done.text[:500]
    return browser


class Load:
    """Threads that each call one URL in a loop and record (phase, status, kind of body)."""

    def __init__(self, calls: dict[str, callable]):
        self.calls = calls
        self.phase = "before"
        self.results: list[tuple[str, str, int | str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(name,), daemon=True) for name in calls]

    def _loop(self, name: str) -> None:
        while not self._stop.is_set():
            started = self.phase
            try:
                response = self.calls[name]()
                status, kind = response.status_code, describe(response)
            except httpx.TimeoutException:
                status, kind = "hung", ""
            except httpx.HTTPError as exc:
                status, kind = type(exc).__name__, ""
            # A request that spans a change (in flight when PostgreSQL stopped or came back) counts
            # as "changing": it may have been answered either way.
            phase = started if self.phase == started else "changing"
            with self._lock:
                self.results.append((phase, name, status, kind))

    def start(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(CLIENT_TIMEOUT + 5)

    def burst(self, rounds: int) -> set:
        """Every call ``rounds`` times, all calls at once in each round; the answers seen."""
        out: set = set()

        def one(name: str) -> None:
            response = self.calls[name]()
            with self._lock:
                out.add((response.status_code, describe(response)))
        for _ in range(rounds):
            threads = [threading.Thread(target=one, args=(name,)) for name in self.calls for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(CLIENT_TIMEOUT + 5)
        return out

    def seen(self, phase: str, name: str, status: int) -> bool:
        with self._lock:
            return any(r[:3] == (phase, name, status) for r in self.results)

    def statuses(self) -> dict[tuple[str, str], set]:
        with self._lock:
            out: dict[tuple[str, str], set] = {}
            for phase, name, status, kind in self.results:
                out.setdefault((phase, name), set()).add((status, kind))
            return out


def describe(response: httpx.Response) -> str:
    """What kind of answer it is: the app's 503 JSON error, its 503 error page, or something else."""
    if response.status_code != 503:
        return ""
    if response.headers.get("content-type", "").startswith("application/json"):
        error = response.json().get("error", {})
        return f"json:{error.get('code')}" if "database" in error.get("message", "") else "json:other"
    return "page" if DOWN_MESSAGE in response.text else "other"


def test_postgresql_restarted_under_load_answers_503_then_recovers_without_restarting_the_app(stack):
    cluster, web, key = stack
    api = httpx.Client(base_url=web.url, timeout=CLIENT_TIMEOUT, headers={"Authorization": f"Bearer {key}"})
    borrower = log_in(web.url, "/c/demo/login", "ada@borrower.example.com")
    lender = log_in(web.url, "/login", "lender@acmecapital.example.com")
    anonymous = httpx.Client(base_url=web.url, timeout=CLIENT_TIMEOUT)
    calls = {
        "api list": lambda: api.get("/api/v1/applications"),
        "borrower home": lambda: borrower.get("/c/demo/"),
        "provider market": lambda: lender.get("/provider/market"),
        "provider market (htmx)": lambda: lender.get("/provider/market", headers={"HX-Request": "true"}),
        "readyz": lambda: anonymous.get("/readyz"),
    }
    for name, call in calls.items():
        assert call().status_code == 200, name
    workers_before = gunicorn_workers(web)

    load = Load(calls).start()
    try:
        wait_for(lambda: all(load.seen("before", name, 200) for name in calls), 60, "load before the outage")
        load.phase = "stopping"
        cluster.stop("fast")  # open sessions are terminated, in-flight transactions rolled back
        load.phase = "down"
        wait_for(lambda: all(load.seen("down", name, 503) for name in calls), 60, "503s during the outage")

        # A write during the outage is refused with 503 and made, once, when retried afterwards.
        body = factories.application_body(applicant=factories.applicant(email="outage@borrower.example.com"))
        refused = api.post("/api/v1/applications", json=body, headers={"Idempotency-Key": "outage-1"})
        assert refused.status_code == 503 and describe(refused) == "json:service_unavailable", refused.text

        load.phase = "starting"
        cluster.start()
        load.phase = "after"
        wait_for(lambda: all(load.seen("after", name, 200) for name in calls), 60, "recovery after the restart")
    finally:
        load.stop()

    made = api.post("/api/v1/applications", json=body, headers={"Idempotency-Key": "outage-1"})
    again = api.post("/api/v1/applications", json=body, headers={"Idempotency-Key": "outage-1"})
    assert made.status_code == 201 and again.status_code == 201, made.text
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["id"] == made.json()["id"]

    seen = load.statuses()
    print({f"{phase} {name}": sorted(map(str, s)) for (phase, name), s in sorted(seen.items())})
    for (phase, name), answers in seen.items():
        unavailable = {"api list": "json:service_unavailable", "readyz": "json:other"}.get(name, "page")
        # Before the stop and after the start every answer is a 200 (after the restart no request
        # is given a dead pooled connection: pre-ping replaces them); while it is down, a 503.
        allowed = {"before": {(200, "")}, "after": {(200, "")}, "down": {(503, unavailable)}}.get(
            phase, {(200, ""), (503, unavailable)})
        assert answers <= allowed, (phase, name, answers - allowed, web.logs())

    # A quiet restart: nobody calls while PostgreSQL is down, so the pools still hold connections
    # that died with it. Pre-ping finds and replaces them: not even the first request fails.
    cluster.stop("fast")
    cluster.start()
    answers = Load(calls).burst(rounds=6)
    assert answers == {(200, "")}, (answers, web.logs())

    # The same log-ins and the same gunicorn workers: nothing was restarted.
    assert web.proc.poll() is None and gunicorn_workers(web) == workers_before
    engine = create_engine(cluster.url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM applications WHERE id = :i"),
                             {"i": uuid.UUID(made.json()["id"])}).scalar()
    engine.dispose()
    assert count == 1


def gunicorn_workers(web: Gunicorn) -> set[int]:
    children = Path(f"/proc/{web.proc.pid}/task/{web.proc.pid}/children").read_text().split()
    return {int(pid) for pid in children}
