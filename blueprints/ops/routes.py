from flask import Response, current_app, jsonify

from blueprints.ops import bp
from caas.core import health, metrics
from caas.core.extensions import db


@bp.route("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.route("/readyz")
def readyz():
    """A section per dependency; 503 only when the database or Redis fails (see caas.core.health)."""
    status, body = health.run(db.session, stale_after=current_app.config["READY_WORKER_STALE_SECONDS"],
                              max_lag=current_app.config["READY_OUTBOX_MAX_LAG_SECONDS"])
    return jsonify(body), status


@bp.route("/metrics")
def prometheus_metrics():
    return Response(metrics.render(), mimetype="text/plain; version=0.0.4")
