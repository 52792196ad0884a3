"""Inbound payment-gateway webhooks at /webhooks/<gateway>: the signature is the authentication."""
from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from blueprints.webhooks import routes  # noqa: E402,F401
