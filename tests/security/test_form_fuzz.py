"""A Hypothesis-driven fuzz of the HTML forms (issue 13, "Tools in CI"): no 500s.

Every portal role (platform admin, client admin, lender, borrowers in each interesting state, and
nobody) walks every GET page of the URL map with the ids of its own objects, and every
``<form method="post">`` found (its ``action``, and its ``hx-post`` when htmx posts it) is posted
Hypothesis-made values with a valid CSRF token: odd unicode, NULs, huge strings, negative and huge
numbers, impossible dates, fields missing, repeated or added, junk files. Each answer must be below
500 (an exception escaping the app counts as a 500 too), and a refusal (any 4xx, or a page showing
field errors) must have written no row, so nothing is half-saved.

``test_every_post_endpoint_has_a_form_fuzzed`` is the gate: the POST endpoints whose forms were
found must be all the URL map's POST endpoints but the commented exclusions, so a new form that no
page offers to an actor here (or that the world gives no object to) fails until it is reached.

Bounded for CI: ``MAX_EXAMPLES`` per form, derandomized (the same examples on every run), no
example database, no deadline. The world is its own tenant (F), built once for the module inside
the package's world, so what the fuzz changes touches neither A nor B.
"""
from __future__ import annotations

import itertools
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from sqlalchemy import select, text

from caas.core import clock
from tests import factories
from tests.helpers import BASE, login, post_form
from tests.market.world import NOW
from tests.security.form_fuzz import CSRF_FIELD, Form, forms_on, payloads, to_form_data
from tests.security.matrix import PLAIN_PARAMS, READS_THAT_WRITE, Actor, csrf_of, rules, urls
from tests.security.world import accept_and_pay_out, build_tenant

MAX_EXAMPLES = 15

# POST endpoints that are not HTML forms, or that no fuzz may post, each with its reason.
EXCLUDED = {
    "api.create_application": "JSON API: fuzzed from the OpenAPI document by schemathesis",
    "api.accept_offer": "JSON API: fuzzed from the OpenAPI document by schemathesis",
    "api.withdraw_application": "JSON API: fuzzed from the OpenAPI document by schemathesis",
    "webhooks.inbound": "gateways' signed JSON, not a form (tests/webhooks)",
    "auth.logout": "no fields to fuzz; posting it ends the actor's session",
}

# Pages a form is on that the URL map alone does not name (a query string picks the step).
EXTRA_PAGES = {
    "platform_admin": [f"/admin/clients/new?step={s}" for s in ("identity", "tier", "services", "admin")] + [
        "/admin/payouts/{failed_payout_id}", "/admin/clients/{client_id}/applications/{failed_application_id}",
        "/admin/billing/invoices/{draft_invoice_id}", "/admin/clients/{spare_client_id}/usage", "/admin/jobs"],
    "client_admin": ["/admin/loans/{struggling_loan_id}"],
    "drafter": ["/c/{slug}/applications/{draft_application_id}/edit?step=" + s for s in ("terms", "income", "review")],
    "borrower_at_code": ["/c/{slug}/login/code"],
    "provider_setting_up": ["/account/two-factor"],
    "provider_without": ["/account/two-factor"],
    "staff_at_code": ["/login/code"],
    "admin_enrolling": ["/login/two-factor"],
}

# The actors that walk every page of their portal; the others (a lender or admin in some two-factor
# state, someone held at the log-in's second step) see only their EXTRA_PAGES.
WALKERS = ("borrower", "applicant", "drafter", "provider_user", "client_admin", "platform_admin")

# Fuzzed last, in this order: each can take the actor's own access away (suspending the tenant).
LAST = ("admin.client_status",)


def _login(app, email: str, login_path: str, home: str, whole: bool = True) -> Actor:
    """Logged in as a person would (the second factor too, where the account has it); or, not
    ``whole``, only the password given, so the second step waits."""
    client = app.test_client()
    answer = (login if whole else _password_only)(client, email, factories.PASSWORD, path=login_path)
    assert answer.status_code == 302, f"{email} could not log in at {login_path}: {answer.status_code}"
    return Actor(email, client, csrf=csrf_of(client, home))


def _password_only(client, email: str, password: str, path: str):
    return post_form(client, path, {"email": email, "password": password})


