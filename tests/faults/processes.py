"""Real processes for fault tests: a throwaway Redis, a throwaway PostgreSQL cluster, the web app
under gunicorn and `flask` commands (worker, outbox relay, set-up), each started from this test
process with the environment a deployment would give it.

The shared PostgreSQL (:5432) and Redis (:6379) are never stopped: other test runs use them. The
servers here are started on free ports in a temporary directory, stopped and started again by the
test, and removed afterwards.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.worker_procs import process_env, wait_for

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class RedisServer:
    """``redis-server`` on a free port without persistence: a restart comes back empty, as a Redis
    that lost its memory does (the outbox must re-send what it held)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: _answers(self.port), 10, f"redis-server on :{self.port}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # as a crashed or partitioned Redis: no goodbye to its clients
            self.proc.wait(10)
            self.proc = None


class PostgresCluster:
    """A PostgreSQL 15 cluster of its own (initdb in a temporary directory, trust auth, a free
    port). As root, initdb and pg_ctl run as the ``postgres`` system user, since PostgreSQL refuses
    to run as root."""

    def __init__(self):
        # Not under pytest's tmp_path: that is private to root, and the postgres user must reach it.
        self.directory = Path(tempfile.mkdtemp(prefix="caas-faults-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.directory, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/caas_faults"

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True)
        assert done.returncode == 0, f"{args[0]} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"

    def init(self) -> "PostgresCluster":
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        return self

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"),
                  "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: open sessions are ended and in-flight transactions rolled back, as in a restart
        or a failover; ``immediate``: as a crash."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def app_env(app, **overrides: str) -> dict[str, str]:
    """A web or worker process's environment (tests.worker_procs.process_env) without the in-process
    gateway settings, plus ``overrides`` (another REDIS_URL or DATABASE_URL)."""
    return process_env(app, drop=("PAYMENT_GATEWAYS", "PAYMENT_ROUTES"), **overrides)


def flask(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run one ``flask`` command to completion; its output, or an AssertionError with it."""
    done = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"flask {' '.join(args)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


class Gunicorn:
    """The web app as deployed: gunicorn with deploy/gunicorn.conf.py (gthread), on a free port."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 1, threads: int = 4):
        self.port = free_port()
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers),
                    "GUNICORN_THREADS": str(threads), "GUNICORN_MAX_REQUESTS": "0", "LOG_LEVEL": "warning"}
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Gunicorn":
        out = open(self.log, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
                                      "app:create_app()"], cwd=ROOT, env=self.env, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        out.close()

        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(up, 60, "gunicorn to answer /healthz", step=0.2)
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self.proc = None

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-5000:] if self.log.exists() else ""
