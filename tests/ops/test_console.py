"""The jobs console in the admin portal: who may open it, what it shows from RQ's registries and the
outbox, and retry / delete (one and all), each audited with the acting admin."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rq.job import Job

from caas.core import jobs, tenant
from caas.events import outbox
from tests import factories
from tests.helpers import BASE, get, login, post_form
from tests.ops.conftest import audit, run_worker
from tests.ops.jobs_for_tests import allow

CONSOLE = "/admin/jobs"


def as_platform_admin(client, db):
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    return admin


def test_only_platform_admins_open_the_console(client, db):
    c = factories.client(db)
    client_admin = factories.client_admin(db, c)
    borrower = factories.borrower(db, c)
    db.commit()
    assert get(client, CONSOLE).status_code == 302  # anonymous: to the log-in page
    assert "/login" in get(client, CONSOLE).headers["Location"]
    login(client, client_admin.email, factories.PASSWORD)
    assert get(client, CONSOLE).status_code == 403
    assert get(client, f"{CONSOLE}/live").status_code == 403
    client.get("/logout", base_url=BASE)
    login(client, borrower.email, factories.PASSWORD, path=f"/c/{c.slug}/login")
    assert get(client, CONSOLE).status_code == 403
    assert audit(db, "jobs.retry") == []


def test_a_client_admin_cannot_retry_or_delete(client, db, failed_job):
    job_id = failed_job()
    c = factories.client(db)
    client_admin = factories.client_admin(db, c)
    db.commit()
    login(client, client_admin.email, factories.PASSWORD)
    for action in ("retry", "delete"):
        response = post_form(client, f"{CONSOLE}/failed/{job_id}/{action}", {}, token_from="/admin/")
        assert response.status_code == 403
    assert job_id in jobs.queue("default").failed_job_registry
    assert audit(db, "jobs.retry") == [] and audit(db, "jobs.delete") == []


def test_the_console_shows_queues_failed_jobs_with_their_exception_and_the_unsent_outbox(client, db, failed_job):
    job_id = failed_job(label="console")
    c = factories.client(db)
    with tenant.tenant_scope(c.id, db):
        row = outbox.enqueue_job(db, "tests.ops.jobs_for_tests.flaky", queue="events", client_id=c.id)
        row.created_at = datetime.now(timezone.utc) - timedelta(minutes=5)
        db.flush()
    db.info.pop("caas_outbox_pending", None)  # stays unsent: as if Redis had been down at commit
    as_platform_admin(client, db)
    page = get(client, CONSOLE).get_data(as_text=True)
    assert f'data-job-id="{job_id}"' in page
    assert "RuntimeError: flaky job console is not allowed to pass yet" in page
    assert 'data-testid="queue-default"' in page and 'data-testid="queue-events"' in page
    assert "<strong>1</strong> rows wait for the relay" in page and row.job_id in page
    assert "tests.ops.jobs_for_tests.flaky" in page
    # The outbox is read across tenants through the audited platform access.
    assert any(e.after == {"reason": "jobs console"} for e in audit(db, "platform.read_all_tenants"))


def test_retry_puts_the_job_back_and_a_worker_then_finishes_it(app, client, db, failed_job):
    job_id = failed_job()
    admin = as_platform_admin(client, db)
    response = post_form(client, f"{CONSOLE}/failed/{job_id}/retry", {}, token_from=CONSOLE)
    assert response.status_code == 302
    queue = jobs.queue("default")
    assert job_id not in queue.failed_job_registry and queue.job_ids == [job_id]
    [entry] = audit(db, "jobs.retry")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (admin.id, "job", job_id)
    assert entry.after == {"queue": "default", "func": "tests.ops.jobs_for_tests.flaky"}
    allow()
    run_worker(app, "default")
    assert Job.fetch(job_id, connection=jobs.connection()).get_status().value == "finished"
    page = get(client, CONSOLE).get_data(as_text=True)
    assert 'data-testid="finished-job" data-job-id="%s"' % job_id in page
    assert 'data-testid="failed-job" data-job-id="%s"' % job_id not in page


def test_delete_removes_the_job_and_is_audited(client, db, failed_job):
    job_id = failed_job()
    admin = as_platform_admin(client, db)
    assert post_form(client, f"{CONSOLE}/failed/{job_id}/delete", {}, token_from=CONSOLE).status_code == 302
    assert not Job.exists(job_id, connection=jobs.connection())
    assert job_id not in jobs.queue("default").failed_job_registry
    [entry] = audit(db, "jobs.delete")
    assert (entry.actor_id, entry.target_id) == (admin.id, job_id)


def test_an_unknown_job_answers_404_and_writes_no_audit_row(client, db, failed_job):
    finished = failed_job()
    as_platform_admin(client, db)
    for job_id in ("no-such-job", "bad id!"):
        assert post_form(client, f"{CONSOLE}/failed/{job_id}/retry", {}, token_from=CONSOLE).status_code == 404
    jobs.queue("default").failed_job_registry.requeue(finished)  # queued now, no longer failed
    assert post_form(client, f"{CONSOLE}/failed/{finished}/delete", {}, token_from=CONSOLE).status_code == 404
    assert Job.exists(finished, connection=jobs.connection())
    assert audit(db, "jobs.retry") == [] and audit(db, "jobs.delete") == []


def test_retry_without_the_csrf_token_is_refused(client, db, failed_job):
    job_id = failed_job()
    as_platform_admin(client, db)
    response = client.post(f"{CONSOLE}/failed/{job_id}/retry", base_url=BASE, headers={"Referer": BASE + CONSOLE})
    assert response.status_code == 400
    assert job_id in jobs.queue("default").failed_job_registry


def test_bulk_retry_and_delete_by_queue(client, db, failed_job):
    first, second = failed_job("default"), failed_job("default")
    other = failed_job("events")
    admin = as_platform_admin(client, db)
    response = post_form(client, f"{CONSOLE}/failed/retry-all", {"queue": "default"}, token_from=CONSOLE)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/jobs?queue=default")
    assert sorted(jobs.queue("default").job_ids) == sorted([first, second])
    assert jobs.queue("default").failed_job_registry.count == 0
    assert other in jobs.queue("events").failed_job_registry
    [entry] = audit(db, "jobs.retry_all")
    assert (entry.actor_id, entry.target_id, entry.after["count"]) == (admin.id, "default", 2)
    assert sorted(entry.after["job_ids"]) == sorted([first, second])

    assert post_form(client, f"{CONSOLE}/failed/delete-all", {"queue": ""}, token_from=CONSOLE).status_code == 302
    assert not Job.exists(other, connection=jobs.connection())
    [entry] = audit(db, "jobs.delete_all")
    assert (entry.target_id, entry.after["count"], entry.after["job_ids"]) == ("all", 1, [other])
    assert post_form(client, f"{CONSOLE}/failed/retry-all", {"queue": "nope"}, token_from=CONSOLE).status_code == 404


def test_workers_and_their_heartbeat_refresh_by_htmx(client, db, registered_worker):
    as_platform_admin(client, db)
    live = get(client, f"{CONSOLE}/live", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in live and registered_worker.name in live
    assert "default, events" in live and "s ago" in live
    page = get(client, CONSOLE).get_data(as_text=True)
    assert 'hx-get="/admin/jobs/live"' in page and registered_worker.name in page


def test_the_console_says_when_redis_is_down(client, db):
    as_platform_admin(client, db)
    real = jobs.settings.redis_url
    jobs.settings.redis_url = "redis://127.0.0.1:1/0"
    try:
        response = get(client, CONSOLE)
    finally:
        jobs.settings.redis_url = real
    assert response.status_code == 200
    assert "Redis is unreachable" in response.get_data(as_text=True)