def _more_states(session, f) -> None:
    """What shows the forms the isolation world does not: a payout that failed (retry), an
    application whose scoring failed (retry), a hardship request pending on that loan (decide) while
    the borrower's own was declined (ask again), a draft invoice of an unissued period (issue), and
    a client with no quota override (grant one)."""
    from datetime import datetime, timezone

    from caas.billing import run
    from caas.billing.usage import UsageInput, record_many
    from caas.core import tenant
    from caas.credit import applications
    from caas.credit.applications import Terms
    from caas.credit.models import ApplicationStatus as S
    from caas.loans import collections, repayments
    from caas.market import bids
    from caas.payments import service
    from caas.payments.gateways import SandboxGateway
    from caas.payments.routing import Router
    from caas.billing.models import Invoice
    from tests.market.world import bid_input, open_application

    service.use(Router({"sandbox": SandboxGateway(settle_after=0)}))

    def loan(name: str, account: str):
        opened = open_application(session, f.client, name=name, bank_account=account)
        with tenant.provider_scope(f.provider_id, session):
            bid = bids.place(session, factories.SYSTEM, f.provider_id, opened.listing_id, bid_input(), NOW)
        with tenant.tenant_scope(f.client.id, session):
            return (opened, *accept_and_pay_out(session, opened.application_id, bid.id, name, opened.borrower_id))

    with clock.frozen(NOW):
        opened, _, payout = loan("Fuzzbuzz Payee", "0123456780")  # the sandbox refuses accounts ending in 0
        _, struggling, _ = loan("Fuzzbuzz Struggler", "0123456781")
        with tenant.tenant_scope(f.client.id, session):
            f.ids["failed_payout_id"] = payout.id
            f.ids["struggling_loan_id"] = struggling.id
            collections.decide_hardship(session, factories.SYSTEM, f.ids["request_id"], False, "Not now", NOW.date())
            collections.request_hardship(session, repayments.lock_loan(session, struggling.id),
                                         reason="Lost a contract", plan="holiday", periods=1, on=NOW.date())
            failed = applications.start(session, opened.borrower_id, f.client.id)
            applications.set_terms(session, failed, Terms(300_000_00, "NGN", 12, "business expansion"), NOW.date())
            applications.confirm_income(session, failed, True)
            applications.submit(session, failed)
            applications.transition(session, failed, S.screening)
            applications.transition(session, failed, S.scoring_failed)
            f.ids["failed_application_id"] = failed.id
            record_many(session, [UsageInput(f.client.id, "application_processed", f"fuzz-{f.client.id}", 2, None,
                                             None, datetime(2026, 9, 5, 12, tzinfo=timezone.utc))])
            session.commit()
        run.execute(session, "2026-09", client_slug=f.slug)
        with tenant.tenant_scope(f.client.id, session):
            f.ids["draft_invoice_id"] = session.scalar(select(Invoice.id).where(Invoice.period == "2026-09"))
        f.ids["spare_client_id"] = factories.client(session).id
    service.use(None)


def _two_factor_states(session, f) -> None:
    """Who sees the two-factor forms: a borrower and a lender half-way through turning it on (the
    code that enables it), a borrower and a lender with it on (turn off, new recovery codes; admins
    may not turn it off), a client admin who must still enrol, and the log-in's code step (the
    actors held there, below)."""
    from caas.core import tenant
    from caas.credit.models import Application
    from caas.tenancy import two_factor
    from caas.tenancy.models import Provider, User

    now = clock.now()

    def user(email: str) -> User:
        return session.scalar(select(User).where(User.email == email))

    lender = user(f.provider_user_email)
    two_factor.enable_with_secret(session, factories.SYSTEM, lender, factories.TOTP_SECRET, now)
    setting_up = factories.provider_user(session, session.get(Provider, f.provider_id),
                                         email=f"setup.lender@{f.slug}.example.com")
    two_factor.begin_enrolment(session, setting_up, now)
    factories.provider_user(session, session.get(Provider, f.provider_id), email=f"plain.lender@{f.slug}.example.com")
    with tenant.tenant_scope(f.client.id, session):
        two_factor.begin_enrolment(session, user(f.borrower_email), now)
        applicant = session.get(User, session.scalar(select(Application.borrower_id).where(
            Application.id == f.ids["open_application_id"])))
        two_factor.enable_with_secret(session, factories.SYSTEM, applicant, factories.TOTP_SECRET, now)
        factories.client_admin(session, f.client, email=f"enrolling.admin@{f.slug}.example.com", two_factor_on=False)
    session.commit()


