"""The admin portal: platform admins (all tenants, explicitly) and client admins (own tenant)."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from blueprints.admin import analytics, billing, collections, jobs, market, payouts, routes  # noqa: E402,F401
