"""The tenant isolation matrix (issue 13).

Every rule of the URL map that takes an object id is requested, by every kind of actor of tenant A,
with the ids of tenant B's objects. The answer must be a refusal (401/403/404, or a redirect to a
login page), never a 2xx and never a 500, and no response may contain anything of B's (its names,
its borrower's name and e-mail, its object ids). B's rows must be unchanged after the run.

A rule whose URL parameter is in neither ``OBJECT_PARAMS`` nor ``PLAIN_PARAMS`` fails the gate
test: a new route joins the matrix by saying what its parameter is.

The world is built once for the module and committed (requests run through the app's real engine
as the application role, so row-level security applies exactly as in production); it is truncated
afterwards as in the browser tests.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from tests import factories
from tests.helpers import BASE
from tests.security.world import TenantWorld, build_pair

# URL parameter → which of the tenant's objects to put there (``TenantWorld.ids`` keys; several
# when objects in different states are worth trying). ``client_slug`` is the tenant's slug.
OBJECT_PARAMS: dict[str, tuple[str, ...]] = {
    "client_slug": ("slug",),
    "client_id": ("client_id",),
    "application_id": ("application_id", "open_application_id", "loan_application_id", "draft_application_id"),
    "loan_id": ("loan_id",),
    "invoice_id": ("invoice_id",),
    "payout_id": ("payout_id",),
    "key_id": ("key_id",),
    "endpoint_id": ("endpoint_id",),
    "delivery_id": ("delivery_id",),
    "user_id": ("user_id",),
    "document_id": ("document_id",),
    "bid_id": ("bid_id", "pending_bid_id"),
    "offer_id": ("offer_id", "pending_bid_id"),
    "listing_id": ("listing_id",),
    "provider_id": ("provider_id",),
    "notification_id": ("notification_id", "admin_notification_id"),
    "request_id": ("request_id",),  # a hardship request
    "criteria_id": ("criteria_id",),  # a lender's criteria set: B's lender's, for A's lender
}

# Parameters that name no tenant object: a harmless value that matches the converter.
PLAIN_PARAMS: dict[str, str] = {
    "token": "not-a-real-token",
    "period": "2026-10",
    "step": "terms",
    "kind": "data_processing",
    "job_id": "iso-probe-job",
    "name": "funnel",
    "action": "disable",
    "gateway": "sandbox",
    "filename": "app.css",
}

# Borrower pages anyone may open on a client's portal: they show the client's brand by design.
PUBLIC_BRANDED = {"borrower.login", "borrower.signup", "borrower.logo", "borrower.reset_request",
                  "borrower.reset_password", "borrower.verify_email"}
NOT_REQUESTED = {"static", "auth.logout"}  # no tenant data; logging out would end the role's session

# Form fields a POST carries besides the CSRF token, so that a view that validates its form first
# reaches its object lookup (and would act, were the lookup not scoped).
POST_FIELDS = {"note": "isolation probe", "outcome": "decline", "kind": "contact", "reason": "isolation probe",
               "plan": "holiday", "periods": "1", "consent": "y", "mode": "live", "name": "probe"}
REFUSED = {401, 403, 404}
LOGIN_PATH = re.compile(r"^(/c/[^/]+)?/login$")
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="module")
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


@dataclass
class Actor:
    """One way of acting for tenant A: a logged-in session, an API key, or nobody."""
    name: str
    client: object
    csrf: str | None = None
    api_key: str | None = None
    slug: str | None = None  # the borrower's own portal


def _csrf_of(client, path: str) -> str | None:
    found = CSRF.search(client.get(path, base_url=BASE).get_data(as_text=True))
    return (found.group(1) or found.group(2)) if found else None


def _logged_in(app, email: str, login_path: str, home: str) -> object:
    client = app.test_client()
    token = _csrf_of(client, login_path)
    answer = client.post(login_path, data={"email": email, "password": factories.PASSWORD, "csrf_token": token},
                         base_url=BASE, headers={"Referer": BASE + login_path})
    assert answer.status_code == 302, f"{email} could not log in at {login_path}: {answer.status_code}"
    return client


@pytest.fixture(scope="module")
def actors(app, world):
    a, _ = world
    made = []
    for name, email, login_path, home in (
            ("client_admin_A", a.admin_email, "/login", "/admin/"),
            ("borrower_A", a.borrower_email, f"/c/{a.slug}/login", f"/c/{a.slug}/"),
            ("provider_user_A", a.provider_user_email, "/login", "/provider/")):
        client = _logged_in(app, email, login_path, home)
        made.append(Actor(name, client, csrf=_csrf_of(client, home), slug=a.slug if "borrower" in name else None))
    anonymous = app.test_client()
    made.append(Actor("anonymous", anonymous, csrf=_csrf_of(anonymous, "/login")))
    made.append(Actor("api_key_A", app.test_client(), api_key=a.api_key))
    return made


def _rules(app):
    # (``_test.`` is the test app's own blueprint: a view that fails on purpose)
    return [r for r in app.url_map.iter_rules() if r.endpoint not in NOT_REQUESTED and not r.endpoint.startswith("_test.")]


def _methods(rule) -> list[str]:
    methods = rule.methods - {"HEAD", "OPTIONS"}
    return ["GET"] if "GET" in methods else sorted(methods)


def _value(world: TenantWorld, key: str) -> str:
    return world.slug if key == "slug" else str(world.ids[key])


def _urls(rule, owner: TenantWorld, objects: TenantWorld, slug: str | None = None):
    """Every way to fill the rule with ``objects``' ids (``owner``'s slug when ``slug`` is given)."""
    names = sorted(rule.arguments)
    choices = []
    for name in names:
        if name == "client_slug" and slug is not None:
            choices.append([slug])
        elif name in OBJECT_PARAMS:
            choices.append([_value(objects, key) for key in OBJECT_PARAMS[name]])
        else:
            choices.append([PLAIN_PARAMS[name]])
    for combo in itertools.product(*choices):
        path = rule.rule
        for name, value in zip(names, combo):
            path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", value, path)
        yield path


def _send(actor: Actor, method: str, path: str, data: dict | None = None):
    headers = {"Referer": BASE + path}
    if actor.api_key:
        headers["Authorization"] = f"Bearer {actor.api_key}"
    if method == "GET":
        return actor.client.get(path, base_url=BASE, headers=headers)
    if path.startswith("/api/"):
        return actor.client.open(path, method=method, base_url=BASE, headers=headers,
                                 json={"typed_name": "probe", "consent": True})
    form = {**POST_FIELDS, **(data or {})}
    if actor.csrf:
        form["csrf_token"] = actor.csrf
        headers["X-CSRFToken"] = actor.csrf
    return actor.client.open(path, method=method, base_url=BASE, headers=headers, data=form)


def _leaks(response, markers: list[str], path: str) -> list[str]:
    """B's strings in the answer (body and headers), except those the request itself carried."""
    seen = response.get_data(as_text=True) + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items()
                                                               if k.lower() != "set-cookie")
    return [m for m in markers if m and m not in path and m in seen]


