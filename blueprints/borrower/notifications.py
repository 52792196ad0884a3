"""The borrower's notification centre and notification preferences."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints import notification_centre
from blueprints.borrower import bp
from blueprints.borrower.forms import PreferencesForm
from blueprints.forms_util import apply_error
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.credit import profiles
from caas.events import catalogue, preferences

notification_centre.add_routes(bp, layout="borrower/base.html",
                               link_prefix=lambda: url_for("borrower.home").rstrip("/"),
                               preferences_endpoint="borrower.notification_preferences")


@bp.route("/notifications/preferences", methods=["GET", "POST"])
def notification_preferences():
    optional = [t for t in catalogue.borrower_templates() if t.optional]
    required = [t for t in catalogue.borrower_templates() if t.required]
    form = PreferencesForm()
    form.emails.choices = [(t.key, t.title) for t in optional]
    choice = preferences.get(db.session, current_user.id)
    if request.method == "GET":
        off = set(choice.email_opt_outs) if choice else set()
        form.emails.data = [t.key for t in optional if t.key not in off]
        form.sms_opt_in.data = bool(choice and choice.sms_opt_in)
    if form.validate_on_submit():
        # The form lists what to receive (required messages are not offered); what is kept is what
        # was turned off.
        wanted = set(form.emails.data or [])
        off = [t.key for t in optional if t.key not in wanted]
        try:
            preferences.save(db.session, current_user.id, g.client.id, emails_off=off,
                             sms_opt_in=form.sms_opt_in.data)
        except DomainError as exc:
            db.session.rollback()
            apply_error(form, exc)
        else:
            db.session.commit()
            flash("Your notification preferences are saved.", "success")
            return redirect(url_for("borrower.notification_preferences"))
    profile = profiles.get(db.session, current_user.id)
    return render_template("borrower/notification_preferences.html", form=form, required=required,
                           phone=profile.phone if profile else None), 200 if not form.errors else 422
