"""The provider (lender) portal."""
from flask import Blueprint

bp = Blueprint("provider", __name__)

from blueprints.provider import routes  # noqa: E402,F401
