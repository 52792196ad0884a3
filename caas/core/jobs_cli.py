"""``flask jobs queues|failed|retry|delete``: the jobs console at the command line.

The same operations as the admin console (``caas.core.jobs_console``), audited as the operator
(``cli:<os user>``). Bad arguments end with one line and a non-zero status (see cli_output).
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from caas.core import jobs
from caas.core.cli_output import OperatorGroup, committing, emit, json_option, operator

jobs_cli = OperatorGroup("jobs", help="Background jobs: queues, failed jobs, retry and delete.")

queue_option = click.option("--queue", type=click.Choice(jobs.QUEUES), default=None,
                            help="Only this queue (default: every queue).")


def _failed_rows(rows) -> list[dict]:  # noqa: ANN001
    return [{"id": r.id, "queue": r.queue, "func": r.func, "failed_at": r.ended_at, "client_id": r.client_id,
             "exception": r.exc_tail.splitlines()[-1] if r.exc_tail else None, "exc_tail": r.exc_tail}
            for r in rows]


@jobs_cli.command("queues")
@json_option
@with_appcontext
def queues_command(as_json: bool) -> None:
    """Each queue's waiting, running, scheduled, failed and finished jobs."""
    from caas.core import jobs_console

    with committing():
        rows = [vars(c) for c in jobs_console.queue_counts()]
    emit(rows, [("name", "QUEUE"), ("queued", "WAITING"), ("started", "RUNNING"), ("scheduled", "SCHEDULED"),
                ("failed", "FAILED"), ("finished", "FINISHED")], as_json)


@jobs_cli.command("failed")
@queue_option
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True,
              help="At most this many, newest first.")
@json_option
@with_appcontext
def failed_command(queue: str | None, limit: int, as_json: bool) -> None:
    """Failed jobs (their retries used up), newest first, with the exception's last line."""
    from caas.core import jobs_console

    with committing():
        rows = _failed_rows(jobs_console.failed_jobs(queue, limit))
    emit(rows, [("id", "ID"), ("queue", "QUEUE"), ("func", "FUNCTION"), ("failed_at", "FAILED AT"),
                ("exception", "EXCEPTION")], as_json, empty="no failed jobs")


def _target(job_id: str | None, every: bool, queue: str | None) -> None:
    if bool(job_id) == every:
        raise click.UsageError("give a JOB_ID or --all, not both" if every else "give a JOB_ID or --all")
    if queue and not every:
        raise click.UsageError("--queue goes with --all (a job id names its queue already)")


def _apply(job_id: str | None, every: bool, queue: str | None, one, bulk, done: str) -> None:  # noqa: ANN001
    """Run the single or the bulk operation in one committed, audited transaction."""
    with committing() as session:
        if every:
            message = f"{done}: {bulk(session, operator(), queue)} failed jobs"
        else:
            row = one(session, operator(), job_id)
            message = f"{done}: {row.id} ({row.queue})"
    click.echo(message)


@jobs_cli.command("retry")
@click.argument("job_id", required=False)
@click.option("--all", "every", is_flag=True, help="Every failed job (of --queue, or of all queues).")
@queue_option
@with_appcontext
def retry_command(job_id: str | None, every: bool, queue: str | None) -> None:
    """Put a failed job (or all of them) back on its queue. Audited."""
    from caas.core import jobs_console

    _target(job_id, every, queue)
    _apply(job_id, every, queue, jobs_console.retry, jobs_console.retry_all, "queued again")


@jobs_cli.command("delete")
@click.argument("job_id", required=False)
@click.option("--all", "every", is_flag=True, help="Every failed job (of --queue, or of all queues).")
@queue_option
@click.option("--yes", is_flag=True, help="Confirm --all (it cannot be undone).")
@with_appcontext
def delete_command(job_id: str | None, every: bool, queue: str | None, yes: bool) -> None:
    """Delete a failed job (or all of them) for good. Audited."""
    from caas.core import jobs_console

    _target(job_id, every, queue)
    if every and not yes:
        raise click.UsageError("--all deletes every failed job for good: add --yes to confirm")
    _apply(job_id, every, queue, jobs_console.delete, jobs_console.delete_all, "deleted")
