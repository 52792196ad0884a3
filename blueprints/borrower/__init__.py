"""The borrower portal at /c/<client-slug>/…, branded with the client's name and colour."""
from flask import Blueprint

bp = Blueprint("borrower", __name__)

from blueprints.borrower import identity, routes  # noqa: E402,F401
