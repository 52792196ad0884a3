from flask import render_template
from flask_login import current_user

from blueprints.admin import bp
from blueprints.common import actor
from blueprints.guards import require_roles
from caas.core.extensions import db
from caas.tenancy import operations
from caas.tenancy.models import Role

bp.before_request(require_roles(Role.platform_admin, Role.client_admin))


@bp.route("/")
def home():
    if current_user.role == Role.platform_admin:
        with operations.platform_access(db.session, actor(), client_id=None, reason="admin dashboard"):
            counts = operations.tenant_counts(db.session)
        db.session.commit()
        return render_template("admin/platform_home.html", counts=counts)
    counts = operations.tenant_counts(db.session)
    return render_template("admin/client_home.html", counts=counts, client=current_user.client)
