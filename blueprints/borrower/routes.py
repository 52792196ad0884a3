from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.auth import sessions as web_sessions
from blueprints.auth import two_factor as web_two_factor
from blueprints.auth.forms import LoginForm, SignupForm
from blueprints.borrower.forms import ConfirmForm
from blueprints.auth.routes import WRONG_CREDENTIALS, login_limit, throttled_login
from blueprints.borrower import bp
from caas.core import tenant
from caas.core.errors import DomainError
from caas.core.extensions import db, limiter, login_manager
from caas.tenancy import operations
from caas.tenancy.models import Role

PUBLIC = {"borrower.login", "borrower.signup", "borrower.logo", "borrower.reset_request", "borrower.reset_password",
          "borrower.verify_email", "borrower.two_factor_code"}


@bp.url_value_preprocessor
def pull_client(endpoint, values):
    g.client_slug = values.pop("client_slug", None)


@bp.url_defaults
def add_client(endpoint, values):
    if "client_slug" not in values and g.get("client_slug"):
        values["client_slug"] = g.client_slug


@bp.before_request
def guard():
    """Resolve the tenant from the slug (404 when unknown), then require one of its borrowers."""
    client = operations.get_client_by_slug(db.session, g.client_slug or "")
    if client is None:
        abort(404)
    g.client = client
    if not client.is_active and request.endpoint != "borrower.logo":
        return render_template("borrower/suspended.html", client=client), 403
    user_is_authenticated = current_user.is_authenticated  # loads the user (and its tenant) first
    tenant.set_tenant(client.id, db.session)
    if request.endpoint in PUBLIC:
        if user_is_authenticated and (current_user.role != Role.borrower or current_user.client_id != client.id):
            # Signed in elsewhere (staff, another client's borrower): nobody on this portal. Their row
            # is invisible in this tenant, so a view that rolls back must not reload it (a 500).
            g._login_user = login_manager.anonymous_user()
        return None
    if not user_is_authenticated:
        return redirect(url_for("borrower.login", next=request.full_path))
    if current_user.role != Role.borrower or current_user.client_id != client.id:
        abort(403)
    return None


@bp.context_processor
def brand():
    return {"client": g.get("client")}


@bp.route("/")
def home():
    from caas.credit import applications, consents, notifications, profiles

    return render_template(
        "borrower/home.html", applications=applications.list_for_borrower(db.session, current_user.id),
        notices=notifications.recent(db.session, current_user.id),
        unread=notifications.unread_count(db.session, current_user.id),
        has_profile=profiles.get(db.session, current_user.id) is not None,
        missing_consents=consents.missing(db.session, current_user.id), csrf_form=ConfirmForm())


@bp.route("/login", methods=["GET", "POST"])
@throttled_login
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = operations.authenticate_borrower(db.session, g.client, form.email.data, form.password.data)
        if user is None:
            db.session.rollback()
            form.password.errors.append(WRONG_CREDENTIALS)
        else:
            response = web_two_factor.after_password(user, url_for("borrower.home"))
            db.session.commit()
            return response
    return render_template("borrower/login.html", form=form), 200 if not form.errors else 422


@bp.route("/login/code", methods=["GET", "POST"])
@web_two_factor.throttled_code
def two_factor_code():
    return web_two_factor.code_step(g.client)


@bp.route("/account/two-factor")
def two_factor_settings():
    return web_two_factor.settings_page()


@bp.route("/account/two-factor/setup", methods=["POST"])
def two_factor_setup():
    return web_two_factor.settings_action("setup")


@bp.route("/account/two-factor/enable", methods=["POST"])
@web_two_factor.throttled_code
def two_factor_enable():
    return web_two_factor.settings_action("enable")


@bp.route("/account/two-factor/disable", methods=["POST"])
@web_two_factor.throttled_code
def two_factor_disable():
    return web_two_factor.settings_action("disable")


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@web_sessions.recent_login_required
def two_factor_recovery_codes():
    return web_two_factor.settings_action("recovery")


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = operations.register_borrower(db.session, g.client, email=form.email.data,
                                                full_name=form.full_name.data, password=form.password.data)
        except DomainError as exc:
            db.session.rollback()
            getattr(form, exc.field or "email").errors.append(exc.message)
        else:
            from caas.tenancy import invitations

            invitations.invite(db.session, user, "verify")
            web_sessions.begin(user)
            db.session.commit()
            flash(f"Welcome to {g.client.display_name}. We have e-mailed you a link to confirm your address.",
                  "success")
            return redirect(url_for("borrower.home"))
    return render_template("borrower/signup.html", form=form), 200 if not form.errors else 422


@bp.route("/logo")
def logo():
    """The client's logo, stored outside static/ (uploads are never served as static files)."""
    from pathlib import Path

    from flask import send_file

    from caas.tenancy.branding import MIMETYPES

    if not g.client.logo_path:
        abort(404)
    path = Path(current_app.config["UPLOAD_DIR"]) / g.client.logo_path
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=MIMETYPES.get(path.suffix, "application/octet-stream"), max_age=3600)


from blueprints.borrower import journey, notifications  # noqa: E402,F401


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def reset_request():
    """Borrower password reset; the same answer whether or not the account exists."""
    from blueprints.auth.forms import ResetRequestForm
    from blueprints.auth.routes import RESET_SENT
    from caas.tenancy import invitations

    form = ResetRequestForm()
    if form.validate_on_submit():
        invitations.request_reset(db.session, form.email.data, client_id=g.client.id)
        db.session.commit()
        flash(RESET_SENT, "info")
        return redirect(url_for("borrower.login"))
    return render_template("auth/reset_request.html", form=form, action=url_for("borrower.reset_request"),
                           base="borrower/base.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def reset_password(token: str):
    from blueprints.auth.routes import accept_invitation

    return accept_invitation(token)


@bp.route("/verify/<token>")
def verify_email(token: str):
    from caas.tenancy import invitations

    try:
        invitations.verify_email(db.session, token)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("borrower.login"))
    db.session.commit()
    flash("Thank you: your e-mail address is confirmed.", "success")
    return redirect(url_for("borrower.home"))


@bp.route("/reauth", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def reauth():
    """Confirm the password before changing bank details."""
    from blueprints.auth.routes import confirm_identity

    return confirm_identity(url_for("borrower.home"), base="borrower/base.html")
