"""The notification centre, the same in every portal: ``add_routes(bp)`` gives a portal's blueprint
its list, the unread badge the nav polls, and mark one / mark all read. Each portal's own guard has
already set who is asking and in which tenant; the views only pick the user's inbox."""
from __future__ import annotations

from typing import Callable

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.common import render, wants_partial
from caas.core.errors import NotFound
from caas.core.extensions import db
from caas.events import inbox

CHANGED = {"HX-Trigger": "notifications-changed"}  # the nav badge listens for it


def add_routes(bp, *, layout: str = "base.html", link_prefix: Callable[[], str] = lambda: "",
               preferences_endpoint: str | None = None) -> None:
    name = bp.name

    def context(**extra) -> dict:
        mine = inbox.for_user(current_user)
        items = extra.pop("items", None)
        return {"layout": layout, "items": items if items is not None else mine.items(db.session),
                "unread": mine.unread(db.session), "link_prefix": link_prefix(), "portal": name,
                "preferences_endpoint": preferences_endpoint, **extra}

    def centre():
        return render("notifications/centre.html", "notifications/_list.html", **context())

    def badge():
        response = render_template("notifications/_badge.html", unread=inbox.for_user(current_user).unread(db.session))
        return response, 200, {"Cache-Control": "no-store"}

    def read_one(notification_id):
        try:
            item = inbox.for_user(current_user).mark_read(db.session, notification_id)
        except NotFound:
            db.session.rollback()
            abort(404)
        db.session.commit()
        if wants_partial():
            return render_template("notifications/_item.html", n=item, link_prefix=link_prefix(), portal=name), \
                200, CHANGED
        target = request.form.get("next", "")
        if item.link and target == "link":
            return redirect(link_prefix() + item.link)
        return redirect(url_for(f"{name}.notifications"))

    def read_all():
        inbox.for_user(current_user).mark_all_read(db.session)
        db.session.commit()
        if wants_partial():
            return render_template("notifications/_list.html", **context()), 200, CHANGED
        return redirect(url_for(f"{name}.notifications"))

    bp.add_url_rule("/notifications", "notifications", centre)
    bp.add_url_rule("/notifications/badge", "notifications_badge", badge)
    bp.add_url_rule("/notifications/<uuid:notification_id>/read", "notification_read", read_one, methods=["POST"])
    bp.add_url_rule("/notifications/read-all", "notifications_read_all", read_all, methods=["POST"])
