"""The JSON API for client systems (/api/v1). Errors are JSON with a code and, where apt, the field."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from blueprints.api import routes  # noqa: E402,F401
