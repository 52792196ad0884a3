"""Shared HTTP benchmark helpers: services and database for a bench run, gunicorn (2 workers) on
loopback, and a closed-loop load driver (keep-alive clients in threads) reporting p50, p95 and
requests per second."""
from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import services  # noqa: E402

BIN = Path(sys.executable).parent

# (method, path, body, headers) for one request; called with the client's index and its request number.
RequestFactory = Callable[[int, int], tuple[str, str, bytes | None, dict[str, str]]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(database: str = "caas_bench", redis_db: int = 0, **extra_env: str) -> tuple[dict, object]:
    """Find or start PostgreSQL and Redis, run `flask setup-db` on ``database``, and return the
    environment for the app with the services handle (keep it alive while the run lasts)."""
    found = services.resolve(database, probe_local=True, instance=ROOT / "instance" / "bench", redis_db=redis_db)
    env = dict(os.environ, CAAS_ENV="production", DATABASE_URL=found.database_url, REDIS_URL=found.redis_url,
               SECRET_KEY="bench-secret", FLASK_APP="app.py", LOG_LEVEL="WARNING", **extra_env)
    subprocess.run([str(BIN / "flask"), "setup-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    return env, found


def wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


@contextmanager
def gunicorn(env: dict, workers: int = 2, threads: int = 1) -> Iterator[int]:
    """Serve the app with gunicorn on a free loopback port; yields the port. ``threads`` > 1 uses
    the gthread worker (as an experiment; the benchmarks' figures use sync workers)."""
    port = free_port()
    extra = ["--threads", str(threads)] if threads > 1 else []
    server = subprocess.Popen([str(BIN / "gunicorn"), "--workers", str(workers), *extra, "--bind", f"127.0.0.1:{port}",
                               "--log-level", "warning", "app:create_app()"], cwd=ROOT, env=env)
    try:
        wait_until_up(port)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def get(path: str) -> RequestFactory:
    return lambda _client, _n: ("GET", path, None, {})


def load(port: int, request: RequestFactory | str, *, duration: float, concurrency: int,
         ok: tuple[int, ...] = (200,)) -> dict:
    """Closed loop: ``concurrency`` clients send requests back to back for ``duration`` seconds.
    A response whose status is not in ``ok`` counts as an error (the first few are kept)."""
    make = get(request) if isinstance(request, str) else request
    latencies: list[float] = []
    errors = 0
    samples: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def worker(index: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine, bad, n = [], 0, 0
        while time.monotonic() < stop_at:
            method, path, body, headers = make(index, n)
            n += 1
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                if response.status not in ok:
                    bad += 1
                    if len(samples) < 3:
                        samples.append(f"{response.status} {payload[:300]!r}")
            except OSError as exc:
                bad += 1
                if len(samples) < 3:
                    samples.append(repr(exc))
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    for sample in samples:
        print(f"   error sample: {sample}", file=sys.stderr)
    return {"requests": len(latencies), "errors": errors, "p50_ms": round(q[49] * 1000, 2),
            "p95_ms": round(q[94] * 1000, 2), "rps": round(len(latencies) / elapsed, 1)}


def line(label: str, figures: dict) -> str:
    return (f"{label:<16} {figures['requests']:>6} requests  p50 {figures['p50_ms']:>6} ms  "
            f"p95 {figures['p95_ms']:>6} ms  {figures['rps']:>7} req/s  errors {figures['errors']}")


# --- database and Redis chores shared by the seeding benchmarks -----------------------------------

def owner_dsn(owner_url: str) -> str:
    """A plain libpq URL (postgresql://…) of the owner, for psycopg outside SQLAlchemy."""
    from config import psycopg_url
    from sqlalchemy.engine import make_url

    return make_url(psycopg_url(owner_url)).set(drivername="postgresql").render_as_string(hide_password=False)


def flush_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def vacuum_analyze(dsn: str, tables) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"VACUUM (ANALYZE) {table}")


def drop_database(owner_url: str, database: str) -> None:
    import psycopg

    dsn = owner_dsn(owner_url).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
