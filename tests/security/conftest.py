"""One two-tenant world for the whole package, committed (requests go through the app's real
engine as the application role), truncated at the end as in the browser tests; and the actors of
tenant A, each with its own test client."""
from __future__ import annotations

import pytest

from tests.security.matrix import Actor, csrf_of, logged_in
from tests.security.world import build_pair


@pytest.fixture(scope="package")
def world(app, owner):
    from caas.core import jobs, tenant
    from caas.core.extensions import db as database
    from tests.browser.conftest import truncate_all

    ctx = app.app_context()
    ctx.push()
    database.session.remove()
    try:
        a, b = build_pair(database.session)
        database.session.commit()
    finally:
        database.session.remove()
        tenant.reset()
        ctx.pop()
    yield a, b
    truncate_all(owner)
    jobs.connection().flushdb()


@pytest.fixture(scope="package")
def actors(app, world):
    a, _ = world
    made = []
    for name, email, login_path, home in (
            ("client_admin_A", a.admin_email, "/login", "/admin/"),
            ("borrower_A", a.borrower_email, f"/c/{a.slug}/login", f"/c/{a.slug}/"),
            ("provider_user_A", a.provider_user_email, "/login", "/provider/")):
        client = logged_in(app, email, login_path)
        made.append(Actor(name, client, csrf=csrf_of(client, home), slug=a.slug if "borrower" in name else None))
    anonymous = app.test_client()
    made.append(Actor("anonymous", anonymous, csrf=csrf_of(anonymous, "/login")))
    made.append(Actor("api_key_A", app.test_client(), api_key=a.api_key))
    return made


