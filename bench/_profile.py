"""`python -m bench load --profile DIR`: the app wrapped in cProfile, one profile per endpoint group,
served by one gunicorn worker with one thread (cProfile follows one thread) and no recycling.

The profiles count the worker thread's CPU time (``time.thread_time``), not wall time: on a shared
machine wall time also counts the moments the process waits for a CPU, which would make any
function look slow. Each request's CPU time, wall time and SQL statements are added to its group. Every 200 requests and at exit the worker writes DIR/<group>.prof (pstats)
and DIR/summary.json; `report` prints them."""
from __future__ import annotations

import atexit
import cProfile
import json
import os
import pstats
import re
import time
from collections import defaultdict
from pathlib import Path

_SUBMIT = re.compile(r"^/api/v1/applications/?$")
_BID = re.compile(r"^/provider/market/[0-9a-f-]{36}$")
_APPLY = re.compile(r"^/c/[^/]+/(apply|applications/[0-9a-f-]{36}/(edit|step/))")


def group_of(method: str, path: str) -> str:
    """The bench's endpoint group of a request (as bench/load labels them)."""
    if path.startswith("/api/"):
        return "api submit" if method == "POST" and _SUBMIT.match(path) else "api read"
    if path.startswith("/c/"):
        return "portal apply" if _APPLY.match(path) else "portal pages"
    if path.startswith("/provider/"):
        return "bid" if method == "POST" and _BID.match(path) else "market"
    if path.startswith("/admin"):
        return "admin"
    return "other"


class Profiled:
    def __init__(self, app, folder: Path) -> None:
        self.app, self.folder = app, folder
        self.profiles: dict[str, cProfile.Profile] = defaultdict(lambda: cProfile.Profile(time.thread_time))
        self.statements: dict[str, int] = defaultdict(int)
        self.group = "other"
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)
        self.seen = 0
        folder.mkdir(parents=True, exist_ok=True)
        atexit.register(self.dump)

    def __call__(self, environ, start_response):
        group = group_of(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""))
        profile = self.profiles[group]
        self.group = group
        cpu, wall = time.thread_time(), time.perf_counter()
        profile.enable()
        try:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)  # the body is made while iterating: inside the profile
            finally:
                getattr(result, "close", lambda: None)()
        finally:
            profile.disable()
            self.cpu[group] += time.thread_time() - cpu
            self.wall[group] += time.perf_counter() - wall
            self.count[group] += 1
            self.seen += 1
            if self.seen % 200 == 0:
                self.dump()
        return [body]

    def count_statement(self, *_args) -> None:
        self.statements[self.group] += 1

    def dump(self) -> None:
        if not self.seen:  # gunicorn's master (preload_app) made this object too, and served nothing
            return
        for group, profile in self.profiles.items():
            profile.dump_stats(str(self.folder / f"{group.replace(' ', '_')}.prof"))
        summary = {g: {"requests": n, "cpu_ms": round(1000 * self.cpu[g] / n, 2), "wall_ms": round(1000 * self.wall[g] / n, 2),
                       "sql": round(self.statements[g] / n, 1)}
                   for g, n in self.count.items()}
        (self.folder / "summary.json").write_text(json.dumps(summary))


def profiled_app():
    """gunicorn's entry point: ``bench._profile:profiled_app()``."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from app import create_app

    app = create_app()
    app.wsgi_app = profiled = Profiled(app.wsgi_app, Path(os.environ["BENCH_PROFILE_DIR"]))
    event.listen(Engine, "before_cursor_execute", profiled.count_statement)
    return app


def report(folder: Path, top: int = 25) -> None:
    """Per group: CPU and wall ms per request in the worker; for the two groups that cost the most
    CPU in all, their top functions by own time and by cumulative time."""
    summary = json.loads((folder / "summary.json").read_text())
    print(f"profile (one worker, one thread; CPU = the worker's thread time, wall includes waiting on "
          f"PostgreSQL and Redis), files in {folder}:")
    for group, s in sorted(summary.items(), key=lambda kv: -kv[1]["cpu_ms"]):
        print(f"   {group:<13} {s['requests']:>6} requests  CPU {s['cpu_ms']:>7} ms  wall {s['wall_ms']:>7} ms  "
              f"SQL statements {s['sql']:>5} per request")
    costly = sorted(summary, key=lambda g: -summary[g]["cpu_ms"] * summary[g]["requests"])[:2]
    for group in costly:
        path = folder / f"{group.replace(' ', '_')}.prof"
        for order in ("tottime", "cumulative"):
            print(f"-- {group}: top {top} by {order}")
            pstats.Stats(str(path)).strip_dirs().sort_stats(order).print_stats(top)
