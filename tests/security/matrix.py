"""The pieces of the isolation matrix: how each URL parameter is filled, who acts for tenant A,
how a request is sent and judged. Used by test_isolation_matrix.py and test_get_is_safe.py."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests import factories
from tests.helpers import BASE, login
from tests.security.world import TenantWorld

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
# Writes a read may legitimately make, each for a reason (test_get_is_safe.py; the form fuzz allows
# them in a refused submission too).
READS_THAT_WRITE = {
    "audit_log": "audited reads (platform access, document downloads)",
    "api_keys": "an API call marks its key as used",
    "usage_events": "API calls are metered for billing",
    "user_sessions": "a signed-in request keeps its session alive",
}
REFUSED = {401, 403, 404}
LOGIN_PATH = re.compile(r"^(/c/[^/]+)?/login$")
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Actor:
    """One way of acting for tenant A: a logged-in session, an API key, or nobody."""
    name: str
    client: object
    csrf: str | None = None
    api_key: str | None = None
    slug: str | None = None  # the borrower's own portal


def csrf_of(client, path: str) -> str | None:
    found = CSRF.search(client.get(path, base_url=BASE).get_data(as_text=True))
    return (found.group(1) or found.group(2)) if found else None


def logged_in(app, email: str, login_path: str) -> object:
    client = app.test_client()
    answer = login(client, email, factories.PASSWORD, login_path)  # with the second factor where it is on
    assert answer.status_code == 302, f"{email} could not log in at {login_path}: {answer.status_code}"
    return client


def rules(app):
    # (``_test.`` is the test app's own blueprint: a view that fails on purpose)
    return [r for r in app.url_map.iter_rules() if r.endpoint not in NOT_REQUESTED and not r.endpoint.startswith("_test.")]


def methods(rule) -> list[str]:
    methods = rule.methods - {"HEAD", "OPTIONS"}
    return ["GET"] if "GET" in methods else sorted(methods)


def _value(world: TenantWorld, key: str) -> str:
    return world.slug if key == "slug" else str(world.ids[key])


def urls(rule, objects: TenantWorld, slug: str | None = None):
    """Every way to fill the rule with ``objects``' ids (and ``slug`` instead of theirs when given)."""
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


def send(actor: Actor, method: str, path: str, data: dict | None = None):
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


def leaks(response, markers: list[str], path: str) -> list[str]:
    """B's strings in the answer (body and headers), except those the request itself carried."""
    seen = response.get_data(as_text=True) + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items()
                                                               if k.lower() != "set-cookie")
    return [m for m in markers if m and m not in path and m in seen]


def refused(response) -> bool:
    if response.status_code in REFUSED:
        return True
    if response.status_code in (302, 303):
        return bool(LOGIN_PATH.match(urlsplit(response.headers.get("Location", "")).path))
    return False


