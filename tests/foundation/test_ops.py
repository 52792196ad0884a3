"""Operations: liveness, readiness, metrics, error pages, request ids, HTMX partials."""
from __future__ import annotations

import json
import logging

import pytest

from tests import factories
from tests.conftest import make_config
from tests.helpers import get, login


@pytest.fixture
def broken_app(found_services):
    """An app whose database does not answer (nothing listens on port 1).

    Redis stays real here: Flask-Limiter and the queue settings are process-wide, so a second app
    with a dead Redis would break the other tests. Redis being down is tested on its own below.
    """
    from app import create_app

    config = make_config(found_services)
    config.update(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/caas_test",
                  APP_DATABASE_URL="postgresql+psycopg://caas_app@127.0.0.1:1/caas_test")
    return create_app(config)


def test_healthz_and_readyz(client):
    assert get(client, "/healthz").get_json() == {"status": "ok"}
    ready = get(client, "/readyz")
    body = ready.get_json()
    # No worker runs in this test: reported (degraded), but the web process is ready (tests/ops/test_health.py).
    assert ready.status_code == 200 and body["status"] == "degraded" and body["failing"] == []
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


def test_readyz_names_the_database_when_it_is_down(broken_app):
    response = broken_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failing"] == ["database"]


def test_readyz_names_both_when_both_are_down(broken_app):
    from caas.core import jobs

    real = jobs.settings.redis_url
    jobs.settings.redis_url = "redis://127.0.0.1:1/0"
    try:
        response = broken_app.test_client().get("/readyz")
    finally:
        jobs.settings.redis_url = real
    assert response.status_code == 503 and response.get_json()["failing"] == ["database", "redis"]


# Redis alone down, and each readiness section: tests/ops/test_health.py.


def test_pages_show_a_friendly_503_when_the_database_is_down(broken_app):
    response = broken_app.test_client().get("/c/demo/login", base_url="https://localhost")
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "cannot reach our database" in body
    assert "Traceback" not in body and "psycopg" not in body and "OperationalError" not in body


