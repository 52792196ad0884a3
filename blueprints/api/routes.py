from flask import jsonify

from blueprints.api import bp
from caas.core.errors import DomainError


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    return jsonify(exc.as_json()), exc.status


@bp.route("/")
def index():
    return jsonify({"api": "caas", "version": "v1"})
