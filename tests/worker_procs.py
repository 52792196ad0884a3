"""Real `flask worker` subprocesses for fault tests: the production worker against the test database
and Redis, started in its own process group so a SIGKILL takes it whole (RQ forks its scheduler
from the worker holding the scheduler lock), and RQ's abandoned-job recovery fast-forwarded."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rq import Queue, Worker
from rq.registry import StartedJobRegistry

from caas.core import jobs

ROOT = Path(__file__).resolve().parents[1]


def process_env(app, *, drop: tuple[str, ...] = (), **overrides: str) -> dict[str, str]:
    """The environment of a web or worker process of the app under test: its database and Redis,
    the test configuration, without ``drop``, with ``overrides`` (another REDIS_URL, gateways...)."""
    cfg = app.config
    env = {k: v for k, v in os.environ.items() if k not in ("APP_DATABASE_URL", *drop)}
    env.update(
        CAAS_ENV="testing", FLASK_APP="app.py", PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING",
        DATABASE_URL=cfg["DATABASE_URL"], REDIS_URL=cfg["REDIS_URL"], RQ_QUEUE_PREFIX=cfg["RQ_QUEUE_PREFIX"],
        DB_APP_ROLE=cfg["DB_APP_ROLE"], DB_APP_PASSWORD=cfg["DB_APP_PASSWORD"],
        MAIL_DIR=cfg["MAIL_DIR"], UPLOAD_DIR=cfg["UPLOAD_DIR"], RATELIMIT_KEY_PREFIX=cfg["RATELIMIT_KEY_PREFIX"],
        # The tests speak plain http on loopback, where a client keeps no Secure cookie.
        SESSION_COOKIE_SECURE="false")
    env.update(overrides)
    return env


class WorkerProcesses:
    """`flask worker -q <queues> --no-cron` subprocesses configured like the app under test;
    ``extra_env`` adds what the workers need beyond it (gateways, timeouts)."""

    def __init__(self, app, log_dir: Path, queues: tuple[str, ...], extra_env: dict[str, str] | None = None,
                 drop_env: tuple[str, ...] = ()):
        self.env = process_env(app, drop=drop_env, **(extra_env or {}))
        self.queues = queues
        self.log_dir = log_dir
        self.live: list[subprocess.Popen] = []
        self.started = 0
        self.killed = 0

    def start(self, *, burst: bool = False, wait: bool = True) -> subprocess.Popen:
        self.started += 1
        log = open(self.log_dir / f"worker-{self.started}.log", "wb")
        command = [sys.executable, "-m", "flask", "worker", *[a for q in self.queues for a in ("-q", q)],
                   "--no-cron", *(["--burst"] if burst else [])]
        proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.live.append(proc)
        if wait and not burst:
            self.wait_registered(proc)
        return proc

    def wait_registered(self, proc: subprocess.Popen, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited with {proc.returncode}:\n{self.logs()}")
            if any(w.pid == proc.pid for w in Worker.all(connection=jobs.connection())):
                return
            time.sleep(0.05)
        raise AssertionError(f"worker {proc.pid} did not register:\n{self.logs()}")

    def kill(self, proc: subprocess.Popen) -> None:
        signal_group(proc, signal.SIGKILL)
        proc.wait(10)
        self.live.remove(proc)
        self.killed += 1

    def stop_all(self) -> None:
        for proc in self.live:
            proc.send_signal(signal.SIGTERM)  # warm shutdown: the current job finishes
        for proc in self.live:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
            signal_group(proc, signal.SIGKILL)  # what is left of it, its scheduler included
            proc.wait(10)
        self.live.clear()

    def burst(self, timeout: float = 60) -> None:
        proc = self.start(burst=True)
        try:
            proc.wait(timeout)
        finally:
            self.live.remove(proc)
        assert proc.returncode == 0, self.logs()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.log_dir.glob("worker-*.log")))


def wait_for(predicate, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def retry_abandoned_jobs(q: Queue) -> int:
    """What RQ does on its own once the job timeout of a dead worker's job has passed (a worker's
    maintenance every 10 minutes), fast-forwarded: with no worker alive, every job still marked
    started was abandoned; RQ retries it (scheduled after the job's retry interval), and here the
    retries are moved to the queue at once. Jobs a worker had dequeued but not yet registered as
    started (RQ's intermediate list) are put back too."""
    assert not [w for w in Worker.all(queue=q) if w.pid and alive(w.pid)], "workers still running"
    started = set(StartedJobRegistry(queue=q).get_job_ids())
    StartedJobRegistry(queue=q).cleanup(timestamp=time.time() + 24 * 3600)
    moved = 0
    for job_id in q.scheduled_job_registry.get_job_ids():
        q.scheduled_job_registry.requeue(job_id)
        moved += 1
    for job_id in q.intermediate_queue.get_job_ids():
        q.intermediate_queue.remove(job_id)
        if job_id not in started and (job := q.fetch_job(job_id)) is not None:
            q.enqueue_job(job)
            moved += 1
    return moved


def state_of(proc: subprocess.Popen) -> str | None:
    for worker in Worker.all(connection=jobs.connection()):
        if worker.pid == proc.pid:
            return worker.get_state()
    return None


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