@pytest.fixture(scope="module")
def fuzz_world(app, world, owner):
    """Tenant F (the isolation world's tenant, plus ``_more_states`` and ``_two_factor_states``), a
    platform admin, and the one-time links (reset, invitation, verification) the token pages need.
    Inside the package's world so that its truncation removes F too."""
    from caas.core import tenant
    from caas.core.extensions import db as database
    from caas.credit.models import Application
    from caas.payments import service
    from caas.tenancy import invitations, operations
    from caas.tenancy.models import Role, User

    ctx = app.app_context()
    ctx.push()
    database.session.remove()
    session = database.session
    try:
        f = build_tenant(session, "F", "Fuzzbuzz")
        service.use(None)
        with clock.frozen(NOW):
            factories.platform_admin(session, email=f"platform@{f.slug}.example.com")
            tokens = {}
            with tenant.tenant_scope(f.client.id, session):
                staff = factories.client_admin(session, f.client, email=f"reset.staff@{f.slug}.example.com")
                borrower = factories.borrower(session, f.client, email=f"reset.borrower@{f.slug}.example.com")
                invited = operations.invite_user(session, factories.SYSTEM, role=Role.client_admin,
                                                 email=f"invited@{f.slug}.example.com", full_name="Fuzz Invitee",
                                                 client_id=f.client.id)
                for endpoint, user, purpose in (("auth.reset_password", staff, "reset"),
                                                ("borrower.reset_password", borrower, "reset"),
                                                ("auth.accept_invitation", invited, "invite"),
                                                ("borrower.verify_email", borrower, "verify")):
                    tokens[endpoint] = invitations.issue_token(invitations.invite(session, user, purpose))
                _more_states(session, f)
                # The drafter's draft has its terms, so the income and review steps open too.
                from caas.credit import applications
                from caas.credit.applications import Terms

                applications.set_terms(session, session.get(Application, f.ids["draft_application_id"]),
                                       Terms(300_000_00, "NGN", 12, "business expansion"), NOW.date())
                emails = {name: session.scalar(select(User.email).join(Application, Application.borrower_id == User.id)
                                               .where(Application.id == f.ids[key]))
                          for name, key in (("applicant", "open_application_id"), ("drafter", "draft_application_id"))}
        session.commit()
        tenant.reset()
        _two_factor_states(session, f)
    finally:
        session.remove()
        tenant.reset()
        ctx.pop()
    from tests.ops.conftest import make_failed

    make_failed(app)  # a failed job for the jobs console's retry and delete forms
    return f, tokens, emails


def _logins(f, emails) -> dict:
    """Actor name → (e-mail, log-in page, home, whole): in fuzzing order. ``whole`` False stops
    after the password, so the actor waits at the second step (its "home")."""
    portal = f"/c/{f.slug}"
    return {
        "borrower": (f.borrower_email, f"{portal}/login", f"{portal}/", True),
        "applicant": (emails["applicant"], f"{portal}/login", f"{portal}/", True),
        "drafter": (emails["drafter"], f"{portal}/login", f"{portal}/", True),
        "borrower_at_code": (emails["applicant"], f"{portal}/login", f"{portal}/login/code", False),
        "provider_user": (f.provider_user_email, "/login", "/provider/", True),
        "provider_setting_up": (f"setup.lender@{f.slug}.example.com", "/login", "/account/two-factor", True),
        "provider_without": (f"plain.lender@{f.slug}.example.com", "/login", "/account/two-factor", True),
        "staff_at_code": (f.admin_email, "/login", "/login/code", False),
        "admin_enrolling": (f"enrolling.admin@{f.slug}.example.com", "/login", "/login/two-factor", False),
        "client_admin": (f.admin_email, "/login", "/admin/", True),
        "platform_admin": (f"platform@{f.slug}.example.com", "/login", "/admin/", True),
    }


@pytest.fixture(scope="module")
def fuzz_actors(app, fuzz_world):
    """Name → (Actor or None for nobody, which pages it walks). Logged in on the frozen clock the
    fuzz runs on."""
    f, _, emails = fuzz_world
    actors = {"anonymous": (None, "all")}
    with clock.frozen(NOW):
        for name, (email, login_path, home, whole) in _logins(f, emails).items():
            reach = ("/c/" if login_path.startswith("/c/") else "staff") if name in WALKERS else "none"
            actors[name] = (_login(app, email, login_path, home, whole), reach)
    yield actors
    # The signed-in actors' posts to the password and code forms count against the test client's
    # address; the tests after these log in from it too.
    from caas.core.extensions import limiter

    limiter.reset()


def _pages(app, f, tokens, name: str, reach: str) -> list[str]:
    pages = []
    for rule in rules(app):
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static", "/webhooks")) \
                or rule.rule.endswith((".pdf", ".csv")) or rule.endpoint.startswith("ops."):
            continue
        is_portal = rule.rule.startswith("/c/")
        if reach == "none" or (reach == "/c/" and not is_portal) or (reach == "staff" and is_portal):
            continue
        for path in urls(rule, f):
            if rule.endpoint in tokens:
                path = path.replace(PLAIN_PARAMS["token"], tokens[rule.endpoint])
            pages.append(path)
    extra = [p.format(slug=f.slug, **f.ids) for p in EXTRA_PAGES.get(name, [])]
    return pages + extra


