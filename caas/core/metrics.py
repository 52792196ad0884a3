"""Prometheus metrics, served by /metrics.

Three sources:
- In this web process: request latency (a prometheus_client Histogram).
- From the workers, which are other processes, often on other machines: job durations and webhook
  delivery outcomes. prometheus_client's multiprocess mode needs a directory shared by every
  process on one host, which workers on other machines do not have; so the workers add to a few
  Redis hashes (one HINCRBY per bucket, counts and sums) and whichever web process is scraped reads
  them back. Every web process reports the same totals: scrape one target per environment, or
  aggregate with ``max`` (see docs/operations.md).
- At scrape time: queue depths and registry sizes (Redis), the outbox lag, and the business gauges
  (applications by status, active providers, disbursed amounts, revenue), read with cheap aggregate
  SQL across tenants in a read-only transaction and cached ``CACHE_SECONDS`` per process.
"""
from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from typing import Any, Iterable

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from caas.core import jobs

log = logging.getLogger(__name__)

CACHE_SECONDS = 15.0
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
WEBHOOK_OUTCOMES = ("succeeded", "retrying", "failed")

registry = CollectorRegistry(auto_describe=True)
REQUEST_LATENCY = Histogram(
    "caas_http_request_duration_seconds", "HTTP request latency", ["method", "endpoint", "status"],
    registry=registry,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _key(name: str) -> str:
    return f"{jobs.settings.prefix}caas:metrics:{name}"


# --- Pure helpers -----------------------------------------------------------------------------------

def bucket_label(seconds: float, buckets: tuple[float, ...] = JOB_BUCKETS) -> str:
    """The one bucket a duration falls in (the smallest upper bound ≥ it), as its ``le`` label."""
    index = bisect.bisect_left(buckets, seconds)
    return "+Inf" if index == len(buckets) else _le(buckets[index])


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def cumulative(counts: dict[str, float], buckets: tuple[float, ...] = JOB_BUCKETS) -> list[tuple[str, float]]:
    """Per-bucket counts (as stored) → Prometheus's cumulative ``(le, count)`` pairs, ending at +Inf."""
    total = 0.0
    pairs = []
    for bound in (*buckets, math.inf):
        total += counts.get(_le(bound), 0.0)
        pairs.append((_le(bound), total))
    return pairs


def job_outcome(status: str | None) -> str:
    """What became of one run, from the job's status right after it: ``succeeded``, ``failed``
    (retries used up), ``retried`` (failed, another try is scheduled or queued) or ``stopped``."""
    return {"finished": "succeeded", "failed": "failed", "scheduled": "retried", "queued": "retried",
            "stopped": "stopped", "canceled": "stopped"}.get(status or "", "other")


# --- Written by workers -----------------------------------------------------------------------------

def record_job(queue: str, status: str | None, seconds: float) -> None:
    """One job run (called by the worker after each job). Never raises: metrics must not fail a job."""
    label = f"{queue}|{job_outcome(status)}"
    try:
        pipe = jobs.connection().pipeline()
        pipe.hincrby(_key("job_seconds"), f"{label}|{bucket_label(seconds)}", 1)
        pipe.hincrby(_key("job_seconds"), f"{label}|count", 1)
        pipe.hincrbyfloat(_key("job_seconds"), f"{label}|sum", seconds)
        pipe.execute()
    except Exception:
        log.warning("could not record job metrics", exc_info=True)


def record_webhook(outcome: str) -> None:
    """One webhook delivery attempt: ``succeeded``, ``retrying`` (failed, another try scheduled) or
    ``failed`` (failed for good). Never raises."""
    try:
        jobs.connection().hincrby(_key("webhooks"), outcome, 1)
    except Exception:
        log.warning("could not record webhook metrics", exc_info=True)


# --- Read at scrape time ----------------------------------------------------------------------------

def _decode(raw: dict) -> dict[str, float]:
    return {k.decode(): float(v) for k, v in raw.items()}


def job_histograms(raw: dict[str, float]) -> dict[tuple[str, str], dict[str, Any]]:
    """The stored hash → {(queue, outcome): {"buckets": [(le, cumulative)], "sum": s}} (pure)."""
    grouped: dict[tuple[str, str], dict[str, float]] = {}
    for field, value in raw.items():
        queue, outcome, part = field.split("|")
        grouped.setdefault((queue, outcome), {})[part] = value
    return {labels: {"buckets": cumulative(parts), "sum": parts.get("sum", 0.0)}
            for labels, parts in grouped.items()}


class _Cache:
    """Business figures, kept ``CACHE_SECONDS`` so scrapes (and several Prometheus servers) stay cheap."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: dict[str, Any] | None = None
        self.expires = 0.0

    def get(self, load) -> dict[str, Any]:  # noqa: ANN001
        with self.lock:
            if self.value is None or time.monotonic() >= self.expires:
                self.value = load()
                self.expires = time.monotonic() + CACHE_SECONDS
            return self.value

    def clear(self) -> None:
        with self.lock:
            self.value, self.expires = None, 0.0


business_cache = _Cache()

_FIGURES_SQL = {
    "applications": "SELECT status::text, count(*) FROM applications GROUP BY 1",
    "providers_active": "SELECT 'all', count(*) FROM providers WHERE status = 'active'",
    "disbursed": "SELECT currency, sum(amount_minor) FROM payouts WHERE status = 'succeeded' GROUP BY 1",
    "revenue": "SELECT currency, sum(subtotal_minor) FROM invoices WHERE status IN ('issued', 'paid') GROUP BY 1",
}


def business_figures() -> dict[str, Any]:
    """Aggregates across every tenant, one read-only transaction (see ``backlog.aggregate_read``)."""
    from sqlalchemy import text

    from caas.core.extensions import db
    from caas.events import backlog

    figures: dict[str, Any] = {}
    with backlog.aggregate_read(db.session) as session:
        for name, sql in _FIGURES_SQL.items():
            figures[name] = {label: int(value) for label, value in session.execute(text(sql)).all()}
        found = backlog.backlog(session)
    figures["outbox"] = {"unsent": found.unsent, "lag_seconds": found.lag_seconds()}
    return figures


class _Collector:
    def describe(self) -> list:
        return []  # the registry would otherwise call collect() on registration: no I/O at import


class RedisCollector(_Collector):
    """Queue sizes, worker heartbeats, and what the workers wrote: job durations, webhook outcomes."""

    def collect(self) -> Iterable:
        from caas.core import jobs_console

        families = []
        try:
            counts = jobs_console.queue_counts()
            depth = GaugeMetricFamily("caas_queue_depth", "Jobs waiting in each queue", labels=["queue"])
            registries = GaugeMetricFamily("caas_queue_jobs", "Jobs in each queue's RQ registries",
                                           labels=["queue", "registry"])
            for c in counts:
                depth.add_metric([c.name], c.queued)
                for registry in ("started", "scheduled", "failed", "finished"):
                    registries.add_metric([c.name, registry], getattr(c, registry))
            count, age = jobs_console.latest_heartbeat()
            workers = GaugeMetricFamily("caas_workers", "Workers registered in Redis", value=count)
            heartbeat = GaugeMetricFamily("caas_worker_heartbeat_age_seconds",
                                          "Age of the freshest worker heartbeat (absent with no worker)")
            if age is not None:
                heartbeat.add_metric([], age)
            conn = jobs.connection()
            durations = HistogramMetricFamily("caas_job_duration_seconds", "Job run time by queue and outcome",
                                              labels=["queue", "outcome"])
            for (queue, outcome), h in sorted(job_histograms(_decode(conn.hgetall(_key("job_seconds")))).items()):
                durations.add_metric([queue, outcome], h["buckets"], h["sum"])
            webhooks = CounterMetricFamily("caas_webhook_deliveries", "Webhook delivery attempts by outcome",
                                           labels=["outcome"])
            stored = _decode(conn.hgetall(_key("webhooks")))
            for outcome in sorted({*WEBHOOK_OUTCOMES, *stored}):
                webhooks.add_metric([outcome], stored.get(outcome, 0.0))
            families = [depth, registries, workers, heartbeat, durations, webhooks]
        except Exception:
            log.warning("queue metrics unavailable", exc_info=True)
        yield from families


class BusinessCollector(_Collector):
    """Gauges computed from the database at scrape time (cached)."""

    def collect(self) -> Iterable:
        try:
            figures = business_cache.get(business_figures)
        except Exception:
            log.warning("business metrics unavailable", exc_info=True)
            return
        applications = GaugeMetricFamily("caas_applications_total", "Applications by status, all tenants",
                                         labels=["status"])
        for status, count in sorted(figures["applications"].items()):
            applications.add_metric([status], count)
        yield applications
        yield GaugeMetricFamily("caas_providers_active", "Active providers",
                                value=figures["providers_active"].get("all", 0))
        disbursed = GaugeMetricFamily("caas_disbursements_amount",
                                      "Paid-out loan amounts (succeeded payouts), in minor units of the currency",
                                      labels=["currency"])
        for currency, amount in sorted(figures["disbursed"].items()):
            disbursed.add_metric([currency], amount)
        yield disbursed
        revenue = GaugeMetricFamily("caas_platform_revenue",
                                    "Invoiced revenue (issued or paid invoices, before tax), in minor units",
                                    labels=["currency"])
        for currency, amount in sorted(figures["revenue"].items()):
            revenue.add_metric([currency], amount)
        yield revenue
        yield GaugeMetricFamily("caas_outbox_lag_seconds", "Age of the oldest outbox row not yet sent to Redis",
                                value=figures["outbox"]["lag_seconds"])
        yield GaugeMetricFamily("caas_outbox_unsent", "Outbox rows not yet sent to Redis",
                                value=figures["outbox"]["unsent"])


registry.register(RedisCollector())
registry.register(BusinessCollector())


def render() -> bytes:
    return generate_latest(registry)