def _refused(response) -> bool:
    if response.status_code in REFUSED:
        return True
    if response.status_code in (302, 303):
        return bool(LOGIN_PATH.match(urlsplit(response.headers.get("Location", "")).path))
    return False


def _b_rows(owner, b: TenantWorld) -> dict[str, str]:
    """A fingerprint of every row that belongs to B (its tenant rows, its lender's rows)."""
    out = {}
    with owner.connect() as conn:
        columns = conn.execute(text(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t "
            "USING (table_schema, table_name) WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
            "AND c.column_name IN ('client_id', 'provider_id')")).all()
        for table, column in columns:
            value = b.client.id if column == "client_id" else b.provider_id
            out[f"{table}.{column}"] = conn.scalar(text(
                f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                f"FROM {table} t WHERE {column} = :v"), {"v": value})
        for table, value in (("clients", b.client.id), ("providers", b.provider_id)):
            out[table] = conn.scalar(text(f"SELECT md5(t::text) FROM {table} t WHERE id = :v"), {"v": value})
    return out


def test_every_url_parameter_is_known_to_the_matrix(app):
    """The gate: a new route with an id parameter must say how the matrix fills it."""
    unknown = sorted(f"{rule.rule} ({rule.endpoint}): <{name}>" for rule in _rules(app) for name in rule.arguments
                     if name not in OBJECT_PARAMS and name not in PLAIN_PARAMS)
    assert unknown == [], "add these parameters to OBJECT_PARAMS or PLAIN_PARAMS:\n" + "\n".join(unknown)


