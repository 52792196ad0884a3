"""Operations endpoints: liveness, readiness, Prometheus metrics."""
from flask import Blueprint

bp = Blueprint("ops", __name__)

from blueprints.ops import routes  # noqa: E402,F401
