"""Test fixtures: real PostgreSQL and Redis, schema built once per session, each test rolled back.

The app under test connects as the non-superuser application role, so row-level security applies
to the tests exactly as in production. Set-up and inspection that needs the owner use ``owner``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import services  # noqa: E402

TEST_DB = os.environ.get("CAAS_TEST_DB", "caas_test")
TEST_REDIS_DB = int(os.environ.get("CAAS_TEST_REDIS_DB", "15"))  # parallel runs use their own


@pytest.fixture(scope="session")
def found_services():
    found = services.resolve(TEST_DB, probe_local=True, instance=ROOT / "instance" / "test",
                             redis_db=TEST_REDIS_DB)
    yield found


def _recreate_database(owner_url: str) -> None:
    url = make_url(owner_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": url.database})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def make_config(found) -> dict:
    from config import psycopg_url

    return {
        "CAAS_ENV": "testing",
        "DATABASE_URL": psycopg_url(found.database_url),
        "REDIS_URL": found.redis_url,
        "DB_APP_ROLE": "caas_app",
        "DB_APP_PASSWORD": "caas_app_test_password",
        "RATELIMIT_KEY_PREFIX": "caas-test-rl",
        "SERVER_NAME": None,
        "MAIL_DIR": str(ROOT / "instance" / "test" / "mail"),
        "UPLOAD_DIR": str(ROOT / "instance" / "test" / "uploads"),
    }


@pytest.fixture(scope="session")
def app(found_services):
    from flask_migrate import upgrade

    from app import create_app
    from caas.core import dbsetup, jobs

    import shutil

    config = make_config(found_services)
    shutil.rmtree(config["MAIL_DIR"], ignore_errors=True)
    _recreate_database(config["DATABASE_URL"])
    application = create_app(config)
    application.register_blueprint(_test_blueprint())

    def fresh_g(endpoint=None, values=None):
        # Tests keep one app context pushed (for db.session), and Flask reuses it for every test
        # request, so `g` would carry the CSRF token and the logged-in user from one request into
        # the next. In production each request gets a new app context; give tests the same.
        for key in list(g):
            g.pop(key)

    application.url_value_preprocessors.setdefault(None, []).insert(0, fresh_g)
    with application.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
    dbsetup.ensure_app_role(config["DATABASE_URL"], config["DB_APP_ROLE"], config["DB_APP_PASSWORD"])
    jobs.connection().flushdb()
    return application


def _test_blueprint():
    """Routes that exist only in the test app: a view that writes to the outbox and then fails."""
    from flask import Blueprint

    from caas.core.extensions import db as database
    from caas.events import outbox

    bp = Blueprint("_test", __name__, url_prefix="/_test")

    @bp.route("/enqueue-then-fail", methods=["POST"])
    def enqueue_then_fail():
        outbox.enqueue_job(database.session, "tests.foundation.jobs_for_tests.record_tenant", queue="default")
        database.session.flush()
        raise RuntimeError("boom after enqueue")

    @bp.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    return bp


@pytest.fixture(scope="session")
def owner(app):
    """An engine connected as the owner (superuser): set-up, inspection, tampering."""
    engine = create_engine(app.config["DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture
def db(app):
    """The app's session, bound to one connection whose transaction is rolled back after the test.

    Sessions join it with SAVEPOINTs (join_transaction_mode="create_savepoint"), so code under test
    may commit and roll back as it does in production.
    """
    from caas.core import jobs, tenant
    from caas.core.extensions import db as database

    ctx = app.app_context()
    ctx.push()
    connection = database.engine.connect()
    transaction = connection.begin()
    engines = database._app_engines[app]
    original = engines[None]
    engines[None] = connection
    database.session.remove()
    try:
        yield database.session
    finally:
        database.session.remove()
        engines[None] = original
        transaction.rollback()
        connection.close()
        tenant.reset()
        jobs.connection().flushdb()
        ctx.pop()


@pytest.fixture
def committed(app, owner):
    """The app's own session on its real engine (no test transaction): what the test commits is
    really committed, so other threads and worker processes see it. Everything is truncated after."""
    from caas.core import jobs, tenant
    from caas.core.extensions import db as database
    from tests.browser.conftest import truncate_all

    ctx = app.app_context()
    ctx.push()
    database.session.remove()
    try:
        yield database.session
    finally:
        database.session.remove()
        tenant.reset()
        ctx.pop()
        truncate_all(owner)
        jobs.connection().flushdb()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def redis_conn(app):
    from caas.core import jobs

    return jobs.connection()
