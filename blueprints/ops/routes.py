from flask import Response, jsonify
from sqlalchemy import text

from blueprints.ops import bp
from caas.core import jobs, metrics
from caas.core.extensions import db


@bp.route("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.route("/readyz")
def readyz():
    """503 naming each failing part: the database, Redis."""
    failures = {}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:  # any failure means not ready
        db.session.rollback()
        failures["database"] = type(exc).__name__
    try:
        jobs.connection().ping()
    except Exception as exc:
        failures["redis"] = type(exc).__name__
    if failures:
        return jsonify({"status": "unavailable", "failing": sorted(failures), "errors": failures}), 503
    return jsonify({"status": "ready"})


@bp.route("/metrics")
def prometheus_metrics():
    return Response(metrics.render(), mimetype="text/plain; version=0.0.4")
