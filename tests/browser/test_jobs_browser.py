"""The jobs console in Chromium: a platform admin finds a failed job, retries it, a worker runs it,
and the console shows it finished and no longer failed."""
from __future__ import annotations

import pytest

from caas.core import jobs
from caas.core.extensions import db
from tests import factories
from tests.browser.test_marketplace_browser import login
from tests.ops.conftest import make_failed, run_worker
from tests.ops.jobs_for_tests import FLAG, allow

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_and_failed_job(live_app, live_server):
    with live_app.app_context():
        admin = factories.platform_admin(db.session)
        db.session.commit()
        email = admin.email
        db.session.remove()
    jobs.connection().delete(FLAG)
    job_id = make_failed(live_app, "default", label="browser")
    yield email, job_id
    jobs.connection().flushdb()


def test_an_admin_retries_a_failed_job_and_sees_it_succeed(browser, live_app, live_server, admin_and_failed_job):
    email, job_id = admin_and_failed_job
    page = browser.new_page()
    login(page, live_server, email, factories.PASSWORD)
    page.get_by_test_id("nav").get_by_role("link", name="Jobs").click()
    failed = page.locator(f'[data-testid="failed-job"][data-job-id="{job_id}"]')
    assert "is not allowed to pass yet" in failed.get_by_test_id("exc-tail").inner_text()
    assert page.get_by_test_id("queue-default").get_by_test_id("queue-depth").inner_text() == "0"

    failed.get_by_role("button", name="Retry").click()
    assert "Job tests.ops.jobs_for_tests.flaky('browser') is queued again." in page.locator(".alert").first.inner_text()
    assert page.locator(f'[data-testid="failed-job"][data-job-id="{job_id}"]').count() == 0
    assert page.get_by_test_id("queue-default").get_by_test_id("queue-depth").inner_text() == "1"

    allow()  # the cause is fixed; a worker takes the job
    run_worker(live_app, "default")
    page.reload()
    assert page.locator(f'[data-testid="finished-job"][data-job-id="{job_id}"]').count() == 1
    assert page.locator(f'[data-testid="failed-job"][data-job-id="{job_id}"]').count() == 0
    assert page.get_by_test_id("queue-default").get_by_test_id("queue-depth").inner_text() == "0"
    page.context.close()