@pytest.fixture(scope="module")
def discovered(app, fuzz_world, fuzz_actors) -> list[Form]:
    """Every distinct POST form each actor is offered, in fuzzing order."""
    f, tokens, _ = fuzz_world
    adapter = app.url_map.bind("localhost")
    found: dict[tuple, Form] = {}
    with clock.frozen(NOW):
        for name, (actor, reach) in fuzz_actors.items():
            client = actor.client if actor else app.test_client()
            for page in _pages(app, f, tokens, name, reach):
                response = client.get(page, base_url=BASE)
                if response.status_code != 200 or "html" not in (response.content_type or ""):
                    continue
                for form in forms_on(page, response.get_data(as_text=True), name, adapter):
                    found.setdefault(form.key, form)  # the first actor (in the order above) offered it
    order = {name: i for i, name in enumerate(fuzz_actors)}
    return sorted((form for form in found.values() if form.endpoint not in EXCLUDED), key=lambda form: (form.endpoint in LAST, order[form.actor], form.endpoint))


def test_every_post_endpoint_has_a_form_fuzzed(app, discovered):
    """The gate: a POST endpoint is fuzzed, or excluded here with a reason."""
    posts = {rule.endpoint for rule in app.url_map.iter_rules()
             if "POST" in rule.methods and not rule.endpoint.startswith("_test.")}
    assert set(EXCLUDED) <= posts, f"stale exclusions: {set(EXCLUDED) - posts}"
    missing = sorted(posts - set(EXCLUDED) - {form.endpoint for form in discovered})
    assert missing == [], ("no page offered these POST endpoints' forms to any actor of the fuzz; give the world "
                           "the object that shows the form, add the page to EXTRA_PAGES, or exclude it with a "
                           f"reason:\n{missing}")


def _addresses():
    for n in itertools.count(1):
        yield f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def _refusal(response) -> bool:
    body = response.get_data(as_text=True) if "html" in (response.content_type or "") else ""
    return response.status_code >= 400 or "data-field-error" in body or "data-form-error" in body


def _told(exc: BaseException) -> str:
    """The failure and Hypothesis's notes (its smallest example), each distinct failure of a group."""
    notes = "\n    ".join(getattr(exc, "__notes__", []))
    told = f"{str(exc)[:400]}\n    {notes[:1500]}"
    for sub in getattr(exc, "exceptions", ()):
        told += "\n  - " + _told(sub)
    return told


@pytest.fixture(scope="module")
def written_since(owner):
    """``(mark, written)``: ``mark()`` is the transaction id the cluster is about to assign;
    ``written(mark)`` the tables holding a row version written since (its ``xmin`` at or after the
    mark). Other databases of the cluster take ids meanwhile but write no rows here. (Lighter than
    test_get_is_safe's watch: it is asked only after a refusal, and does not count removed rows.)"""
    with owner.connect() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                   "AND tablename <> 'alembic_version' ORDER BY tablename")).all()
    probe = text(" UNION ALL ".join(f"(SELECT '{t}' AS tbl FROM {t} WHERE xmin::text::bigint >= :x LIMIT 1)"
                                    for t in tables))
    conn = owner.connect()
    conn.execution_options(isolation_level="AUTOCOMMIT")
    yield (lambda: conn.scalar(text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296")),
           lambda xid: sorted(conn.scalars(probe, {"x": xid})))
    conn.close()


class Fuzzer:
    """Posts a form's examples as one actor and judges each answer; counts what it saw."""

    def __init__(self, watch):
        self.mark, self.written = watch
        self.addresses = _addresses()
        self.statuses: Counter = Counter()
        self.seconds: Counter = Counter()  # per form

    def post(self, form: Form, client, token: str | None, payload: dict):
        headers = {"Referer": BASE + form.page, "X-CSRFToken": token or ""}
        if payload["partial"]:
            headers["HX-Request"] = "true"
        data = {**to_form_data(payload), CSRF_FIELD: token or ""}
        # Nobody's posts come from ever new addresses, so the per-IP log-in throttle (tested on its
        # own in tests/foundation/test_auth.py) does not stop the fuzz reaching the forms. A signed-in
        # session stays at its address: Flask-Login's strong session protection ends it elsewhere.
        where = {} if form.actor != "anonymous" else {"environ_base": {"REMOTE_ADDR": next(self.addresses)}}
        before = self.mark()
        try:
            response = client.post(form.path, data=data, headers=headers, base_url=BASE, **where)
        except Exception as exc:  # noqa: BLE001 - the testing app raises what would be a 500
            self.statuses["raised"] += 1
            raise AssertionError(f"raised {exc!r:.300}") from exc
        self.statuses[response.status_code] += 1
        self.judge(response, lambda: self.written(before))

    @staticmethod
    def judge(response, wrote) -> None:
        assert response.status_code < 500, f"answered {response.status_code}"
        if _refusal(response):
            half_saved = [t for t in wrote() if t not in READS_THAT_WRITE]
            assert half_saved == [], f"refused ({response.status_code}) but wrote {half_saved}"

    def fuzz(self, form: Form, client, token: str | None) -> str | None:
        """None when every example passed, else what failed (Hypothesis's smallest example)."""
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=(Phase.explicit, Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))
        @given(payload=payloads(form))
        @example(payload={"fields": {}, "extra": {}, "partial": False})  # nothing but the CSRF token
        @example(payload={"fields": {n: ("y" if fld.kind == "checkbox" else form.defaults().get(n))
                                     for n, fld in form.fields.items() if n != CSRF_FIELD},
                          "extra": {}, "partial": form.htmx})  # as rendered
        def run(payload):
            self.post(form, client, token, payload)

        started = time.perf_counter()
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - one failing form should not hide the others
            return f"{form.actor} POST {form.path} [{form.endpoint}{' htmx' if form.htmx else ''}]: {_told(exc)}"
        finally:
            self.seconds[f"{form.endpoint}{' htmx' if form.htmx else ''}"] += time.perf_counter() - started
        return None