def test_each_actor_reaches_its_own_tenants_objects(world, actors):
    """The control: the same sessions and key do open A's own objects, so a refusal of B's is isolation
    and not a broken login."""
    a, _ = world
    own = {"client_admin_A": f"/admin/clients/{a.client.id}/applications/{a.ids['application_id']}",
           "borrower_A": f"/c/{a.slug}/loans/{a.ids['loan_id']}",
           "provider_user_A": f"/provider/market/{a.ids['listing_id']}",
           "api_key_A": f"/api/v1/loans/{a.ids['loan_id']}"}
    for actor in actors:
        if actor.name in own:
            response = _send(actor, "GET", own[actor.name])
            assert response.status_code == 200, (actor.name, own[actor.name], response.status_code)
            assert a.borrower_name in response.get_data(as_text=True) or actor.name in ("provider_user_A", "api_key_A")


def test_tenant_a_cannot_reach_tenant_b_objects(app, owner, world, actors):
    a, b = world
    markers = [m for m in b.markers() if m != str(b.provider_id)]  # providers are listed across clients
    brand = {b.client.legal_name, b.client.display_name}
    before = _b_rows(owner, b)
    violations, requests = [], 0
    for rule in _rules(app):
        if not any(name in OBJECT_PARAMS for name in rule.arguments):
            continue
        is_api = rule.rule.startswith("/api/")
        for actor in actors:
            if (actor.api_key is not None) != is_api and actor.name != "anonymous":
                continue
            variants = list(_urls(rule, a, b))
            if actor.slug and "client_slug" in rule.arguments and len(rule.arguments - set(PLAIN_PARAMS)) > 1:
                variants += list(_urls(rule, a, b, slug=actor.slug))  # B's objects on A's own portal
            for path in variants:
                for method in _methods(rule):
                    requests += 1
                    try:
                        response = _send(actor, method, path)
                    except Exception as exc:  # noqa: BLE001 - the testing app propagates a 500's exception
                        violations.append(f"{method} {path} [{rule.endpoint}] as {actor.name}: raised {exc!r:.200}")
                        continue
                    public = rule.endpoint in PUBLIC_BRANDED and b.slug in path
                    ok = (response.status_code < 500 and (public or _refused(response)))
                    leaked = _leaks(response, [m for m in markers if not (public and m in brand)], path)
                    if not ok or leaked:
                        violations.append(f"{method} {path} [{rule.endpoint}] as {actor.name}: "
                                          f"{response.status_code}{' leaks ' + str(leaked) if leaked else ''}")
    assert requests > 200
    assert violations == [], f"{len(violations)} of {requests} requests reached B:\n" + "\n".join(violations)
    after = _b_rows(owner, b)
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert changed == [], f"tenant B's rows changed while A acted: {changed}"


# Lists and dashboards take no id but could still show another tenant's rows; query strings that
# name B are tried too.
FILTERS_NAMING_B = ("/admin/billing/invoices?client_id={client_id}", "/admin/analytics/funnel?client={slug}",
                    "/admin/market?client={slug}", "/admin/audit?client={slug}",
                    "/admin/applications?status=referred", "/admin/applications?status=open_for_offers",
                    "/admin/payouts", "/admin/collections", "/api/v1/applications?status=referred",
                    "/provider/market?sort=newest", "/provider/bids?status=winning")


def test_tenant_a_lists_and_dashboards_show_nothing_of_b(app, world, actors):
    a, b = world
    markers = [m for m in b.markers() if m != str(b.provider_id)]
    paths = [rule.rule for rule in _rules(app)
             if "GET" in rule.methods and not any(name in OBJECT_PARAMS for name in rule.arguments)
             and not set(rule.arguments) - set(PLAIN_PARAMS)]
    paths = [re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: PLAIN_PARAMS[m.group(1)], p) for p in paths]
    paths += [f.format(client_id=b.client.id, slug=b.slug) for f in FILTERS_NAMING_B]
    own_portal = [rule.rule.replace("<client_slug>", a.slug) for rule in _rules(app)
                  if "GET" in rule.methods and set(rule.arguments) == {"client_slug"}]
    violations, requests = [], 0
    for actor in actors:
        for path in paths + (own_portal if actor.slug else []):
            if path.startswith("/api/") != bool(actor.api_key) and actor.name != "anonymous":
                continue
            requests += 1
            try:
                response = _send(actor, "GET", path)
            except Exception as exc:  # noqa: BLE001
                violations.append(f"GET {path} as {actor.name}: raised {exc!r:.200}")
                continue
            leaked = _leaks(response, markers, path)
            if response.status_code >= 500 or leaked:
                violations.append(f"GET {path} as {actor.name}: {response.status_code}"
                                  f"{' leaks ' + str(leaked) if leaked else ''}")
    assert violations == [], f"{len(violations)} of {requests} list requests showed B:\n" + "\n".join(violations)
