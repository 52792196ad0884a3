"""A tenant's webhook delivery log and its actions, for client admins and (audited) platform
admins: the log per endpoint with filters, one delivery's attempts, resend, replay a time range,
send a test event, rotate the signing secret (shown once)."""
from __future__ import annotations

import json
import uuid
from datetime import timezone

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, SelectField
from wtforms.validators import DataRequired, Optional

from blueprints.admin import bp
from blueprints.auth.sessions import recent_login_required
from blueprints.admin.forms import ConfirmForm
from blueprints.admin.routes import tenant_page
from blueprints.common import actor, refuse, render
from blueprints.forms_util import apply_error
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.events import deliveries, webhooks
from caas.events.models import DeliveryStatus, WebhookEndpoint

STATUS_CHOICES = [("", "Any status")] + [(s.value, s.value) for s in DeliveryStatus]


class DeliveryFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("Status", choices=STATUS_CHOICES, validators=[Optional()])
    event_type = SelectField("Event type", choices=[("", "Any event")], validators=[Optional()])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])


class ReplayForm(FlaskForm):
    start = DateTimeLocalField("From (UTC)", format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    end = DateTimeLocalField("To (UTC)", format="%Y-%m-%dT%H:%M", validators=[DataRequired()])


def _endpoint(client_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    try:
        endpoint = webhooks.get(db.session, endpoint_id)
    except DomainError:
        abort(404)
    if endpoint.client_id != client_id:
        abort(404)
    return endpoint


def _log_page(client_id: uuid.UUID, endpoint: WebhookEndpoint, *, replay_form: ReplayForm | None = None,
              secret: str | None = None, status: int = 200):
    form = DeliveryFilterForm(request.args)
    form.event_type.choices = [("", "Any event")] + [(e, e) for e in (*endpoint.events, deliveries.TEST_EVENT)]
    form.validate()
    filters = deliveries.LogFilters(
        status=form.status.data if not form.status.errors else "",
        event_type=form.event_type.data if not form.event_type.errors else "",
        date_from=form.date_from.data, date_to=form.date_to.data)
    rows, cursor = deliveries.list_deliveries(db.session, endpoint.id, filters, before=request.args.get("before"))
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    context = dict(client=g.scoped_client, endpoint=endpoint, form=form, rows=rows, cursor=cursor, args=args,
                   replay_form=replay_form or ReplayForm(formdata=None), confirm=ConfirmForm(), secret=secret)
    if request.method == "GET":
        return render("admin/deliveries.html", "admin/_deliveries_table.html", **context), status
    return render_template("admin/deliveries.html", **context), status


@bp.route("/clients/<uuid:client_id>/webhooks/<uuid:endpoint_id>/deliveries")
@tenant_page
def webhook_deliveries(client_id: uuid.UUID, endpoint_id: uuid.UUID):
    return _log_page(client_id, _endpoint(client_id, endpoint_id))


@bp.route("/clients/<uuid:client_id>/webhooks/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>")
@tenant_page
def webhook_delivery(client_id: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID):
    endpoint = _endpoint(client_id, endpoint_id)
    try:
        delivery = deliveries.get_delivery(db.session, delivery_id, endpoint.id)
    except DomainError:
        abort(404)
    return render("admin/deliveries_detail.html", "admin/_deliveries_attempts.html", client=g.scoped_client,
                  endpoint=endpoint, delivery=delivery, attempts=deliveries.attempts_of(db.session, delivery.id),
                  payload=json.dumps(deliveries.envelope(delivery), indent=2, ensure_ascii=False),
                  confirm=ConfirmForm())


def _act(client_id: uuid.UUID, work, done: str, back: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        work()
    except DomainError as exc:
        refuse(exc)
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(back)


@bp.route("/clients/<uuid:client_id>/webhooks/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/resend",
          methods=["POST"])
@tenant_page
def webhook_delivery_resend(client_id: uuid.UUID, endpoint_id: uuid.UUID, delivery_id: uuid.UUID):
    endpoint = _endpoint(client_id, endpoint_id)
    return _act(client_id, lambda: deliveries.resend(db.session, actor(), delivery_id, endpoint.id),
                "Resending the event now.",
                url_for("admin.webhook_delivery", client_id=client_id, endpoint_id=endpoint_id,
                        delivery_id=delivery_id))


@bp.route("/clients/<uuid:client_id>/webhooks/<uuid:endpoint_id>/test", methods=["POST"])
@tenant_page
def webhook_send_test(client_id: uuid.UUID, endpoint_id: uuid.UUID):
    endpoint = _endpoint(client_id, endpoint_id)
    return _act(client_id, lambda: deliveries.send_test(db.session, actor(), endpoint.id),
                "Test event queued: it appears below once sent.",
                url_for("admin.webhook_deliveries", client_id=client_id, endpoint_id=endpoint_id))


@bp.route("/clients/<uuid:client_id>/webhooks/<uuid:endpoint_id>/replay", methods=["POST"])
@tenant_page
def webhook_replay(client_id: uuid.UUID, endpoint_id: uuid.UUID):
    endpoint = _endpoint(client_id, endpoint_id)
    form = ReplayForm()
    if form.validate_on_submit():
        start = form.start.data.replace(tzinfo=timezone.utc)
        end = form.end.data.replace(tzinfo=timezone.utc)
        try:
            count = deliveries.replay(db.session, actor(), endpoint.id, start, end)
        except DomainError as exc:
            db.session.rollback()
            if exc.status == 404:
                abort(404)
            apply_error(form, exc)
        else:
            db.session.commit()
            flash(f"Replaying {count} event{'s' if count != 1 else ''}.", "success")
            return redirect(url_for("admin.webhook_deliveries", client_id=client_id, endpoint_id=endpoint_id))
    return _log_page(client_id, endpoint, replay_form=form, status=422)


@bp.route("/clients/<uuid:client_id>/webhooks/<uuid:endpoint_id>/rotate", methods=["POST"])
@recent_login_required
@tenant_page
def webhook_rotate(client_id: uuid.UUID, endpoint_id: uuid.UUID):
    _endpoint(client_id, endpoint_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        endpoint, secret = webhooks.rotate_secret(db.session, actor(), endpoint_id)
    except DomainError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    return _log_page(client_id, endpoint, secret=secret)