def test_forms_never_answer_500(app, fuzz_world, fuzz_actors, discovered, written_since):
    f, _, emails = fuzz_world
    logins = _logins(f, emails)
    fuzzer = Fuzzer(written_since)
    anonymous, anonymous_csrf = app.test_client(), None
    failures, relogged, previous = [], Counter(), {}
    with clock.frozen(NOW):
        for form in discovered:
            actor = fuzz_actors[form.actor][0]
            if actor is not None and actor.client.get(logins[form.actor][2], base_url=BASE).status_code != 200:
                # An earlier form ended the session (a password set, two-factor turned off...): log in again.
                relogged[f"{form.actor} after {previous.get(form.actor)}"] += 1
                actor = _login(app, *logins[form.actor])
                fuzz_actors[form.actor] = (actor, fuzz_actors[form.actor][1])
            if actor is None and anonymous_csrf is None:
                anonymous_csrf = csrf_of(anonymous, form.page)
            failure = fuzzer.fuzz(form, actor.client if actor else anonymous, actor.csrf if actor else anonymous_csrf)
            if failure:
                failures.append(failure)
            previous[form.actor] = form.endpoint
    posts = sum(fuzzer.statuses.values())
    print(f"\nform fuzz: {len(discovered)} forms, {posts} posts, answers "
          f"{dict(sorted(fuzzer.statuses.items(), key=str))}, logged in again {dict(relogged)}; slowest "
          + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in fuzzer.seconds.most_common(8)))
    assert len(discovered) > 50 and posts > len(discovered) * MAX_EXAMPLES // 2
    assert fuzzer.statuses[302] + fuzzer.statuses[200] > len(discovered)  # examples got past the CSRF check
    assert failures == [], f"{len(failures)} of {len(discovered)} forms failed:\n" + "\n".join(failures)


def test_the_fuzz_catches_a_500_and_a_half_saved_refusal(app, fuzz_actors, written_since):
    """The control: the judge fails a view that raises, and a refusal that wrote a row."""
    fuzzer = Fuzzer(written_since)
    admin = fuzz_actors["client_admin"][0]
    boom = Form("client_admin", "_test.enqueue_then_fail", "/_test/enqueue-then-fail", {}, False, "/admin/")
    with clock.frozen(NOW):
        failure = fuzzer.fuzz(boom, admin.client, admin.csrf)
    assert failure is not None and "answered 500" in failure
    refused = app.response_class('<div data-field-error="amount">Enter an amount.</div>', 422,
                                 content_type="text/html")
    with pytest.raises(AssertionError, match="wrote \\['loans'\\]"):
        Fuzzer.judge(refused, lambda: ["loans", "user_sessions"])
    Fuzzer.judge(refused, lambda: ["user_sessions", "audit_log"])  # the reads that write, allowed
