"""The whole platform under a mixed load for 60 s: gunicorn on loopback with the production settings
(deploy/gunicorn.conf.py), RQ workers and the scheduler (outbox relay, sweeps) running as the
Procfile runs them, and closed-loop virtual users in threads doing what people do:

- borrowers on the portal: the home page, their application's status page and its HTMX poll, the
  unread badge; now and then the whole application wizard (start, terms, income, review, submit,
  then the status page);
- providers: the marketplace, its HTMX "new since" poll, a listing; now and then a bid on it;
- platform and client admins: dashboards and lists;
- API clients: reads (list, one application, its offers, ping) and submissions (201, scored by the
  workers).

    python -m bench load                (60 s; --duration 10 for a smoke run; --help for the rest)
    python -m bench load --profile DIR  (one worker, one thread, a cProfile per group: bench/_profile.py)

It prints requests per second, p50/p95/p99 per endpoint group and for pages and API calls, the
error rate, the job lag (an application's submission committed -> its scoring job finished, from
`applications.submitted_at` and the job's end in RQ; and for every job, enqueued -> finished, per
queue), and the resident memory of each web and job worker, with the targets beside them.

Data (database `caas_bench_load`, Redis database 14; new tenants every run, so a re-run finds
nothing in its way): two clients, each with an API key (every scope), a client admin and high
quotas; one platform admin; six funded providers in both clients' networks, each with broad NGN
criteria and a user; per client 24 borrowers who log in (profile, consents, one scored application
each) and 60 more applicants, all scored before the load by a burst worker in the set-up process,
so the marketplace has open listings. Every virtual user logs in through the real forms before the
load; the log-in throttle is raised for the run because every user comes from 127.0.0.1. The
client threads share the 2 CPUs with the server, PostgreSQL, Redis and the workers (their CPU time
is printed).
"""
from __future__ import annotations

import argparse
import http.client
import html
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench._http import BIN, ROOT, drop_database, flush_redis, free_port, owner_dsn, prepare, services, wait_until_up

DATABASE = "caas_bench_load"
REDIS_DB = 14
CLIENTS = 2
PROVIDERS = 6
LOGIN_BORROWERS = 24  # per client: borrowers with a password, one per client thread at most
EXTRA_APPLICANTS = 60  # per client: scored applications from applicants who never log in
PASSWORD = "bench-load-password-2026"
USER_AGENT = "caas-bench-load/1"

TARGET_RPS = 300.0
TARGET_PAGE_P95_MS = 50.0
TARGET_API_P95_MS = 30.0
TARGET_ERROR_RATE = 0.001
TARGET_JOB_LAG_P95_S = 2.0

# Endpoint groups: name -> kind ("page" or "api"), in the order they are printed.
GROUPS = {
    "portal pages": "page",    # borrower GETs: home, status page, status poll, badge
    "portal apply": "page",    # the wizard: start, steps, submit and the status page after it
    "market": "page",          # provider: marketplace, "new since" poll, listing, my bids
    "bid": "page",             # provider: the bid POST and the listing page it redirects to
    "admin": "page",           # platform and client admins' dashboards and lists
    "api read": "api",         # GET list, one application, its offers, ping
    "api submit": "api",       # POST /api/v1/applications
}

# Tasks a virtual user picks from. A task is 1 request (API read or submission, admin page), about
# 1.5 (marketplace: the page and often a listing, or the poll), 4 (a bid: market, listing, POST,
# redirect), 5 (a borrower's look: home, status, two polls, badge) or 7 (the wizard: home, start,
# edit, terms, income, review, status). The weights are the wanted share of requests divided by
# that: about 30 % API reads, 4 % API submissions, 25 % marketplace, 2 % bids, 20 % borrower pages,
# 7 % wizard (about 1 portal submission per 100 requests) and 11 % admin pages. The printed shares
# are what happened.
TASKS = {
    "api_read": 60, "api_submit": 8, "provider_browse": 34, "provider_bid": 1, "borrower_browse": 8,
    "borrower_apply": 2, "admin_view": 22,
}


# --- Pure helpers (tests/unit/test_bench_load.py) -------------------------------------------------

def percentile(ordered: list[float], q: float) -> float:
    """The q-th percentile (0-100) of ascending ``ordered`` by linear interpolation between the
    closest ranks (numpy's default); 0.0 for no values."""
    if not ordered:
        return 0.0
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise(latencies: list[float], errors: int, seconds: float) -> dict:
    """Requests, errors, requests per second and p50/p95/p99 in milliseconds of one group."""
    ordered = sorted(latencies)
    total = len(ordered) + errors
    return {"requests": total, "errors": errors, "rps": round(total / seconds, 1) if seconds else 0.0,
            "p50_ms": round(percentile(ordered, 50) * 1000, 1), "p95_ms": round(percentile(ordered, 95) * 1000, 1),
            "p99_ms": round(percentile(ordered, 99) * 1000, 1)}


def verdict(value: float, target: float, *, at_least: bool = False) -> str:
    return "PASS" if (value >= target if at_least else value < target) else "MISS"


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]


