from flask import render_template
from flask_login import current_user

from blueprints.guards import require_roles
from blueprints.provider import bp
from caas.tenancy.models import Role

bp.before_request(require_roles(Role.provider_user))


@bp.route("/")
def home():
    return render_template("provider/home.html", provider=current_user.provider)
