"""Two-factor authentication on the web: the second log-in step, admins' mandatory enrolment, and
the settings page. The same views serve the staff log-in (auth blueprint) and every client's portal
(borrower blueprint, which passes its client); caas.tenancy.two_factor holds the rules."""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup

from blueprints.auth import sessions as web_sessions
from blueprints.auth.forms import CodeForm
from blueprints.common import actor
from caas.audit.operations import Actor
from caas.core import clock
from caas.core.errors import DomainError
from caas.core.extensions import db, limiter
from caas.tenancy import two_factor
from caas.tenancy.models import Role

EXPIRED = "Your log-in took too long or has ended. Please log in again."


def _portal() -> str:
    return "borrower" if request.blueprint == "borrower" else "auth"


def _base() -> str | None:
    return "borrower/base.html" if _portal() == "borrower" else None


def after_password(user, home: str, *, password_changed: bool = False):
    """The password was right: log in, or first ask for the code (two-factor on), or first enrol
    (an admin without it; the secret is made here, in this POST, so the enrolment page only reads).
    The caller commits."""
    if two_factor.enabled(db.session, user):
        web_sessions.hold(user, "code", home, password_changed=password_changed)
        return redirect(url_for(f"{_portal()}.two_factor_code"))
    if two_factor.required_for(user):
        two_factor.begin_enrolment(db.session, user, clock.now())
        web_sessions.hold(user, "enrol", home, password_changed=password_changed)
        return redirect(url_for("auth.two_factor_enrol"))
    web_sessions.begin(user, password_changed=password_changed)
    return redirect(home)


def _as_actor(user) -> Actor:
    return Actor(user_id=user.id, role=user.role.value, ip_address=request.remote_addr,
                 request_id=g.get("request_id"))


def qr_svg(uri: str) -> Markup:
    """The otpauth:// address as an inline SVG QR code (no script, no style: the CSP allows it)."""
    import segno

    svg = segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your authenticator app",
                                               svgclass="totp-qr", lineclass=None)
    return Markup(svg)  # noqa: S704  (segno's own markup of our own address)


def _enrolment(user, row) -> dict:
    secret = two_factor.secret_of(row)
    return {"secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
            "qr": qr_svg(two_factor.provisioning_uri(secret, user.email))}


def code_limit() -> str:
    return current_app.config["TWO_FACTOR_RATE_LIMIT"]


def _failed(response) -> bool:
    return response.status_code == 422


def throttled_code(view):
    """Code attempts: failed ones per account waiting (TWO_FACTOR_RATE_LIMIT), every one per address."""
    from blueprints.auth.routes import login_limit

    view = limiter.limit(code_limit, key_func=web_sessions.held_key, methods=["POST"], deduct_when=_failed)(view)
    return limiter.limit(login_limit, methods=["POST"])(view)


def _log_in(user) -> str:
    """The second factor is given: start the session (rotated) and return the way home."""
    home = web_sessions.held_home()
    web_sessions.begin(user, second_factor=True)
    db.session.commit()
    return home


def code_step(portal_client=None):
    """The second log-in step: a code from the app, or a recovery code."""
    login = url_for(f"{_portal()}.login")
    user = web_sessions.held("code", portal_client)
    if user is None:
        flash(EXPIRED, "info")
        return redirect(login)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            used = two_factor.verify(db.session, _as_actor(user), user, form.code.data, clock.now())
        except DomainError as exc:
            db.session.rollback()
            form.code.errors.append(exc.message)
        else:
            home = _log_in(user)
            if used == "recovery":
                left = two_factor.get(db.session, user.id).recovery_codes_left
                flash(f"You logged in with a recovery code; {left} of them left. Make new ones on your "
                      "two-factor page if you are running out.", "warning")
            return redirect(home)
    return render_template("auth/two_factor_code.html", form=form, base=_base(), login=login), \
        (422 if form.errors else 200)


def enrol_step():
    """An admin without two-factor, after the password: scan, type the first code, get the recovery
    codes. No admin page opens before this is done."""
    user = web_sessions.held("enrol")
    row = two_factor.get(db.session, user.id) if user is not None else None
    if row is None or row.is_enabled:
        flash(EXPIRED, "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(db.session, _as_actor(user), user, form.code.data, clock.now())
        except DomainError as exc:
            db.session.rollback()
            form.code.errors.append(exc.message)
        else:
            return render_template("auth/recovery_codes.html", codes=codes, next=_log_in(user), first=True)
    return render_template("auth/two_factor_enrol.html", form=form, required=True, action=request.path,
                           **_enrolment(user, row)), (422 if form.errors else 200)


# --- The settings page (every signed-in user; a borrower's on their client's portal) ------------

def _settings_url() -> str:
    return url_for(f"{_portal()}.two_factor_settings")


def settings_page(code_form: CodeForm | None = None, status: int = 200):
    row = two_factor.get(db.session, current_user.id)
    context = {}
    if row is not None and not row.is_enabled:
        context = _enrolment(current_user, row)
    return render_template("auth/two_factor_settings.html", row=row, base=_base(), form=FlaskForm(),
                           code_form=code_form or CodeForm(formdata=None), portal=_portal(),
                           required=two_factor.required_for(current_user), **context), status


def settings_action(action: str):
    """POST from the settings page: ``setup`` (a new secret to scan), ``enable`` (the first code),
    ``disable`` (a current code; not for admins), ``recovery`` (new recovery codes; the view is
    wrapped in recent_login_required)."""
    now = clock.now()
    if action == "setup":
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            two_factor.begin_enrolment(db.session, current_user, now)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "info")
        db.session.commit()
        return redirect(_settings_url())
    if action == "recovery":
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            codes = two_factor.regenerate_recovery_codes(db.session, actor(), current_user, now)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(_settings_url())
        db.session.commit()
        return render_template("auth/recovery_codes.html", codes=codes, next=_settings_url(), base=_base())
    form = CodeForm()
    if form.validate_on_submit():
        try:
            if action == "enable":
                codes = two_factor.confirm_enrolment(db.session, actor(), current_user, form.code.data, now)
            else:
                two_factor.disable(db.session, actor(), current_user, form.code.data, now)
        except DomainError as exc:
            db.session.rollback()
            if exc.field:
                form.code.errors.append(exc.message)
            else:
                flash(exc.message, "error")
                return redirect(_settings_url())
        else:
            db.session.commit()
            if action == "enable":
                return render_template("auth/recovery_codes.html", codes=codes, next=_settings_url(), base=_base())
            flash("Two-factor authentication is off.", "success")
            return redirect(_settings_url())
    return settings_page(form, 422)


def staff_only():
    """The staff settings page is for staff; a borrower's is on their client's portal."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    if current_user.role == Role.borrower:
        abort(403)
    return None
