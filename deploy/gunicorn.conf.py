"""Gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py "app:create_app()"``.

Every value can be set from the environment, so one image serves every size of machine. Threads
(gthread) let a worker wait on PostgreSQL, Redis or a gateway without blocking the others; size
the database pool to match (DB_POOL_SIZE >= GUNICORN_THREADS, see docs/deployment.md).
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# WEB_CONCURRENCY is the name Heroku-style platforms set; default 2 per CPU + 1.
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))  # a request stuck longer is killed and logged
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))  # in-flight requests on SIGTERM
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))  # above nothing, below the load balancer's idle timeout
# Recycle workers now and then (a slow leak cannot grow forever); jitter so they do not restart together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# Load the app once in the master: faster start, less memory, and an import error stops the start.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in {"1", "true", "yes", "on"}
# The load balancer / ingress in front terminates TLS; trust its X-Forwarded-* only from there.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)


def post_fork(server, worker):
    """With preload_app the engine object was created in the master. Nothing connects at import
    time, but if anything did, a forked child must not reuse the parent's sockets: drop the
    inherited pool without closing the parent's connections (SQLAlchemy's advice for forks)."""
    from caas.core.extensions import db

    app = server.app.wsgi()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