_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_ATTR = re.compile(r"""([\w:.-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_INPUT = re.compile(r"<input\b([^>]*)>", re.I)
_SELECT = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S | re.I)
_OPTION = re.compile(r"<option\b([^>]*)>", re.I)
_TEXTAREA = re.compile(r"<textarea\b([^>]*)>(.*?)</textarea>", re.S | re.I)


def attributes(tag_inside: str) -> dict[str, str]:
    return {m.group(1).lower(): html.unescape(next((g for g in m.groups()[1:] if g is not None), ""))
            for m in _ATTR.finditer(tag_inside)}


def forms(page: str) -> list[Form]:
    """The forms of a page with the values a browser would submit untouched: text-like inputs and
    hidden ones, checked boxes and radios, each select's selected (else first) option, textareas."""
    found = []
    for form_match in _FORM.finditer(page):
        form_attrs, body = attributes(form_match.group(1)), form_match.group(2)
        values: dict[str, str] = {}
        for m in _INPUT.finditer(body):
            a = attributes(m.group(1))
            name, kind = a.get("name"), a.get("type", "text").lower()
            if not name or kind in ("submit", "button", "file", "image", "reset"):
                continue
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    values[name] = a.get("value", "on")
            else:
                values[name] = a.get("value", "")
        for m in _SELECT.finditer(body):
            name = attributes(m.group(1)).get("name")
            options = [attributes(o.group(1)) for o in _OPTION.finditer(m.group(2))]
            chosen = next((o for o in options if "selected" in o), options[0] if options else None)
            if name and chosen is not None:
                values[name] = chosen.get("value", "")
        for m in _TEXTAREA.finditer(body):
            name = attributes(m.group(1)).get("name")
            if name:
                values[name] = html.unescape(m.group(2))
        found.append(Form(form_attrs.get("action", ""), form_attrs.get("method", "get").lower(), values))
    return found


def form_for(page: str, action_contains: str = "", *, testid: str | None = None) -> Form | None:
    for form_match, form in zip(_FORM.finditer(page), forms(page)):
        if testid is not None and f'data-testid="{testid}"' not in form_match.group(1):
            continue
        if action_contains in form.action:
            return form
    return None


def cookie_updates(set_cookie_headers: list[str]) -> dict[str, str | None]:
    """name -> value from Set-Cookie headers; None for a cookie the server deletes."""
    updates: dict[str, str | None] = {}
    for header in set_cookie_headers:
        pair, _, rest = header.partition(";")
        name, _, value = pair.strip().partition("=")
        lowered = rest.lower().replace(" ", "")
        deleted = "max-age=0" in lowered or "expires=thu,01jan1970" in lowered or "expires=thu,01-jan-1970" in lowered
        updates[name] = None if deleted else value
    return updates


def weighted_order(weights: dict[str, int], rng: random.Random) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# --- Set-up (child process with the bench environment) ----------------------------------------------

def applicant_profile(n: int):
    from caas.credit import profiles

    return profiles.ProfileInput(
        legal_name=f"Ngozi Bench Adeyemi {n}", date_of_birth="1987-06-15", phone="+2348030000000",
        address=f"{n} Bench Street, Lagos", national_id="12345678901", employment_status="employed",
        employer="Bench Ltd", months_employed=48, monthly_net_income="600000", monthly_expenses="150000",
        existing_debt_payments="0", housing="rent")


def set_up(run: str, threads: int) -> None:
    from datetime import date

    from app import create_app
    from caas import demo
    from caas.audit.operations import Actor
    from caas.core import security, tenant, worker
    from caas.core.extensions import db
    from caas.credit import applications, consents, profiles
    from caas.credit.applications import Terms
    from caas.ledger import operations as ledger
    from caas.market import criteria
    from caas.tenancy import apikeys, operations, two_factor
    from caas.tenancy.models import Role

    app = create_app({"LOG_LEVEL": "WARNING", "LOG_JSON": False})
    import logging
    logging.getLogger("rq").setLevel(logging.WARNING)
    started = time.perf_counter()
    with app.app_context():
        session = db.session
        actor = Actor.system("bench")
        today = date.today()
        # The OFAC list and a trained scorecard, as the demo data has them (once per database).
        demo._scoring_data(session, actor)
        session.commit()
        shared_hash = security.hash_password(PASSWORD)  # once: Argon2 per borrower would take minutes
        out: dict = {"run": run, "clients": [], "providers": [], "password": PASSWORD}
        # Admins need two-factor: one admin per client thread (a TOTP code is good once per account),
        # all enrolled with one known secret.
        out["totp_secret"] = secret = two_factor.new_secret()
        out["admins"] = []

        def make_admin(role, email, name, client_id=None):
            user = operations.create_user(session, role=role, email=email, full_name=name, password=PASSWORD,
                                          client_id=client_id)
            two_factor.enable_with_secret(session, actor, user, secret, datetime.now(timezone.utc))
            return user.email

        clients = []
        for c in range(CLIENTS):
            client = operations.create_client(
                session, actor, slug=f"load-{run}-{c + 1}", legal_name=f"Load {run} {c + 1} Ltd",
                display_name=f"Load {c + 1}", country="NG", currency="NGN",
                quota_api_calls_per_hour=100_000_000, quota_applications_per_month=100_000_000)
            clients.append(client)
            entry = {"slug": client.slug, "id": str(client.id), "borrowers": [], "applications": []}
            with tenant.tenant_scope(client.id, session):
                _, entry["key"] = apikeys.issue(session, actor, client.id, name="bench load key", mode="live",
                                                scopes=list(apikeys.SCOPES))
                for n in range(LOGIN_BORROWERS + EXTRA_APPLICANTS):
                    logs_in = n < LOGIN_BORROWERS
                    user = operations.create_user(
                        session, role=Role.borrower, email=f"{'b' if logs_in else 'x'}{n}-{run}@bench-load.example.com",
                        full_name=f"Bench Borrower {n}", password=None, client_id=client.id)
                    if logs_in:
                        user.password_hash = shared_hash
                        user.email_verified_at = datetime.now(timezone.utc)
                    profiles.save(session, user, client, applicant_profile(n), today)
                    consents.grant(session, user.id, client.id, list(consents.REQUIRED), "127.0.0.1")
                    application = applications.start(session, user.id, client.id)
                    applications.set_terms(session, application,
                                           Terms((100_000 + 10_000 * (n % 20)) * 100, "NGN", (6, 12, 18)[n % 3],
                                                 "working capital"), today)
                    applications.confirm_income(session, application, True)
                    applications.submit(session, application)
                    entry["applications"].append(str(application.id))
                    if logs_in:
                        entry["borrowers"].append({"email": user.email, "application": str(application.id)})
                session.flush()  # the outbox and event rows while the tenant is set (row-level security)
            out["clients"].append(entry)
        for p in range(PROVIDERS):
            provider = operations.create_provider(session, actor, legal_name=f"Load {run} Lender {p + 1}",
                                                  licence_number=f"CBN-LOAD-{p + 1}", country="NG", currencies=["NGN"])
            ledger.fund_provider(session, actor, provider.id, 10_000_000_000 * 100, "NGN", f"load-{run}-{p + 1}")
            user = operations.create_user(session, role=Role.provider_user,
                                          email=f"lender-{p + 1}-{run}@bench-load.example.com",
                                          full_name=f"Bench Lender {p + 1}", password=PASSWORD, provider_id=provider.id)
            out["providers"].append({"id": str(provider.id), "email": user.email})
        for i in range(threads):
            if i % 3 == 0:
                out["admins"].append({"email": make_admin(Role.platform_admin, f"admin-{i}-{run}@bench-load.example.com",
                                                          f"Bench Platform Admin {i}"), "platform": True})
            else:
                client = clients[i % CLIENTS]
                with tenant.tenant_scope(client.id, session):
                    out["admins"].append({"email": make_admin(Role.client_admin,
                                                              f"client-admin-{i}-{run}@bench-load.example.com",
                                                              f"Bench Client Admin {i}", client.id),
                                          "platform": False})
                    session.flush()
        provider_ids = [uuid.UUID(p["id"]) for p in out["providers"]]
        for client in clients:
            with tenant.tenant_scope(client.id, session):
                operations.set_provider_network(session, actor, client.id, provider_ids)
        for pid in provider_ids:
            with tenant.provider_scope(pid, session):
                criteria.save(session, actor, pid, criteria.CriteriaInput(
                    name="Naira book", currencies=["NGN"], min_amount_minor=10_000_00, max_amount_minor=5_000_000_00,
                    min_term_months=3, max_term_months=24, worst_grade="E"))
        session.commit()
        created = time.perf_counter() - started
        worker.run(app, ["scoring"], burst=True, with_cron=False)
        out["seconds"] = {"created": round(created, 1), "scored": round(time.perf_counter() - started - created, 1)}
    print(json.dumps(out))


# --- The virtual users (parent) ------------------------------------------------------------------------

class Recorder:
    """Latencies and errors per group for one phase (warm-up or the measured window)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.reconnects = 0

    def add(self, group: str, seconds: float | None, error: str | None = None) -> None:
        with self.lock:
            if error is None:
                self.latencies[group].append(seconds)
            else:
                self.errors[group] += 1
                if len(self.samples) < 8:
                    self.samples.append(f"{group}: {error}")


class Stop(Exception):
    """The phase is over: the task ends where it is."""


class User:
    """One person's keep-alive connection and cookies; every request is timed into a group."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.recorder: Recorder | None = None
        self.stop_at = float("inf")

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]):
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response, response.read()

    def call(self, group: str | None, method: str, path: str, *, body: bytes | None = None,
             headers: dict[str, str] | None = None, ok: tuple[int, ...] = (200,)) -> tuple[int, dict, str]:
        if time.monotonic() >= self.stop_at:
            raise Stop
        sent = {"User-Agent": USER_AGENT, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            try:
                response, payload = self._send(method, path, body, sent)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed (keep-alive timeout, a recycled worker):
                # browsers retry on a new one, and so do we, timing both.
                self.conn.close()
                if self.recorder is not None:
                    with self.recorder.lock:
                        self.recorder.reconnects += 1
                response, payload = self._send(method, path, body, sent)
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            if group and self.recorder is not None:
                self.recorder.add(group, None, f"{method} {path}: {exc!r}")
            raise Stop from exc
        elapsed = time.perf_counter() - started
        for name, value in cookie_updates(response.headers.get_all("Set-Cookie") or []).items():
            if value is None:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        text = payload.decode("utf-8", "replace")
        if group and self.recorder is not None:
            if response.status in ok:
                self.recorder.add(group, elapsed)
            else:
                self.recorder.add(group, None, f"{method} {path} -> {response.status} {text[:200]!r}")
        if response.status not in ok:
            raise Stop
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def post_form(self, group: str, path: str, values: dict[str, str], *, ok=(302, 303), headers=None):
        return self.call(group, "POST", path, body=urlencode(values).encode(), ok=ok, headers={
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})

    def log_in(self, login_path: str, email: str, password: str, totp_secret: str | None = None) -> None:
        """The real forms: the password, then (admins) a code from the authenticator."""
        _, _, page = self.call(None, "GET", login_path)
        form = form_for(page)
        if form is None or "csrf_token" not in form.fields:
            raise SystemExit(f"no log-in form with a CSRF token at {login_path}")
        try:
            _, headers, _ = self.post_form(None, login_path, {**form.fields, "email": email, "password": password})
            if totp_secret is not None:
                import pyotp

                code_path = location_path(headers)
                _, _, page = self.call(None, "GET", code_path)
                form = form_for(page)
                _, headers, _ = self.post_form(None, code_path, {**form.fields, "code": pyotp.TOTP(totp_secret).now()})
        except Stop:
            raise SystemExit(f"log-in as {email} at {login_path} failed") from None
        if "two-factor" in headers.get("location", "") or "/login" in headers.get("location", ""):
            raise SystemExit(f"log-in as {email} ended at {headers['location']}")


def location_path(headers: dict) -> str:
    parts = urlsplit(headers["location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Persona:
    """What one client thread is: a borrower, a provider user, an admin and an API key at once,
    so that any task can run on any thread."""
    borrower: User
    slug: str
    own_application: str
    provider: User
    admin: User
    admin_pages: list[str]
    api: User
    api_key: str
    api_ids: list[str]
    rng: random.Random
    bid_on: set[str] = field(default_factory=set)
    counter: int = 0


HX = {"HX-Request": "true"}


def task_api_read(p: Persona) -> None:
    user, auth = p.api, {"Authorization": f"Bearer {p.api_key}"}
    choice = p.rng.random()
    if choice < 0.35:
        user.call("api read", "GET", "/api/v1/applications?limit=25", headers=auth)
    elif choice < 0.75:
        user.call("api read", "GET", f"/api/v1/applications/{p.rng.choice(p.api_ids)}", headers=auth)
    elif choice < 0.9:
        user.call("api read", "GET", f"/api/v1/applications/{p.rng.choice(p.api_ids)}/offers", headers=auth)
    else:
        user.call("api read", "GET", "/api/v1/ping", headers=auth)


def task_api_submit(p: Persona) -> None:
    p.counter += 1
    body = json.dumps({
        "applicant": {"email": f"api-{uuid.uuid4().hex[:12]}@bench-load.example.com", "legal_name": "Adaeze Okoro",
                      "date_of_birth": "1990-04-12", "phone": "+2348031234567", "address": "12 Marina Road, Lagos",
                      "national_id": "22345678901", "employment_status": "employed", "employer": "Dangote Cement",
                      "months_employed": 36, "monthly_net_income": "450000.00", "monthly_expenses": "150000.00",
                      "existing_debt_payments": "20000.00", "housing": "rent"},
        "consents": {"data_processing": True, "credit_check": True},
        "amount": f"{p.rng.choice((150, 250, 400, 600))}000.00", "currency": "NGN",
        "term_months": p.rng.choice((6, 12, 18)), "purpose": "business expansion",
    }).encode()
    _, _, text = p.api.call("api submit", "POST", "/api/v1/applications", body=body, ok=(201,), headers={
        "Authorization": f"Bearer {p.api_key}", "Content-Type": "application/json",
        "Idempotency-Key": uuid.uuid4().hex})
    made = json.loads(text).get("id")
    if made:
        p.api_ids.append(made)


def task_borrower_browse(p: Persona) -> None:
    b, base = p.borrower, f"/c/{p.slug}"
    b.call("portal pages", "GET", f"{base}/")
    b.call("portal pages", "GET", f"{base}/applications/{p.own_application}")
    for _ in range(2):
        b.call("portal pages", "GET", f"{base}/applications/{p.own_application}", headers=HX, ok=(200, 286))
    b.call("portal pages", "GET", f"{base}/notifications/badge", headers=HX)


def task_borrower_apply(p: Persona) -> None:
    b, base = p.borrower, f"/c/{p.slug}"
    _, _, home = b.call("portal apply", "GET", f"{base}/")
    start = form_for(home, "/apply")
    if start is None:
        raise SystemExit("the borrower's home page has no Apply form")
    _, headers, _ = b.post_form("portal apply", f"{base}/apply", start.fields)
    _, _, page = b.call("portal apply", "GET", location_path(headers))
    terms = form_for(page, "/step/terms")
    values = {**terms.fields, "amount": str(p.rng.choice((120_000, 200_000, 350_000))), "currency": "NGN",
              "term_months": str(p.rng.choice((6, 12))), "purpose": "working capital"}
    _, _, page = b.post_form("portal apply", terms.action, values, ok=(200,), headers=HX)
    income = form_for(page, "/step/income")
    _, _, page = b.post_form("portal apply", income.action, {**income.fields, "income_confirmed": "y"}, ok=(200,),
                             headers=HX)
    review = form_for(page, "/step/review")
    _, headers, _ = b.post_form("portal apply", review.action, review.fields, ok=(204,), headers=HX)
    status_path = urlsplit(headers["hx-redirect"]).path
    b.call("portal apply", "GET", status_path)
    p.own_application = status_path.rstrip("/").rsplit("/", 1)[1]


_LISTING = re.compile(r'href="(/provider/market/[0-9a-f-]{36})"')


def task_provider_browse(p: Persona) -> None:
    u = p.provider
    choice = p.rng.random()
    if choice < 0.45:
        _, _, page = u.call("market", "GET", "/provider/market")
        links = _LISTING.findall(page)
        if links:
            u.call("market", "GET", p.rng.choice(links))
    elif choice < 0.9:
        u.call("market", "GET", "/provider/market/new", headers=HX)
    else:
        u.call("market", "GET", "/provider/bids")


def task_provider_bid(p: Persona) -> None:
    u = p.provider
    _, _, page = u.call("bid", "GET", "/provider/market")
    links = [link for link in _LISTING.findall(page) if link not in p.bid_on]
    if not links:
        return
    link = p.rng.choice(links)
    p.bid_on.add(link)
    _, _, listing = u.call("bid", "GET", link)
    form = form_for(listing, testid="bid-form")
    if form is None:
        raise SystemExit("the listing page has no bid form")
    values = {**form.fields, "annual_rate": str(p.rng.choice((26, 28.5, 30, 32))), "fee_kind": "percent", "fee": "1"}
    _, headers, _ = u.post_form("bid", link, values)
    u.call("bid", "GET", location_path(headers))


def task_admin_view(p: Persona) -> None:
    p.admin.call("admin", "GET", p.rng.choice(p.admin_pages))


TASK_FUNCS = {"api_read": task_api_read, "api_submit": task_api_submit, "provider_browse": task_provider_browse,
              "provider_bid": task_provider_bid, "borrower_browse": task_borrower_browse,
              "borrower_apply": task_borrower_apply, "admin_view": task_admin_view}

PLATFORM_ADMIN_PAGES = ["/admin/", "/admin/applications", "/admin/market", "/admin/clients", "/admin/jobs"]
CLIENT_ADMIN_PAGES = ["/admin/", "/admin/applications", "/admin/audit"]


def personas(port: int, data: dict, count: int) -> list[Persona]:
    """Log every thread's users in through the forms (the log-ins are not measured)."""
    made = []
    for i in range(count):
        client = data["clients"][i % CLIENTS]
        borrower_entry = client["borrowers"][(i // CLIENTS) % LOGIN_BORROWERS]
        borrower = User(port)
        borrower.log_in(f"/c/{client['slug']}/login", borrower_entry["email"], data["password"])
        provider = User(port)
        provider.log_in("/login", data["providers"][i % PROVIDERS]["email"], data["password"])
        admin = User(port)
        platform = data["admins"][i]["platform"]
        admin.log_in("/login", data["admins"][i]["email"], data["password"], data["totp_secret"])
        made.append(Persona(borrower=borrower, slug=client["slug"], own_application=borrower_entry["application"],
                            provider=provider, admin=admin,
                            admin_pages=PLATFORM_ADMIN_PAGES if platform else CLIENT_ADMIN_PAGES, api=User(port),
                            api_key=client["key"], api_ids=list(client["applications"]), rng=random.Random(i)))
    return made


def check_admin_pages(people: list[Persona]) -> None:
    """Every admin page of the mix answers 200 to its role before anything is measured."""
    for p in people[:2] if len(people) > 1 else people:
        for page in p.admin_pages:
            status, headers, text = p.admin.call(None, "GET", page, ok=tuple(range(100, 600)))
            if status != 200:
                raise SystemExit(f"{page} answers {status} to this admin ({headers.get('location')}): {text[:300]!r}")


def drive(people: list[Persona], seconds: float) -> tuple[Recorder, float, dict[str, int]]:
    recorder = Recorder()
    stop_at = time.monotonic() + seconds
    tasks: dict[str, int] = defaultdict(int)
    tasks_lock = threading.Lock()

    def loop(p: Persona) -> None:
        for u in (p.borrower, p.provider, p.admin, p.api):
            u.recorder, u.stop_at = recorder, stop_at
        mine: dict[str, int] = defaultdict(int)
        while time.monotonic() < stop_at:
            name = weighted_order(TASKS, p.rng)
            try:
                TASK_FUNCS[name](p)
                mine[name] += 1
            except Stop:
                pass
        with tasks_lock:
            for name, n in mine.items():
                tasks[name] += n

    threads = [threading.Thread(target=loop, args=(p,), daemon=True) for p in people]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return recorder, time.monotonic() - began, dict(tasks)


# --- Processes, memory, job lag (parent) -----------------------------------------------------------------

def rss_mb(pid: int) -> float | None:
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, waited_children: bool = False) -> float:
    """User + system CPU of a process (and of its children it has reaped, for gunicorn's master
    whose recycled workers are gone); 0.0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if waited_children else 0)
    return ticks / TICKS


def postgres_backends(database: str) -> list[int]:
    """The PostgreSQL backends serving ``database`` (their process titles name it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                found.append(int(entry.name))
    return found


def cpu_snapshot(master: int, job_pids: list[int]) -> dict[str, dict[int, float]]:
    """CPU seconds so far per process: gunicorn (master with its reaped workers, live workers),
    this database's PostgreSQL backends, the job workers."""
    return {"web": {master: cpu_seconds(master, waited_children=True),
                    **{pid: cpu_seconds(pid) for pid in children(master)}},
            "postgres": {pid: cpu_seconds(pid) for pid in postgres_backends(DATABASE)},
            "jobs": {pid: cpu_seconds(pid) for pid in job_pids}}


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """Seconds used between two snapshots per kind; a process new since ``before`` counts from 0."""
    return {kind: round(sum(max(0.0, seconds - before[kind].get(pid, 0.0)) for pid, seconds in after[kind].items()), 2)
            for kind in after}


class MemorySampler(threading.Thread):
    """Peak RSS per process every second while the load runs (gunicorn recycles workers, so the
    web workers are looked up each time)."""

    def __init__(self, master: int, job_workers: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.master, self.job_workers = master, job_workers
        self.web: dict[int, float] = {}
        self.jobs: dict[str, float] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(1.0):
            for pid in children(self.master):
                mb = rss_mb(pid)
                if mb is not None:
                    self.web[pid] = max(self.web.get(pid, 0.0), mb)
            for name, pid in self.job_workers.items():
                mb = rss_mb(pid)
                if mb is not None:
                    self.jobs[name] = max(self.jobs.get(name, 0.0), mb)


def start_job_workers(env: dict, count: int) -> dict[str, subprocess.Popen]:
    """As the Procfile: ``count`` workers on every queue without cron, and one scheduler on the
    default queue with cron (the outbox relay, the market sweep, ...)."""
    made = {}
    for n in range(count):
        made[f"worker {n + 1}"] = subprocess.Popen(
            [str(BIN / "flask"), "worker", "--no-cron", "-q", "scoring", "-q", "payouts", "-q", "events",
             "-q", "billing", "-q", "default"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    made["scheduler"] = subprocess.Popen([str(BIN / "flask"), "worker", "-q", "default"], cwd=ROOT, env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return made


def start_gunicorn(env: dict, workers: int, threads: int, profile: Path | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    extra = {"BENCH_PROFILE_DIR": str(profile), "GUNICORN_MAX_REQUESTS": "0"} if profile else {}
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
         "bench._profile:profiled_app()" if profile else "app:create_app()"], cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers),
             "GUNICORN_THREADS": str(threads), **extra},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # the access log goes to stdout, as in production
    wait_until_up(port, timeout=60)
    return server, port


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return (process.stderr.read() or b"").decode("utf-8", "replace") if process.stderr else ""


def wait_for_queues(redis_url: str, seconds: float) -> float:
    """Until no job waits or runs (or ``seconds`` pass); returns how long it took."""
    from redis import Redis
    from rq import Queue
    from rq.registry import StartedJobRegistry

    conn = Redis.from_url(redis_url)
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        busy = 0
        for name in ("scoring", "payouts", "billing", "events", "default"):
            queue = Queue(name, connection=conn)
            busy += queue.count + StartedJobRegistry(queue=queue).count
        if not busy:
            break
        time.sleep(0.5)
    return time.monotonic() - began


def job_lag(env: dict, client_ids: list[str], window: tuple[datetime, datetime]) -> dict:
    """Submission committed -> scoring job finished, for every application submitted in the
    measured window (an unfinished one counts as infinitely late); and enqueued -> finished for
    every job RQ still remembers, per queue."""
    import psycopg
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    with psycopg.connect(owner_dsn(env["DATABASE_URL"])) as conn:
        conn.execute("SELECT set_config('app.all_tenants', 'on', true)")
        rows = conn.execute(
            "SELECT id::text, submitted_at, channel FROM applications WHERE client_id = ANY(%s::uuid[])"
            " AND submitted_at >= %s AND submitted_at < %s", (client_ids, window[0], window[1])).fetchall()
    redis = Redis.from_url(env["REDIS_URL"])
    fetched = Job.fetch_many([f"score-{r[0]}" for r in rows], connection=redis) if rows else []
    lags, unfinished = [], 0
    for (_, submitted_at, _), job in zip(rows, fetched):
        ended = job.ended_at if job is not None else None
        if ended is None or job.get_status() != "finished":
            unfinished += 1
            lags.append(float("inf"))
        else:
            lags.append((ended.replace(tzinfo=timezone.utc) - submitted_at).total_seconds())
    lags.sort()
    per_queue = {}
    for name in ("scoring", "payouts", "billing", "events", "default"):
        queue = Queue(name, connection=redis)
        ids = FinishedJobRegistry(queue=queue).get_job_ids()
        waits = sorted((j.ended_at - j.enqueued_at).total_seconds() for j in Job.fetch_many(ids, connection=redis)
                       if j is not None and j.ended_at and j.enqueued_at)
        if waits or FailedJobRegistry(queue=queue).count:
            per_queue[name] = {"jobs": len(waits), "failed": FailedJobRegistry(queue=queue).count,
                               "p50_s": round(percentile(waits, 50), 3), "p95_s": round(percentile(waits, 95), 3)}
    finite = [x for x in lags if x != float("inf")]
    return {"applications": len(rows), "unfinished": unfinished,
            "p50_s": round(percentile(lags, 50), 3) if finite else None,
            "p95_s": round(percentile(lags, 95), 3) if finite else None,
            "max_s": round(max(finite), 3) if finite else None, "queues": per_queue}


# --- The run (parent) ----------------------------------------------------------------------------------------

def print_table(recorder: Recorder, seconds: float) -> dict:
    rows = {}
    for name in GROUPS:
        rows[name] = summarise(recorder.latencies.get(name, []), recorder.errors.get(name, 0), seconds)
    for kind, label in (("page", "pages (all)"), ("api", "API (all)"), (None, "all")):
        names = [n for n, k in GROUPS.items() if kind is None or k == kind]
        rows[label] = summarise([x for n in names for x in recorder.latencies.get(n, [])],
                                sum(recorder.errors.get(n, 0) for n in names), seconds)
    total = rows["all"]["requests"] or 1
    print(f"{'group':<14} {'requests':>8} {'share':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6}")
    for name, r in rows.items():
        if name == "pages (all)":
            print("-" * 70)
        print(f"{name:<14} {r['requests']:>8} {100 * r['requests'] / total:>5.1f}% {r['rps']:>7} {r['p50_ms']:>7} "
              f"{r['p95_ms']:>7} {r['p99_ms']:>7} {r['errors']:>6}")
    return rows


def parse(argv: list[str]) -> argparse.Namespace:
    cpus = os.cpu_count() or 2
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="measured seconds (default 60)")
    parser.add_argument("--warm-up", type=float, default=5, help="unmeasured seconds first (default 5)")
    parser.add_argument("--clients", type=int, default=16, help="virtual-user threads (default 16)")
    parser.add_argument("--workers", type=int, default=2 * cpus, help=f"gunicorn workers (default 2 x CPUs = {2 * cpus})")
    parser.add_argument("--threads", type=int, default=4, help="gthread threads per worker (default 4, as deploy/)")
    parser.add_argument("--job-workers", type=int, default=1, help="RQ workers on every queue (default 1), "
                                                                   "besides the scheduler")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="profile instead: one worker, one thread, cProfile per group into DIR (bench/_profile.py)")
    parser.add_argument("--drain", type=float, default=60, help="seconds to wait for the queues after the load")
    args = parser.parse_args(argv)
    if args.profile:
        args.workers = args.threads = 1
        args.profile = args.profile.resolve()
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; the machine is shared, "
          f"so the figures are noisy", flush=True)
    # Every virtual user logs in from 127.0.0.1: the per-IP throttle would stop the set-up, not the load.
    limits = {"LOGIN_RATE_LIMIT": "100000 per minute", "ACCOUNT_LOGIN_RATE_LIMIT": "100000 per minute"}
    try:
        env, _services = prepare(DATABASE, redis_db=REDIS_DB, **limits)
    except subprocess.CalledProcessError:
        # An earlier run's database whose migration history has since changed: it holds nothing
        # a run needs (each run makes its own tenants), so start it again.
        print(f"flask setup-db failed on the existing {DATABASE}: dropping it and starting again", flush=True)
        drop_database(services.resolve(DATABASE, probe_local=True, instance=ROOT / "instance" / "bench",
                                       redis_db=REDIS_DB).database_url, DATABASE)
        env, _services = prepare(DATABASE, redis_db=REDIS_DB, **limits)
    flush_redis(env["REDIS_URL"])
    run = uuid.uuid4().hex[:8]
    made = subprocess.run([sys.executable, "-m", "bench.load", "set-up", run, str(args.clients)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if made.returncode != 0:
        sys.stderr.write(made.stderr[-4000:])
        raise SystemExit("set-up failed")
    data = json.loads(made.stdout.strip().splitlines()[-1])
    print(f"data: {CLIENTS} clients, {PROVIDERS} funded providers, {CLIENTS * (LOGIN_BORROWERS + EXTRA_APPLICANTS)} "
          f"scored applications (created {data['seconds']['created']} s, scored {data['seconds']['scored']} s)",
          flush=True)
    flush_redis(env["REDIS_URL"])  # the set-up's event jobs: the load's workers start from empty queues
    job_procs = start_job_workers(env, args.job_workers)
    server, port = start_gunicorn(env, args.workers, args.threads, args.profile)
    failed = False
    try:
        people = personas(port, data, args.clients)
        check_admin_pages(people)
        print(f"gunicorn: {args.workers} gthread workers x {args.threads} threads (deploy/gunicorn.conf.py; a worker "
              f"is recycled after {os.environ.get('GUNICORN_MAX_REQUESTS', '2000')} requests, set "
              f"GUNICORN_MAX_REQUESTS to change it); "
              f"{args.job_workers} RQ worker(s) + the scheduler; {args.clients} virtual-user threads, closed loop, "
              f"no think time", flush=True)
        drive(people, args.warm_up)
        sampler = MemorySampler(server.pid, {name: p.pid for name, p in job_procs.items()})
        sampler.start()
        job_pids = [p.pid for p in job_procs.values()]
        cpu_before, server_before = resource.getrusage(resource.RUSAGE_SELF), cpu_snapshot(server.pid, job_pids)
        window_start = datetime.now(timezone.utc)
        recorder, seconds, tasks = drive(people, args.duration)
        window_end = datetime.now(timezone.utc)
        cpu_after, server_cpu = resource.getrusage(resource.RUSAGE_SELF), cpu_used(server_before,
                                                                                  cpu_snapshot(server.pid, job_pids))
        sampler.halt.set()
        sampler.join()
        drained = wait_for_queues(env["REDIS_URL"], args.drain)
        lag = job_lag(env, [c["id"] for c in data["clients"]], (window_start, window_end))
    finally:
        server_log = stop(server)
        worker_logs = {name: stop(p) for name, p in job_procs.items()}
    rows = print_table(recorder, seconds)
    for sample in recorder.samples:
        print(f"   error sample: {sample}")
    client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    print(f"tasks run: {', '.join(f'{k} {v}' for k, v in sorted(tasks.items()))}; connections re-opened: "
          f"{recorder.reconnects}; the client threads used {client_cpu:.1f} CPU-seconds of the "
          f"{2 * seconds:.0f} the machine had")
    served = rows["all"]["requests"] or 1
    per_request_ms = 1000 * (server_cpu["web"] + server_cpu["postgres"]) / served
    print(f"CPU in the window: gunicorn {server_cpu['web']} s, PostgreSQL ({DATABASE} backends) "
          f"{server_cpu['postgres']} s, job workers {server_cpu['jobs']} s, the client {client_cpu:.1f} s; "
          f"web + database {per_request_ms:.1f} CPU-ms per request, so {os.cpu_count()} otherwise idle CPUs "
          f"would serve about {1000 * (os.cpu_count() or 2) / per_request_ms:.0f} req/s of this mix before "
          f"the workers' and Redis's share (an estimate)")
    print(f"job lag, submission committed -> scored ({lag['applications']} applications submitted in the window, "
          f"{lag['unfinished']} not scored {drained:.0f} s after the load): p50 {lag['p50_s']} s, p95 {lag['p95_s']} s, "
          f"max {lag['max_s']} s")
    for name, q in lag["queues"].items():
        print(f"   queue {name:<8} {q['jobs']:>6} jobs enqueued -> finished p50 {q['p50_s']} s, p95 {q['p95_s']} s; "
              f"failed {q['failed']}")
    web = sorted(sampler.web.values())
    print(f"memory (peak RSS): {len(web)} web worker process(es) seen: "
          f"{', '.join(f'{mb:.0f}' for mb in web)} MB; job workers: "
          f"{', '.join(f'{name} {mb:.0f} MB' for name, mb in sampler.jobs.items())}")
    total = rows["all"]
    error_rate = total["errors"] / total["requests"] if total["requests"] else 1.0
    lag_p95 = lag["p95_s"] if lag["p95_s"] is not None and not lag["unfinished"] else float("inf")
    checks = [
        ("requests/s", f"{total['rps']}", f">= {TARGET_RPS:.0f}", verdict(total["rps"], TARGET_RPS, at_least=True)),
        ("p95 pages", f"{rows['pages (all)']['p95_ms']} ms", f"< {TARGET_PAGE_P95_MS:.0f} ms",
         verdict(rows["pages (all)"]["p95_ms"], TARGET_PAGE_P95_MS)),
        ("p95 API", f"{rows['API (all)']['p95_ms']} ms", f"< {TARGET_API_P95_MS:.0f} ms",
         verdict(rows["API (all)"]["p95_ms"], TARGET_API_P95_MS)),
        ("error rate", f"{100 * error_rate:.3f} %", f"< {100 * TARGET_ERROR_RATE:.1f} %",
         verdict(error_rate, TARGET_ERROR_RATE)),
        ("job lag p95", f"{lag['p95_s']} s" + (f" ({lag['unfinished']} unfinished)" if lag["unfinished"] else ""),
         f"< {TARGET_JOB_LAG_P95_S:.0f} s", verdict(lag_p95, TARGET_JOB_LAG_P95_S)),
    ]
    print(f"targets ({os.cpu_count()} CPUs shared with other work; load average now {os.getloadavg()[0]:.2f}):")
    for label, value, target, result in checks:
        print(f"   {label:<12} {value:>22}   target {target:<9} {result}")
    for name, log in (("gunicorn", server_log), *worker_logs.items()):
        if "Traceback" in log:
            failed = True
            print(f"!! {name} logged a traceback:\n{log[-2000:]}", file=sys.stderr)
    figures = {"rps": total["rps"], "requests": total["requests"], "errors": total["errors"],
               "error_rate": round(error_rate, 5), "seconds": round(seconds, 1),
               **{f"{k}_{m}": rows[name][m] for k, name in (("pages", "pages (all)"), ("api", "API (all)"))
                  for m in ("p50_ms", "p95_ms", "p99_ms")},
               **{f"{name.replace(' ', '_')}_p95_ms": rows[name]["p95_ms"] for name in GROUPS},
               "job_lag_p50_s": lag["p50_s"], "job_lag_p95_s": lag["p95_s"], "job_lag_unfinished": lag["unfinished"],
               "web_rss_mb_max": round(max(web), 1) if web else None,
               "job_rss_mb_max": round(max(sampler.jobs.values()), 1) if sampler.jobs else None,
               "cpu_ms_per_request": round(per_request_ms, 2),
               "workers": args.workers, "threads": args.threads, "clients": args.clients,
               "passed": all(c[3] == "PASS" for c in checks)}
    if args.profile:
        from bench._profile import report

        report(args.profile)
    print(json.dumps(figures))
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["set-up"]:
        set_up(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main(sys.argv[1:]))
