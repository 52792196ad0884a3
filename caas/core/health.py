"""Readiness: one check per dependency, and the rule that turns them into 200 or 503.

- ``database`` and ``redis`` are hard: without either the web process cannot serve (pages need the
  database; every write that queues a job, the rate limiter and the console need Redis), so either
  failing makes /readyz answer 503 and the load balancer stops sending traffic.
- ``worker`` (the freshest worker heartbeat) and ``outbox`` (age of the oldest unsent row) are
  reported, never fatal: a web process with no worker behind it still serves every page, and the
  outbox keeps the jobs until a worker or the relay comes. Taking web pods out of rotation because
  workers are down (or during a fresh deploy, before the first worker starts) would turn a delay
  into an outage. They set ``"degraded"``; alert on them from the metrics instead.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

HARD = ("database", "redis")


@dataclass
class Check:
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, **self.detail}
        if self.error:
            body["error"] = self.error
        return body


def verdict(checks: dict[str, Check]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of /readyz from the checks (pure)."""
    failing = [name for name in HARD if name in checks and not checks[name].ok]
    degraded = [name for name, check in checks.items() if name not in HARD and not check.ok]
    body: dict[str, Any] = {
        "status": "unavailable" if failing else ("degraded" if degraded else "ready"),
        "failing": failing,
        "degraded": degraded,
        "checks": {name: check.as_json() for name, check in checks.items()},
    }
    return (503 if failing else 200), body


def worker_check(count: int, heartbeat_age: float | None, stale_after: float) -> Check:
    """Pure: no worker, or none that beat within ``stale_after`` seconds, is not ok."""
    detail = {"workers": count, "last_heartbeat_age_seconds": _round(heartbeat_age),
              "stale_after_seconds": stale_after}
    if count == 0:
        return Check(False, detail, "no worker is registered")
    if heartbeat_age is None or heartbeat_age > stale_after:
        return Check(False, detail, "the freshest worker heartbeat is stale")
    return Check(True, detail)


def outbox_check(unsent: int, lag_seconds: float, max_lag: float) -> Check:
    """Pure: rows waiting longer than ``max_lag`` seconds mean the relay is not keeping up."""
    detail = {"unsent": unsent, "oldest_age_seconds": _round(lag_seconds), "max_lag_seconds": max_lag}
    if lag_seconds > max_lag:
        return Check(False, detail, "outbox rows wait longer than the limit")
    return Check(True, detail)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def probe(call: Callable[[], Check]) -> Check:
    """Run one check; any exception is that dependency failing, named by its type only."""
    started = time.perf_counter()
    try:
        check = call()
    except Exception as exc:
        check = Check(False, error=type(exc).__name__)
    check.detail.setdefault("took_ms", round((time.perf_counter() - started) * 1000, 1))
    return check


def run(session, *, stale_after: float, max_lag: float) -> tuple[int, dict[str, Any]]:
    """Probe the database, Redis, the workers and the outbox; what /readyz answers."""
    from sqlalchemy import text

    from caas.core import jobs, jobs_console
    from caas.events import backlog

    def database() -> Check:
        try:
            session.execute(text("SELECT 1"))
        finally:
            session.rollback()
        return Check(True)

    def redis() -> Check:
        jobs.connection().ping()
        return Check(True)

    def worker() -> Check:
        return worker_check(*jobs_console.latest_heartbeat(), stale_after)

    def outbox() -> Check:
        with backlog.aggregate_read(session):
            found = backlog.backlog(session)
        return outbox_check(found.unsent, found.lag_seconds(), max_lag)

    checks = {"database": probe(database), "redis": probe(redis)}
    checks["worker"] = probe(worker) if checks["redis"].ok else Check(False, error="redis is down")
    checks["outbox"] = probe(outbox) if checks["database"].ok else Check(False, error="database is down")
    return verdict(checks)
