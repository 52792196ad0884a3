"""HTTP baseline: p50, p95 and requests/s for /healthz and the login page, served by gunicorn with
2 workers on loopback, driven by keep-alive clients in threads. The yardstick for later benchmarks.

    python -m bench http_baseline        (DURATION=5 CONCURRENCY=8 to change the load)
"""
from __future__ import annotations

import json
import os

from bench._http import gunicorn, line, load, prepare

DURATION = float(os.environ.get("DURATION", "5"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))


def main() -> None:
    env, _services = prepare("caas_bench")
    with gunicorn(env) as port:
        load(port, "/healthz", duration=DURATION, concurrency=CONCURRENCY)  # warm up both workers
        results = {}
        for name, path in (("healthz", "/healthz"), ("login_page", "/login")):
            results[name] = figures = load(port, path, duration=DURATION, concurrency=CONCURRENCY)
            print(line(path, figures))
    print(f"gunicorn 2 workers, {CONCURRENCY} keep-alive clients, {DURATION:.0f} s per path, loopback")
    print(json.dumps({
        "healthz_p50_ms": results["healthz"]["p50_ms"], "healthz_p95_ms": results["healthz"]["p95_ms"],
        "healthz_rps": results["healthz"]["rps"], "login_p50_ms": results["login_page"]["p50_ms"],
        "login_p95_ms": results["login_page"]["p95_ms"], "login_rps": results["login_page"]["rps"],
        "errors": results["healthz"]["errors"] + results["login_page"]["errors"],
    }))


if __name__ == "__main__":
    main()
