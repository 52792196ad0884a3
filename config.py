"""Configuration classes. Every value comes from the environment; tests pass overrides.

Two database URLs matter:
- ``DATABASE_URL``: the owner's connection. Migrations and set-up (roles, grants) run with it.
- ``APP_DATABASE_URL``: the application role's connection (not superuser, NOBYPASSRLS), which the
  web app and the workers use, so row-level security applies to everything they do. When it is not
  set it is derived from DATABASE_URL with the user swapped for ``DB_APP_ROLE``.
"""
from __future__ import annotations

import json
import os
from sqlalchemy.engine import make_url


def app_url_from_owner(owner_url: str, role: str, password: str) -> str:
    url = make_url(owner_url).set(username=role, password=password)
    return url.render_as_string(hide_password=False)


def psycopg_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


def engine_options(env) -> dict:
    """The connection pool of each process (SQLAlchemy's defaults unless set). A process holds at
    most DB_POOL_SIZE + DB_MAX_OVERFLOW connections: size them so that every web and worker process
    together stay under PostgreSQL's max_connections (docs/deployment.md)."""
    return {
        "pool_pre_ping": True,  # a connection dropped by a failover or an idle timeout is replaced, not used
        "pool_size": int(env.get("DB_POOL_SIZE", "5")),
        "max_overflow": int(env.get("DB_MAX_OVERFLOW", "10")),
        "pool_timeout": float(env.get("DB_POOL_TIMEOUT", "30")),
        "pool_recycle": int(env.get("DB_POOL_RECYCLE", "-1")),
        "connect_args": {
            "connect_timeout": int(env.get("DB_CONNECT_TIMEOUT", "3")),
            # psycopg prepares a statement run 5 times; PostgreSQL may then switch it to a generic plan,
            # which cannot see the tenant or provider the RLS policies compare with (bench marketplace:
            # 93-245 ms for the market page query against 0.4-0.6 ms planned per execution).
            "options": "-c plan_cache_mode=force_custom_plan",
        },
    }


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/caas")
    DB_APP_ROLE = os.environ.get("DB_APP_ROLE", "caas_app")
    DB_APP_PASSWORD = os.environ.get("DB_APP_PASSWORD", "caas_app_dev_password")
    APP_DATABASE_URL = os.environ.get("APP_DATABASE_URL", "")
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "2.0"))
    SQLALCHEMY_ENGINE_OPTIONS = engine_options(os.environ)
    # Proxies in front of the app (ingress, load balancer) whose X-Forwarded-For/-Proto/-Host are
    # trusted; 0 = none. Behind one without this, every visitor has the proxy's address: one log-in
    # throttle for everybody and the proxy's IP in the audit log.
    TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    # __Host-: the browser keeps it only if Secure, for path / and without a Domain (no subdomain can set it).
    SESSION_COOKIE_NAME = "__Host-caas_session" if SESSION_COOKIE_SECURE else "caas_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 8  # the absolute lifetime of a log-in (blueprints/auth/sessions.py)
    SESSION_IDLE_SECONDS = int(os.environ.get("SESSION_IDLE_SECONDS", str(30 * 60)))
    # API keys, webhook secrets and bank details need the password typed within this many seconds.
    REAUTH_SECONDS = int(os.environ.get("REAUTH_SECONDS", "600"))
    # Strict-Transport-Security max-age in production (behind TLS); 0 sends none (development on http).
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 3600)))
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 60 * 60 * 8

    # argon2id cost; OWASP's second recommended profile (19 MiB, t=2) as the floor.
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "2"))
    ARGON2_MEMORY_COST = int(os.environ.get("ARGON2_MEMORY_COST", str(19 * 1024)))
    ARGON2_PARALLELISM = 1

    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")  # per client IP, every attempt
    ACCOUNT_LOGIN_RATE_LIMIT = os.environ.get("ACCOUNT_LOGIN_RATE_LIMIT", "5 per minute;20 per hour")  # failed, per account
    # Codes typed at the second log-in step (TOTP or recovery), failed ones, per account being logged in.
    TWO_FACTOR_RATE_LIMIT = os.environ.get("TWO_FACTOR_RATE_LIMIT", "5 per minute;20 per hour")
    # How long the step between the password and the code may take (seconds).
    TWO_FACTOR_PENDING_SECONDS = int(os.environ.get("TWO_FACTOR_PENDING_SECONDS", "300"))
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "caas-rl")
    RATELIMIT_HEADERS_ENABLED = True
    # If Redis is down, keep throttling in memory rather than failing every log-in with a 500.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True

    RQ_QUEUE_PREFIX = os.environ.get("RQ_QUEUE_PREFIX", "")
    JOB_DEFAULT_TIMEOUT = 300
    OUTBOX_RELAY_INTERVAL = int(os.environ.get("OUTBOX_RELAY_INTERVAL", "30"))
    OUTBOX_RELAY_MIN_AGE = int(os.environ.get("OUTBOX_RELAY_MIN_AGE", "10"))
    WORKER_TTL = int(os.environ.get("WORKER_TTL", "60"))  # an idle RQ worker beats every WORKER_TTL - 15 s
    # /readyz reports (never fails on) a worker heartbeat older than this, or outbox rows older than that.
    # A SimpleWorker beats between jobs only, so the first must exceed the longest job timeout.
    READY_WORKER_STALE_SECONDS = int(os.environ.get("READY_WORKER_STALE_SECONDS", "600"))
    READY_OUTBOX_MAX_LAG_SECONDS = int(os.environ.get("READY_OUTBOX_MAX_LAG_SECONDS", "300"))
    WEBHOOK_REQUEUE_INTERVAL = int(os.environ.get("WEBHOOK_REQUEUE_INTERVAL", "60"))
    MARKET_SWEEP_INTERVAL = int(os.environ.get("MARKET_SWEEP_INTERVAL", "60"))  # seconds; deadline safety net
    PAYOUT_RECONCILE_INTERVAL = int(os.environ.get("PAYOUT_RECONCILE_INTERVAL", "300"))
    SERVICING_INTERVAL = int(os.environ.get("SERVICING_INTERVAL", "3600"))  # the daily job, repeated safely
    BILLING_SCHEDULE_INTERVAL = int(os.environ.get("BILLING_SCHEDULE_INTERVAL", "3600"))  # queues last month's run once
    # Printed on invoices as the payment instructions.
    BILLING_PAYEE = {
        "name": os.environ.get("BILLING_PAYEE_NAME", "CaaS Platform Ltd"),
        "bank": os.environ.get("BILLING_PAYEE_BANK", "Example Bank"),
        "account": os.environ.get("BILLING_PAYEE_ACCOUNT", "0123456789"),
        "contact": os.environ.get("BILLING_PAYEE_CONTACT", "billing@caas.example.com"),
    }
    # Auto-debit: days after the due date on which an unpaid instalment is charged (0 = the due date).
    AUTO_DEBIT_RETRY_DAYS = os.environ.get("AUTO_DEBIT_RETRY_DAYS", "0,1,3,7")
    # Who keeps the origination fee withheld from a payout: "provider" (the lender's income) or "platform".
    ORIGINATION_FEE_TO = os.environ.get("ORIGINATION_FEE_TO", "provider")
    # Gateways as JSON: {"paystack": {"secret_key": "...", "base_url": "..."}, ...}; unset means the
    # sandbox alone in development and tests, and nothing (payouts refused) in production.
    PAYMENT_GATEWAYS = json.loads(os.environ["PAYMENT_GATEWAYS"]) if os.environ.get("PAYMENT_GATEWAYS") else None
    PAYMENT_ROUTES = json.loads(os.environ["PAYMENT_ROUTES"]) if os.environ.get("PAYMENT_ROUTES") else None
    WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "10"))
    # Identity verification (caas.credit.identity): the provider's name, its settings as JSON
    # ({"api_key": …, "app_id": …, "base_url": …, "timeout": 15, "retries": 1} for prembly), the name
    # similarity (0–100) a match needs, and the key of the stored checks' fingerprints (SECRET_KEY if
    # unset). No provider in production until one is named; the sandbox in development and tests.
    IDENTITY_PROVIDER = os.environ.get("IDENTITY_PROVIDER", "")
    IDENTITY_SETTINGS = json.loads(os.environ["IDENTITY_SETTINGS"]) if os.environ.get("IDENTITY_SETTINGS") else {}
    IDENTITY_NAME_THRESHOLD = os.environ.get("IDENTITY_NAME_THRESHOLD", "85")
    IDENTITY_FINGERPRINT_KEY = os.environ.get("IDENTITY_FINGERPRINT_KEY", "")

    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://localhost:5000")
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")  # file | console | smtp
    MAIL_DIR = os.environ.get("MAIL_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "instance", "mail"))
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "CaaS <no-reply@caas.example.com>")
    SMTP_HOST = os.environ.get("SMTP_HOST", "localhost")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "sandbox")  # caas.events.sms.GATEWAYS
    NOTIFICATION_POLL_SECONDS = int(os.environ.get("NOTIFICATION_POLL_SECONDS", "30"))  # the nav's unread badge
    WEBHOOK_ENCRYPTION_KEY = os.environ.get("WEBHOOK_ENCRYPTION_KEY", "")
    TOTP_ENCRYPTION_KEY = os.environ.get("TOTP_ENCRYPTION_KEY", "")  # two-factor secrets; SECRET_KEY if unset
    ALLOW_HTTP_WEBHOOKS = _bool("ALLOW_HTTP_WEBHOOKS", False)
    # Webhook targets on private, loopback or link-local addresses (SSRF): refused in production.
    ALLOW_PRIVATE_WEBHOOK_TARGETS = _bool("ALLOW_PRIVATE_WEBHOOK_TARGETS", False)
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "instance", "uploads"))
    MAX_CONTENT_LENGTH = 11 * 1024 * 1024
    LOG_JSON = _bool("LOG_JSON", True)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    TESTING = False
    DEBUG = False

    @classmethod
    def finalise(cls, values: dict) -> dict:
        """Derive values that depend on others (the app URL from the owner URL)."""
        values["DATABASE_URL"] = psycopg_url(values["DATABASE_URL"])
        if values.get("APP_DATABASE_URL"):
            values["APP_DATABASE_URL"] = psycopg_url(values["APP_DATABASE_URL"])
        else:
            values["APP_DATABASE_URL"] = app_url_from_owner(
                values["DATABASE_URL"], values["DB_APP_ROLE"], values["DB_APP_PASSWORD"]
            )
        values["SQLALCHEMY_DATABASE_URI"] = values["APP_DATABASE_URL"]
        redis_url = values["REDIS_URL"]
        values.setdefault("RATELIMIT_STORAGE_URI",
                          "redis+" + redis_url if redis_url.startswith("unix://") else redis_url)
        return values


