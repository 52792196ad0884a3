"""The run command: services, migrations, demo data, then the web app and a worker. Ctrl-C stops all.

    make run            (or: .venv/bin/python scripts/dev.py --port 5000)
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import services  # noqa: E402

ROOT = services.ROOT
BIN = Path(sys.executable).parent


def secret_key() -> str:
    path = services.INSTANCE / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    args = parser.parse_args()

    found = services.resolve("caas", probe_local=False)
    env = dict(os.environ)
    env.update({
        "CAAS_ENV": env.get("CAAS_ENV", "development"),
        "DATABASE_URL": found.database_url,
        "REDIS_URL": found.redis_url,
        "SECRET_KEY": env.get("SECRET_KEY") or secret_key(),
        "FLASK_APP": "app.py",
        # The dev server is plain http on loopback; browsers keep Secure cookies for localhost.
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "true"),
    })
    if found.embedded:
        print(f"started embedded {' and '.join(found.embedded)} under instance/")

    def flask(*cmd: str) -> None:
        subprocess.run([str(BIN / "flask"), *cmd], cwd=ROOT, env=env, check=True)

    flask("setup-db")
    flask("demo-data")

    children = [
        subprocess.Popen([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"{args.host}:{args.port}",
                          "--access-logfile", "-", "app:create_app()"], cwd=ROOT, env=env),
        subprocess.Popen([str(BIN / "flask"), "worker"], cwd=ROOT, env=env),
    ]
    from caas.demo import LOGINS, PASSWORD, TOTP_SECRET  # noqa: E402  (after set-up, so imports see the venv)

    url = f"http://localhost:{args.port}"
    print(f"\nCaaS is running at {url}  (Ctrl-C stops the app, the worker and embedded services)")
    print(f"Demo logins (password for all: {PASSWORD}):")
    for role, email, path in LOGINS:
        print(f"  {role:<15} {email:<34} {url}{path}")
    print(f"The admins also need a two-factor code: add the key {TOTP_SECRET} to an authenticator app,\n"
          "or run `CAAS_ENV=development .venv/bin/flask demo code` for the current one.")
    print()

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        for handle in found.handles:  # embedded servers
            for method in ("cleanup", "shutdown"):
                if hasattr(handle, method):
                    try:
                        getattr(handle, method)()
                    except Exception:
                        pass
                    break
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
