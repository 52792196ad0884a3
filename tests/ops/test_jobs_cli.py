"""``flask jobs queues|failed|retry|delete``: --help everywhere, --json where it lists, the same
audited operations as the console (as ``cli:<os user>``), one-line refusals that change nothing."""
from __future__ import annotations


import pytest
from rq.job import Job

from caas.core import jobs
from tests.ops.conftest import audit
from tests.ops_cli.conftest import OPERATOR, as_json, ok, refused


@pytest.fixture
def cli(app, db):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["jobs", *args])


@pytest.mark.parametrize("command", ["queues", "failed", "retry", "delete"])
def test_every_command_has_help(cli, command):
    assert "Usage:" in ok(cli(command, "--help"))


def test_queues_lists_every_queue_with_its_registries(cli, failed_job):
    failed_job("billing")
    rows = {row["name"]: row for row in as_json(cli("queues", "--json"))}
    assert list(rows) == list(jobs.QUEUES)
    assert rows["billing"]["failed"] == 1 and rows["billing"]["queued"] == 0 and rows["default"]["failed"] == 0
    table = ok(cli("queues")).splitlines()
    assert table[0].split() == ["QUEUE", "WAITING", "RUNNING", "SCHEDULED", "FAILED", "FINISHED"]
    assert table[3].split() == ["billing", "0", "0", "0", "1", "0"]


def test_failed_lists_jobs_with_their_exception_and_filters_by_queue(cli, failed_job):
    first = failed_job("default", label="one")
    other = failed_job("events", label="two")
    rows = as_json(cli("failed", "--json"))
    assert {r["id"] for r in rows} == {first, other}
    row = next(r for r in rows if r["id"] == first)
    assert row["queue"] == "default" and row["func"] == "tests.ops.jobs_for_tests.flaky"
    assert row["exception"] == "RuntimeError: flaky job one is not allowed to pass yet"
    assert [r["id"] for r in as_json(cli("failed", "--queue", "events", "--json"))] == [other]
    assert other in ok(cli("failed")) and "FAILED AT" in ok(cli("failed"))
    assert ok(cli("failed", "--queue", "payouts")).strip() == "no failed jobs"


def test_retry_one_job_is_audited_as_the_operator(cli, db, failed_job):
    job_id = failed_job()
    assert ok(cli("retry", job_id)).strip() == f"queued again: {job_id} (default)"
    assert jobs.queue("default").job_ids == [job_id]
    [entry] = audit(db, "jobs.retry")
    assert (entry.actor_role, entry.actor_id, entry.target_id) == (OPERATOR, None, job_id)


def test_retry_all_of_a_queue(cli, db, failed_job):
    mine = [failed_job("scoring"), failed_job("scoring")]
    other = failed_job("payouts")
    assert ok(cli("retry", "--all", "--queue", "scoring")).strip() == "queued again: 2 failed jobs"
    assert sorted(jobs.queue("scoring").job_ids) == sorted(mine) and other in jobs.queue("payouts").failed_job_registry
    [entry] = audit(db, "jobs.retry_all")
    assert (entry.actor_role, entry.target_id, entry.after["count"]) == (OPERATOR, "scoring", 2)


def test_delete_one_and_all(cli, db, failed_job):
    one, two, three = failed_job(), failed_job(), failed_job("events")
    assert ok(cli("delete", one)).strip() == f"deleted: {one} (default)"
    assert not Job.exists(one, connection=jobs.connection())
    assert ok(cli("delete", "--all", "--yes")).strip() == "deleted: 2 failed jobs"
    assert not Job.exists(two, connection=jobs.connection()) and not Job.exists(three, connection=jobs.connection())
    assert [e.target_id for e in audit(db, "jobs.delete")] == [one]
    assert [e.after["count"] for e in audit(db, "jobs.delete_all")] == [2]


def test_bad_arguments_exit_non_zero_with_one_line_and_change_nothing(cli, db, failed_job):
    job_id = failed_job()
    assert refused(cli("retry"), code=2) == "Error: give a JOB_ID or --all"
    assert refused(cli("retry", job_id, "--all"), code=2) == "Error: give a JOB_ID or --all, not both"
    assert "--queue goes with --all" in refused(cli("retry", job_id, "--queue", "default"), code=2)
    assert "'--queue'" in refused(cli("retry", "--all", "--queue", "nope"), code=2)
    assert "'--queue'" in refused(cli("failed", "--queue", "nope"), code=2)
    assert "'--limit'" in refused(cli("failed", "--limit", "0"), code=2)
    assert refused(cli("retry", "no-such-job"), code=1) == "Error: failed job 'no-such-job' not found"
    assert refused(cli("delete", "no-such-job"), code=1) == "Error: failed job 'no-such-job' not found"
    assert "add --yes" in refused(cli("delete", "--all"), code=2)
    assert job_id in jobs.queue("default").failed_job_registry
    assert audit(db, "jobs.retry") == [] and audit(db, "jobs.delete") == [] and audit(db, "jobs.delete_all") == []


def test_redis_down_is_one_line(cli, db):
    real = jobs.settings.redis_url
    jobs.settings.redis_url = "redis://127.0.0.1:1/0"
    try:
        result = cli("failed", "--json")
    finally:
        jobs.settings.redis_url = real
    assert refused(result, code=1) == "Error: Redis is unreachable (ConnectionError)."
