"""HTTP baseline: p50, p95 and requests/s for /healthz and the login page, served by gunicorn with
2 workers on loopback, driven by keep-alive clients in threads. The yardstick for later benchmarks.

    python -m bench http_baseline        (DURATION=5 CONCURRENCY=8 to change the load)
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import services  # noqa: E402

DURATION = float(os.environ.get("DURATION", "5"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def load(port: int, path: str) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + DURATION

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine, bad = [], 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad += 1
            except OSError:
                bad += 1
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "errors": errors, "p50_ms": round(q[49] * 1000, 2),
            "p95_ms": round(q[94] * 1000, 2), "rps": round(len(latencies) / elapsed, 1)}


def main() -> None:
    found = services.resolve("caas_bench", probe_local=True, instance=ROOT / "instance" / "bench")
    port = free_port()
    env = dict(os.environ, CAAS_ENV="production", DATABASE_URL=found.database_url, REDIS_URL=found.redis_url,
               SECRET_KEY="bench-secret", FLASK_APP="app.py", LOG_LEVEL="WARNING")
    subprocess.run([str(BIN / "flask"), "setup-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
                               "--log-level", "warning", "app:create_app()"], cwd=ROOT, env=env)
    try:
        wait_until_up(port)
        load(port, "/healthz")  # warm up both workers
        results = {}
        for name, path in (("healthz", "/healthz"), ("login_page", "/login")):
            results[name] = figures = load(port, path)
            print(f"{path:<10} {figures['requests']:>6} requests  p50 {figures['p50_ms']:>6} ms  "
                  f"p95 {figures['p95_ms']:>6} ms  {figures['rps']:>7} req/s  errors {figures['errors']}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"gunicorn 2 workers, {CONCURRENCY} keep-alive clients, {DURATION:.0f} s per path, loopback")
    print(json.dumps({
        "healthz_p50_ms": results["healthz"]["p50_ms"], "healthz_p95_ms": results["healthz"]["p95_ms"],
        "healthz_rps": results["healthz"]["rps"], "login_p50_ms": results["login_page"]["p50_ms"],
        "login_p95_ms": results["login_page"]["p95_ms"], "login_rps": results["login_page"]["rps"],
        "errors": results["healthz"]["errors"] + results["login_page"]["errors"],
    }))


if __name__ == "__main__":
    main()
