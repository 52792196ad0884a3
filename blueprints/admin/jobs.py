"""The jobs console (platform admins): queues, workers, scheduled and periodic jobs, failed jobs with
retry and delete (one or all), recently finished jobs, and the outbox rows not yet sent.

Queues and workers come from Redis alone and refresh by HTMX polling (``_jobs_live.html``); the
outbox is read across tenants through the audited platform access, once per page load. Every retry
and delete writes an audit row with the acting admin (``caas.core.jobs_console``).
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from blueprints.admin import bp
from blueprints.admin.forms import ConfirmForm
from blueprints.admin.routes import acting_for, platform_only
from blueprints.common import actor, refuse
from caas.core import jobs, jobs_console, worker
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.events import backlog


def _queue_arg(value: str | None) -> str | None:
    try:
        return jobs_console.check_queue(value)
    except DomainError:
        abort(404)


def _live() -> dict:
    """What the polled part shows; Redis being down is shown, not raised."""
    try:
        return {"queues": jobs_console.queue_counts(), "workers": jobs_console.workers(), "redis_error": None}
    except jobs_console.JobsUnavailable as exc:
        return {"queues": [], "workers": [], "redis_error": exc.message}


@bp.route("/jobs")
@platform_only
def jobs_home():
    queue = _queue_arg(request.args.get("queue"))
    context = _live()
    try:
        configured = [(func, q, int(current_app.config[key])) for func, q, key in worker.PERIODIC]
        context.update(failed=jobs_console.failed_jobs(queue), finished=jobs_console.finished_jobs(queue),
                       scheduled=jobs_console.scheduled_jobs(), periodic=jobs_console.periodic_jobs(configured))
    except jobs_console.JobsUnavailable as exc:
        context.update(failed=[], finished=[], scheduled=[], periodic=[], redis_error=exc.message)
    with acting_for(None, "jobs console"):
        found = backlog.backlog(db.session)
        rows = backlog.unsent(db.session)
        db.session.commit()
    return render_template("admin/jobs.html", queue=queue, backlog=found, unsent=rows, confirm=ConfirmForm(),
                           queue_names=jobs.QUEUES, now=jobs_console.now(), **context)


@bp.route("/jobs/live")
@platform_only
def jobs_live():
    """The queues and workers tables alone, for the page's HTMX poll."""
    return render_template("admin/_jobs_live.html", **_live())


def _act(operation, success: str, queue: str | None = None):  # noqa: ANN001
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        done = operation()
    except DomainError as exc:
        refuse(exc)
    else:
        db.session.commit()
        flash(success.format(done=done), "success")
    return redirect(url_for("admin.jobs_home", queue=queue))


@bp.route("/jobs/failed/<job_id>/retry", methods=["POST"])
@platform_only
def job_retry(job_id: str):
    return _act(lambda: jobs_console.retry(db.session, actor(), job_id).description,
                "Job {done} is queued again.")


@bp.route("/jobs/failed/<job_id>/delete", methods=["POST"])
@platform_only
def job_delete(job_id: str):
    return _act(lambda: jobs_console.delete(db.session, actor(), job_id).description, "Job {done} is deleted.")


@bp.route("/jobs/failed/retry-all", methods=["POST"])
@platform_only
def jobs_retry_all():
    queue = _queue_arg(request.form.get("queue"))
    return _act(lambda: jobs_console.retry_all(db.session, actor(), queue), "{done} failed jobs queued again.", queue)


@bp.route("/jobs/failed/delete-all", methods=["POST"])
@platform_only
def jobs_delete_all():
    queue = _queue_arg(request.form.get("queue"))
    return _act(lambda: jobs_console.delete_all(db.session, actor(), queue), "{done} failed jobs deleted.", queue)
