"""The RQ worker: non-forking, runs each job inside the app context with the job's tenant set, and
cleans the database session up after every job. A small cron thread enqueues periodic jobs."""
from __future__ import annotations

import logging
import threading
import time
import uuid

from rq import SimpleWorker
from rq.cron import CronScheduler

from caas.core import jobs, jobs_console, logs, metrics, tenant
from caas.core.extensions import db

log = logging.getLogger(__name__)

# (dotted function, queue, interval seconds). Later issues add daily servicing and billing.
PERIODIC = [
    ("caas.events.jobs.relay_outbox", "default", "OUTBOX_RELAY_INTERVAL"),
    ("caas.events.jobs.requeue_stalled", "events", "WEBHOOK_REQUEUE_INTERVAL"),
    ("caas.market.jobs.sweep_deadlines", "default", "MARKET_SWEEP_INTERVAL"),
    ("caas.payments.jobs.reconcile_payouts", "payouts", "PAYOUT_RECONCILE_INTERVAL"),
    ("caas.loans.jobs.service_today", "default", "SERVICING_INTERVAL"),
    ("caas.billing.jobs.schedule_monthly", "default", "BILLING_SCHEDULE_INTERVAL"),
]


class AppWorker(SimpleWorker):
    """SimpleWorker (no fork) that wraps every job in the Flask app context."""

    flask_app = None

    def execute_job(self, job, queue):  # noqa: ANN001
        started = time.monotonic()
        client_id = (job.meta or {}).get("client_id")
        with self.flask_app.app_context():
            token = tenant.set_tenant(uuid.UUID(client_id) if client_id else None)
            logs.job_id_var.set(job.id)
            try:
                return super().execute_job(job, queue)
            finally:
                db.session.remove()
                tenant.reset(token)
                logs.job_id_var.set(None)
                status = job.get_status(refresh=True)
                metrics.record_job(jobs_console.short_name(queue.name), status.value if status else None,
                                   time.monotonic() - started)


def _cron_loop(scheduler: CronScheduler, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            if scheduler.enqueue_jobs():
                scheduler.save()
            scheduler.heartbeat()
        except Exception:
            log.exception("cron tick failed")
        stop.wait(max(1.0, min(scheduler.calculate_sleep_interval(), 30)))


def run(app, queues: list[str] | None = None, *, burst: bool = False, with_cron: bool = True) -> None:
    names = [jobs.queue_name(q) for q in (queues or list(jobs.QUEUES))]
    AppWorker.flask_app = app
    # An idle worker beats every worker_ttl - 15 s; 60 keeps /readyz's "latest heartbeat" meaningful.
    worker = AppWorker(names, connection=jobs.connection(), worker_ttl=int(app.config.get("WORKER_TTL", 60)))
    stop = threading.Event()
    if with_cron and not burst:
        scheduler = CronScheduler(connection=jobs.connection(), name=f"caas-cron-{uuid.uuid4().hex[:6]}")
        for func, queue, interval_key in PERIODIC:
            scheduler.register(_resolve(func), jobs.queue_name(queue), interval=int(app.config[interval_key]),
                               job_timeout=120)
        scheduler.register_birth()
        threading.Thread(target=_cron_loop, args=(scheduler, stop), daemon=True, name="cron").start()
    try:
        worker.work(burst=burst, with_scheduler=not burst, logging_level=app.config.get("LOG_LEVEL", "INFO"))
    finally:
        stop.set()


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)
