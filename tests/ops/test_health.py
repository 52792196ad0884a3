"""/readyz: a section per dependency. The database and Redis make it 503; a missing or stale worker
and a lagging outbox are reported as degraded and leave the web process ready."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from caas.core import health, jobs, tenant
from caas.events import outbox
from tests import factories
from tests.helpers import get


# --- The rule (pure) ---------------------------------------------------------------------------------

def test_every_check_ok_is_ready():
    status, body = health.verdict({name: health.Check(True) for name in ("database", "redis", "worker", "outbox")})
    assert (status, body["status"], body["failing"], body["degraded"]) == (200, "ready", [], [])


def test_a_hard_dependency_down_is_503_naming_it():
    checks = {"database": health.Check(True), "redis": health.Check(False, error="ConnectionError"),
              "worker": health.Check(False), "outbox": health.Check(True)}
    status, body = health.verdict(checks)
    assert (status, body["status"], body["failing"], body["degraded"]) == (503, "unavailable", ["redis"], ["worker"])
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}


def test_soft_checks_degrade_but_stay_ready():
    checks = {"database": health.Check(True), "redis": health.Check(True),
              "worker": health.worker_check(0, None, 600), "outbox": health.outbox_check(3, 301.0, 300)}
    status, body = health.verdict(checks)
    assert (status, body["status"], body["degraded"]) == (200, "degraded", ["worker", "outbox"])
    assert body["checks"]["outbox"] == {"ok": False, "unsent": 3, "oldest_age_seconds": 301.0, "max_lag_seconds": 300,
                                        "error": "outbox rows wait longer than the limit"}


def test_worker_heartbeat_limits():
    assert health.worker_check(2, 599.9, 600).ok
    assert not health.worker_check(2, 600.1, 600).ok
    assert health.worker_check(0, None, 600).error == "no worker is registered"
    assert health.outbox_check(5, 300.0, 300).ok and health.outbox_check(0, 0.0, 300).ok


# --- The endpoint ------------------------------------------------------------------------------------

def test_readyz_with_a_live_worker_and_an_empty_outbox_is_ready(client, registered_worker):
    response = get(client, "/readyz")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "ready", body
    assert body["checks"]["worker"]["workers"] == 1 and body["checks"]["worker"]["last_heartbeat_age_seconds"] < 5
    assert body["checks"]["outbox"]["unsent"] == 0 and body["checks"]["database"]["ok"]


def test_readyz_without_a_worker_is_degraded_not_unready(client, db):
    response = get(client, "/readyz")
    body = response.get_json()
    assert response.status_code == 200 and body["degraded"] == ["worker"] and body["failing"] == []
    assert body["checks"]["worker"] == {"ok": False, "workers": 0, "last_heartbeat_age_seconds": None,
                                        "stale_after_seconds": 600, "error": "no worker is registered",
                                        "took_ms": body["checks"]["worker"]["took_ms"]}


def test_readyz_reports_the_outbox_lag_across_tenants(client, db, registered_worker):
    for _ in range(2):
        c = factories.client(db)
        with tenant.tenant_scope(c.id, db):
            row = outbox.enqueue_job(db, "tests.ops.jobs_for_tests.flaky", client_id=c.id)
            row.created_at = datetime.now(timezone.utc) - timedelta(minutes=10)
            db.flush()
    db.info.pop("caas_outbox_pending", None)  # never sent: the relay is behind
    db.commit()
    body = get(client, "/readyz").get_json()
    assert body["status"] == "degraded" and body["degraded"] == ["outbox"]
    assert body["checks"]["outbox"]["unsent"] == 2 and 600 <= body["checks"]["outbox"]["oldest_age_seconds"] < 700


def test_readyz_names_redis_when_it_is_down(client, db):
    real = jobs.settings.redis_url
    jobs.settings.redis_url = "redis://127.0.0.1:1/0"
    try:
        response = get(client, "/readyz")
    finally:
        jobs.settings.redis_url = real
    body = response.get_json()
    assert response.status_code == 503 and body["failing"] == ["redis"]
    assert body["checks"]["redis"]["error"] == "ConnectionError"
    assert body["checks"]["worker"] == {"ok": False, "error": "redis is down"}
    assert body["checks"]["database"]["ok"] and body["checks"]["outbox"]["ok"]