class DevelopmentConfig(Config):
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-secret-change-me")
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "0"))
    ALLOW_HTTP_WEBHOOKS = _bool("ALLOW_HTTP_WEBHOOKS", True)
    ALLOW_PRIVATE_WEBHOOK_TARGETS = _bool("ALLOW_PRIVATE_WEBHOOK_TARGETS", True)
    LOG_JSON = _bool("LOG_JSON", False)
    IDENTITY_PROVIDER = os.environ.get("IDENTITY_PROVIDER", "sandbox")


class TestingConfig(Config):
    TESTING = True
    HSTS_SECONDS = 0  # a test that needs the header sets it
    ALLOW_PRIVATE_WEBHOOK_TARGETS = True  # the tests' receivers listen on loopback
    IDENTITY_PROVIDER = "sandbox"
    SECRET_KEY = "test-secret"
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8 * 1024
    LOGIN_RATE_LIMIT = "1000 per minute"
    ACCOUNT_LOGIN_RATE_LIMIT = "1000 per minute"
    TWO_FACTOR_RATE_LIMIT = "1000 per minute"
    LOG_JSON = False


def load(name: str | None = None) -> dict:
    name = name or os.environ.get("CAAS_ENV", "production")
    cls = {"development": DevelopmentConfig, "testing": TestingConfig}.get(name, Config)
    values = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
    return values
