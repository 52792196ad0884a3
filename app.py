"""The application factory. Nothing connects to PostgreSQL or Redis at import time."""
from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, g, render_template, request
from werkzeug.exceptions import HTTPException

import config as config_module
from blueprints import headers
from caas.core import jobs, logs, metrics, security, tenant
from caas.events import mail, webhooks
from caas.tenancy import two_factor
from caas.core.extensions import csrf, db, htmx, limiter, login_manager, migrate

log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    values = config_module.load((config or {}).get("CAAS_ENV"))
    values.update(config or {})
    app.config.from_mapping(config_module.Config.finalise(values))
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set")
    if app.config.get("TRUSTED_PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    logs.configure(app.config["LOG_JSON"], app.config["LOG_LEVEL"])
    security.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"],
                       app.config["ARGON2_PARALLELISM"])
    jobs.configure(app.config["REDIS_URL"], app.config["REDIS_SOCKET_TIMEOUT"], app.config["RQ_QUEUE_PREFIX"])
    mail.configure(backend=app.config["MAIL_BACKEND"], directory=app.config["MAIL_DIR"],
                   sender=app.config["MAIL_SENDER"], smtp_host=app.config["SMTP_HOST"],
                   smtp_port=app.config["SMTP_PORT"])
    webhooks.configure(app.config.get("WEBHOOK_ENCRYPTION_KEY") or app.config["SECRET_KEY"])
    two_factor.configure(app.config.get("TOTP_ENCRYPTION_KEY") or app.config["SECRET_KEY"])

    register_extensions(app)
    register_blueprints(app)
    from blueprints.common import money

    app.add_template_filter(money, "money")
    register_request_hooks(app)
    headers.install(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from caas.events import outbox

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path) + "/migrations")
    csrf.init_app(app)
    htmx.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": app.config["REDIS_SOCKET_TIMEOUT"],
                                                         "socket_connect_timeout": app.config["REDIS_SOCKET_TIMEOUT"]})
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.session_protection = "strong"
    tenant.install()
    outbox.install()
    import caas.models  # noqa: F401  (every model, for Alembic and relationships)

    from blueprints.auth.loader import load_user_from_session

    login_manager.user_loader(load_user_from_session)


def register_blueprints(app: Flask) -> None:
    from blueprints.admin import bp as admin_bp
    from blueprints.api import bp as api_bp
    from blueprints.auth import bp as auth_bp
    from blueprints.borrower import bp as borrower_bp
    from blueprints.ops import bp as ops_bp
    from blueprints.provider import bp as provider_bp
    from blueprints.webhooks import bp as webhooks_bp

    app.register_blueprint(ops_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(borrower_bp, url_prefix="/c/<client_slug>")
    app.register_blueprint(provider_bp, url_prefix="/provider")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # API keys, not cookies, authenticate the API
    app.register_blueprint(webhooks_bp, url_prefix="/webhooks")
    csrf.exempt(webhooks_bp)  # gateways sign their requests; no cookies are involved


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _start():
        g.request_started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        logs.request_id_var.set(g.request_id)
        tenant.reset()  # a request starts with no tenant; the portal guards set it

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
        started = g.get("request_started")
        if started is not None:
            metrics.REQUEST_LATENCY.labels(request.method, request.endpoint or "unmatched",
                                           str(response.status_code)).observe(time.perf_counter() - started)
        return response

    @app.teardown_request
    def _teardown(exc):
        tenant.reset()
        logs.request_id_var.set(None)


def register_errorhandlers(app: Flask) -> None:
    from sqlalchemy.exc import DBAPIError, OperationalError

    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"

    def render_error(status: int, title: str, message: str):
        if wants_json():
            return {"error": {"code": title.lower().replace(" ", "_"), "message": message}}, status
        template = "errors/_error.html" if htmx and not htmx.boosted else "errors/error.html"
        return render_template(template, status=status, title=title, message=message), status

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return render_error(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        log.error("database unavailable", exc_info=exc)
        try:
            db.session.rollback()
        except Exception:  # the connection is gone; the session is discarded at teardown anyway
            pass
        # This page must not need the database. A signed-in visitor would be loaded for the
        # navigation bar and the portals' context processors (or, loaded already, refreshed after
        # the rollback), and that failure inside the error handler was a 500. For this one answer
        # the visitor is anonymous; their session cookie is not touched.
        g._login_user = login_manager.anonymous_user()
        response, status = render_error(503, "Service Unavailable",
                                        "We cannot reach our database right now. Please try again in a minute.")
        return response, status, {"Retry-After": "30"}

    @app.teardown_appcontext
    def _discard_a_dead_session(exc):
        """Ends the request's database session before Flask-SQLAlchemy's own teardown (registered
        earlier, so run later). When PostgreSQL ended the connection after the answer was made (a
        restart), the ROLLBACK of that close raised out of the app as an empty 500 in place of the
        answer. The dead session is thrown away instead; pre-ping replaces pooled connections."""
        try:
            db.session.remove()
        except DBAPIError as error:
            log.warning("database connection lost while ending the request: %s", type(error.orig).__name__)
            try:
                db.session.registry().invalidate()  # drop its connections, not back to the pool
            except DBAPIError:
                pass
            db.session.registry.clear()

    @app.errorhandler(Exception)
    def _unexpected(exc):
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return _db_down(exc)
        log.exception("unhandled error")
        try:
            db.session.rollback()
        except Exception:  # the session may itself be unusable
            pass
        return render_error(500, "Internal Server Error", "Something went wrong on our side. It has been logged.")


def register_commands(app: Flask) -> None:
    from caas.cli import register

    register(app)