def test_a_signed_in_visitor_gets_the_503_page_too_when_the_database_is_down(broken_app):
    """The error page must not load the signed-in user (the navigation bar, the portals' context
    processors): that second database failure inside the error handler used to make it a 500."""
    import uuid

    from flask_login.utils import _create_identifier

    headers = {"User-Agent": "fault-test"}
    with broken_app.test_request_context(base_url="https://localhost", headers=headers,
                                         environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        identifier = _create_identifier()  # Flask-Login's "strong" protection checks it
    browser = broken_app.test_client()
    with browser.session_transaction(base_url="https://localhost", headers=headers) as session:
        session.update(_user_id=f"{uuid.uuid4()}:", _id=identifier, _fresh=True)
    for path in ("/provider/market", "/admin/", "/c/demo/"):
        response = browser.get(path, base_url="https://localhost", headers=headers)
        assert response.status_code == 503, path
        assert "cannot reach our database" in response.get_data(as_text=True)
        assert response.headers["Retry-After"] == "30"
    api = broken_app.test_client().get("/api/v1/applications", base_url="https://localhost",
                                       headers={"Authorization": "Bearer caas_live_abcdefghijkl_" + "0" * 48})
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "service_unavailable"


def test_a_connection_the_server_ends_after_the_answer_is_made_does_not_turn_it_into_a_500(found_services):
    """PostgreSQL restarted just after a view's last query: the answer was ready, and the ROLLBACK
    of the teardown raised out of the app (gunicorn sent an empty 500). The answer stands, and the
    next request gets a working connection."""
    from sqlalchemy import text

    from app import create_app
    from caas.core.extensions import db

    app = create_app(make_config(found_services))

    @app.route("/_test/server-ends-my-connection")
    def server_ends_my_connection():
        # Another connection ends this one's backend, as a restart ('terminating connection due
        # to administrator command') does, while this request's transaction is open.
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with db.engine.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        return "made"

    browser = app.test_client()
    first = browser.get("/_test/server-ends-my-connection", base_url="https://localhost")
    assert (first.status_code, first.get_data(as_text=True)) == (200, "made")
    assert browser.get("/healthz", base_url="https://localhost").status_code == 200
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar_one() == 1
        db.session.remove()
        db.engine.dispose()


def test_unexpected_error_is_a_500_page_without_internals(client):
    response = get(client, "/_test/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert "secret internals" not in body and "Traceback" not in body


def test_404_page_and_api_json_errors(client):
    page = get(client, "/no/such/page")
    assert page.status_code == 404 and 'data-testid="error-page"' in page.get_data(as_text=True)
    api = get(client, "/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_metrics_expose_latency_jobs_and_queue_depth(client):
    get(client, "/healthz")
    text = get(client, "/metrics").get_data(as_text=True)
    assert 'caas_http_request_duration_seconds_bucket{endpoint="ops.healthz"' in text
    for queue in ("scoring", "payouts", "billing", "events", "default"):
        assert f'caas_queue_depth{{queue="{queue}"}} 0.0' in text


def test_job_metrics_count_finished_jobs(app, db, client):
    from caas.core import tenant, worker
    from caas.events import outbox

    c = factories.client(db)
    with tenant.tenant_scope(c.id, db):
        outbox.enqueue_job(db, "tests.foundation.jobs_for_tests.record_tenant", queue="default", client_id=c.id)
        db.commit()
    assert 'caas_queue_depth{queue="default"} 1.0' in get(client, "/metrics").get_data(as_text=True)
    worker.run(app, ["default"], burst=True, with_cron=False)
    text = get(client, "/metrics").get_data(as_text=True)
    assert 'caas_job_duration_seconds_count{outcome="succeeded",queue="default"} 1.0' in text
    assert 'caas_job_duration_seconds_bucket{le="+Inf",outcome="succeeded",queue="default"} 1.0' in text
    assert 'caas_queue_depth{queue="default"} 0.0' in text


def test_request_id_is_echoed_and_logged(client):
    import io

    from caas.core.logs import ContextFilter, JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        response = get(client, "/_test/boom", headers={"X-Request-ID": "req-abc-123"})
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.headers["X-Request-ID"] == "req-abc-123"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    error = next(line for line in lines if line["msg"] == "unhandled error")
    assert error["request_id"] == "req-abc-123" and error["level"] == "ERROR"
    assert "secret internals" in error["exc"]  # in the log for us, never on the page


def test_htmx_gets_the_partial_and_responses_vary_on_hx_request(client, db):
    full = get(client, "/no/such/page")
    partial = get(client, "/no/such/page", headers={"HX-Request": "true"})
    boosted = get(client, "/no/such/page", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in full.get_data(as_text=True)
    assert "<html" not in partial.get_data(as_text=True) and 'data-testid="error-page"' in partial.get_data(as_text=True)
    assert "<html" in boosted.get_data(as_text=True)
    assert "HX-Request" in full.headers["Vary"]


def test_htmx_history_restore_gets_the_full_page(client):
    from blueprints.common import wants_partial
    from flask import current_app

    with current_app.test_request_context("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}):
        assert wants_partial() is False
    with current_app.test_request_context("/", headers={"HX-Request": "true"}):
        assert wants_partial() is True


def test_base_page_sends_csrf_token_for_htmx_and_loads_vendored_assets(client, db):
    c = factories.client(db, slug="brand-co", brand_colour="#ff5500")
    db.commit()
    body = get(client, "/c/brand-co/login").get_data(as_text=True)
    assert '<meta name="csrf-token"' in body
    assert "vendor/htmx/htmx.min.js" in body and "vendor/bootstrap/bootstrap.min.css" in body
    assert "--brand: #ff5500" in body
    for asset in ("/static/vendor/htmx/htmx.min.js", "/static/js/app.js"):
        assert get(client, asset).status_code == 200
    assert "X-CSRFToken" in get(client, "/static/js/app.js").get_data(as_text=True)


def test_logs_configure_once_without_import_side_effects():
    import importlib

    root = logging.getLogger()
    before = len(root.handlers)
    importlib.import_module("app")
    assert len(root.handlers) == before


def test_logs_accept_a_lower_case_level_as_gunicorn_does():
    """LOG_LEVEL is read by the app and by deploy/gunicorn.conf.py: "warning" must start both."""
    from caas.core import logs

    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_caas", False)]
    level = root.level
    for handler in ours:
        root.removeHandler(handler)
    try:
        logs.configure(False, "warning")
        assert root.level == logging.WARNING
    finally:
        for handler in [h for h in root.handlers if getattr(h, "_caas", False)]:
            root.removeHandler(handler)
        for handler in ours:
            root.addHandler(handler)
        root.setLevel(level)
