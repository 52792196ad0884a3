"""Prometheus metrics.

Request latency is observed in the web process. Job counts and durations are written to Redis by
the workers (they are other processes) and read back, with queue depths, when /metrics is scraped.
"""
from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from caas.core import jobs

log = logging.getLogger(__name__)
_JOB_STATS = "caas:metrics:jobs"

registry = CollectorRegistry(auto_describe=True)
REQUEST_LATENCY = Histogram(
    "caas_http_request_duration_seconds", "HTTP request latency", ["method", "endpoint", "status"],
    registry=registry,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def record_job(queue: str, status: str, seconds: float) -> None:
    try:
        pipe = jobs.connection().pipeline()
        pipe.hincrby(_JOB_STATS, f"{queue}|{status}|count", 1)
        pipe.hincrbyfloat(_JOB_STATS, f"{queue}|{status}|seconds", seconds)
        pipe.execute()
    except Exception:
        log.warning("could not record job metrics", exc_info=True)


class QueueCollector:
    def collect(self):
        depth = GaugeMetricFamily("caas_queue_depth", "Jobs waiting per queue", labels=["queue"])
        count = CounterMetricFamily("caas_jobs", "Jobs run, by queue and final status", labels=["queue", "status"])
        seconds = CounterMetricFamily("caas_job_duration_seconds", "Total job run time", labels=["queue", "status"])
        try:
            conn = jobs.connection()
            for name in jobs.QUEUES:
                depth.add_metric([name], jobs.queue(name).count)
            for key, value in conn.hgetall(_JOB_STATS).items():
                queue, status, kind = key.decode().split("|")
                (count if kind == "count" else seconds).add_metric([queue, status], float(value))
        except Exception:
            log.warning("queue metrics unavailable", exc_info=True)
        yield from (depth, count, seconds)


registry.register(QueueCollector())


def render() -> bytes:
    return generate_latest(registry)
