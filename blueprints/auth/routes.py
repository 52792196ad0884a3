"""Staff log in (platform admins, client admins, provider users), with its second factor, and log
out for everyone."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.auth import bp
from blueprints.auth import sessions as web_sessions
from blueprints.auth import two_factor as web_two_factor
from blueprints.auth.forms import LoginForm, ResetRequestForm, SetPasswordForm
from blueprints.common import home_url_for, local_url
from caas.core.errors import DomainError
from caas.core.extensions import db, limiter
from caas.tenancy import operations

WRONG_CREDENTIALS = "Invalid e-mail or password."


def login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def account_login_limit() -> str:
    return current_app.config["ACCOUNT_LOGIN_RATE_LIMIT"]


def login_account_key() -> str:
    """The account a log-in attempt is for: the e-mail typed, on this log-in page (staff, or one
    client's borrowers), so that guessing at one account is slowed whatever addresses it comes from."""
    return f"login-account:{request.path}:{(request.form.get('email') or '').strip().lower()}"


def failed_login(response) -> bool:
    return response.status_code != 302  # a successful log-in redirects; it does not count


def throttled_login(view):
    """Log-in throttling: per client IP (every attempt) and per account (failed attempts)."""
    view = limiter.limit(account_login_limit, key_func=login_account_key, methods=["POST"],
                         deduct_when=failed_login)(view)
    return limiter.limit(login_limit, methods=["POST"])(view)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@throttled_login
def login():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = operations.authenticate_staff(db.session, form.email.data, form.password.data)
        except DomainError as exc:  # right password, but the account may not be used
            db.session.rollback()
            form.email.errors.append(exc.message)
            return render_template("auth/login.html", form=form), 403
        if user is None:
            db.session.rollback()
            form.password.errors.append(WRONG_CREDENTIALS)
        else:
            # a fresh session at login (nothing from before carries over), after the second factor
            response = web_two_factor.after_password(user, home_url_for(user))
            db.session.commit()
            return response
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


@bp.route("/login/code", methods=["GET", "POST"])
@web_two_factor.throttled_code
def two_factor_code():
    return web_two_factor.code_step()


@bp.route("/login/two-factor", methods=["GET", "POST"])
@web_two_factor.throttled_code
def two_factor_enrol():
    return web_two_factor.enrol_step()


@bp.route("/account/two-factor")
def two_factor_settings():
    return web_two_factor.staff_only() or web_two_factor.settings_page()


@bp.route("/account/two-factor/setup", methods=["POST"])
def two_factor_setup():
    return web_two_factor.staff_only() or web_two_factor.settings_action("setup")


@bp.route("/account/two-factor/enable", methods=["POST"])
@web_two_factor.throttled_code
def two_factor_enable():
    return web_two_factor.staff_only() or web_two_factor.settings_action("enable")


@bp.route("/account/two-factor/disable", methods=["POST"])
@web_two_factor.throttled_code
def two_factor_disable():
    return web_two_factor.staff_only() or web_two_factor.settings_action("disable")


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@web_sessions.recent_login_required
def two_factor_recovery_codes():
    return web_two_factor.staff_only() or web_two_factor.settings_action("recovery")


@bp.route("/logout", methods=["POST"])
def logout():
    slug = current_user.client.slug if current_user.is_authenticated and current_user.role.value == "borrower" else None
    web_sessions.finish()
    db.session.commit()
    flash("You have been logged out.", "info")
    return redirect(url_for("borrower.login", client_slug=slug) if slug else url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def accept_invitation(token: str):
    """The one-time link from an invitation e-mail: set a password, then you are logged in."""
    from caas.tenancy import invitations

    form = SetPasswordForm()
    try:
        invitation = invitations.find(db.session, token)
    except DomainError as exc:
        db.session.rollback()
        return render_template("auth/invitation_invalid.html", message=exc.message), 410
    if form.validate_on_submit():
        try:
            user = invitations.accept(db.session, token, form.password.data)
        except DomainError as exc:
            db.session.rollback()
            form.password.errors.append(exc.message)
        else:
            # every other session of the account ends; the second factor (or an admin's enrolment) follows
            response = web_two_factor.after_password(user, home_url_for(user), password_changed=True)
            db.session.commit()
            flash("Your password is set. Welcome to CaaS.", "success")
            return response
    return render_template("auth/accept_invitation.html", form=form, user=invitation.user,
                           purpose=invitation.purpose), (422 if form.errors else 200)


RESET_SENT = "If an account exists for that e-mail, we have sent a link to reset its password."


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def reset_request():
    """Staff password reset. The answer is the same whether or not the account exists."""
    from caas.tenancy import invitations

    form = ResetRequestForm()
    if form.validate_on_submit():
        invitations.request_reset(db.session, form.email.data, client_id=None)
        db.session.commit()
        flash(RESET_SENT, "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form, action=url_for("auth.reset_request"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def reset_password(token: str):
    return accept_invitation(token)


@bp.route("/reauth", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def reauth():
    """Confirm the password before a sensitive change (API keys, webhook secrets, bank details)."""
    return confirm_identity(home_url_for(current_user) if current_user.is_authenticated else url_for("auth.login"))


def confirm_identity(default_next: str, base: str | None = None):
    """The re-authentication page of either portal: the password again, then back to the page."""
    from blueprints.auth.forms import ReauthForm

    if not current_user.is_authenticated:
        return redirect(default_next)
    form = ReauthForm()
    target = local_url(request.args.get("next"), default_next)
    if form.validate_on_submit():
        if web_sessions.confirm_password(current_user, form.password.data):
            return redirect(target)
        form.password.errors.append("That is not your password.")
    return render_template("auth/reauth.html", form=form, base=base), (422 if form.errors else 200)
