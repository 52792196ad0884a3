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

import re

from sqlalchemy import create_engine, text

from tests.security.matrix import (OBJECT_PARAMS, PLAIN_PARAMS, PUBLIC_BRANDED, leaks, methods, refused, rules, send,
                                   urls)
from tests.security.world import TenantWorld


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
    unknown = sorted(f"{rule.rule} ({rule.endpoint}): <{name}>" for rule in rules(app) for name in rule.arguments
                     if name not in OBJECT_PARAMS and name not in PLAIN_PARAMS)
    assert unknown == [], "add these parameters to OBJECT_PARAMS or PLAIN_PARAMS:\n" + "\n".join(unknown)


def test_every_tenant_table_has_rows_and_shows_none_without_a_tenant(app, owner, world):
    """Every table with client_id holds rows of both tenants (a table the world leaves empty would
    prove nothing, so it fails here: give it rows in tests/security/world.py). A fresh transaction of
    the application role with no tenant set sees none of them; with tenant A set, only A's."""
    from caas.core import rls

    a, b = world
    with owner.connect() as conn:
        tables = rls.tenant_tables(conn)
        held = {t: set(conn.scalars(text(f"SELECT DISTINCT client_id FROM {t} WHERE client_id IS NOT NULL")))
                for t in tables}
    empty = sorted(t for t, owners in held.items() if not {a.client.id, b.client.id} <= owners)
    assert len(tables) > 40 and empty == [], f"no rows of both tenants in {empty}"
    engine = create_engine(app.config["APP_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
                                ).scalar_one() is False
            seen = {t: conn.scalar(text(f"SELECT count(*) FROM {t} WHERE client_id IS NOT NULL")) for t in tables}
            assert {t: n for t, n in seen.items() if n} == {}, "tenant rows seen with no tenant set"
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.client_id', :c, true)"), {"c": str(a.client.id)})
            for t in tables:
                owners = set(conn.scalars(text(f"SELECT DISTINCT client_id FROM {t} WHERE client_id IS NOT NULL")))
                assert owners == {a.client.id}, f"{t} as tenant A shows {owners}"
    finally:
        engine.dispose()


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
            response = send(actor, "GET", own[actor.name])
            assert response.status_code == 200, (actor.name, own[actor.name], response.status_code)
            assert a.borrower_name in response.get_data(as_text=True) or actor.name in ("provider_user_A", "api_key_A")


def test_tenant_a_cannot_reach_tenant_b_objects(app, owner, world, actors):
    a, b = world
    markers = [m for m in b.markers() if m != str(b.provider_id)]  # providers are listed across clients
    brand = {b.client.legal_name, b.client.display_name}
    before = _b_rows(owner, b)
    violations, requests = [], 0
    for rule in rules(app):
        if not any(name in OBJECT_PARAMS for name in rule.arguments):
            continue
        is_api = rule.rule.startswith("/api/")
        for actor in actors:
            if (actor.api_key is not None) != is_api and actor.name != "anonymous":
                continue
            variants = list(urls(rule, b))
            if actor.slug and "client_slug" in rule.arguments and len(rule.arguments - set(PLAIN_PARAMS)) > 1:
                variants += list(urls(rule, b, slug=actor.slug))  # B's objects on A's own portal
            for path in variants:
                for method in methods(rule):
                    requests += 1
                    try:
                        response = send(actor, method, path)
                    except Exception as exc:  # noqa: BLE001 - the testing app propagates a 500's exception
                        violations.append(f"{method} {path} [{rule.endpoint}] as {actor.name}: raised {exc!r:.200}")
                        continue
                    public = rule.endpoint in PUBLIC_BRANDED and b.slug in path
                    ok = (response.status_code < 500 and (public or refused(response)))
                    leaked = leaks(response, [m for m in markers if not (public and m in brand)], path)
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
    paths = [rule.rule for rule in rules(app)
             if "GET" in rule.methods and not any(name in OBJECT_PARAMS for name in rule.arguments)
             and not set(rule.arguments) - set(PLAIN_PARAMS)]
    paths = [re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: PLAIN_PARAMS[m.group(1)], p) for p in paths]
    paths += [f.format(client_id=b.client.id, slug=b.slug) for f in FILTERS_NAMING_B]
    own_portal = [rule.rule.replace("<client_slug>", a.slug) for rule in rules(app)
                  if "GET" in rule.methods and set(rule.arguments) == {"client_slug"}]
    violations, requests = [], 0
    for actor in actors:
        for path in paths + (own_portal if actor.slug else []):
            if path.startswith("/api/") != bool(actor.api_key) and actor.name != "anonymous":
                continue
            requests += 1
            try:
                response = send(actor, "GET", path)
            except Exception as exc:  # noqa: BLE001
                violations.append(f"GET {path} as {actor.name}: raised {exc!r:.200}")
                continue
            leaked = leaks(response, markers, path)
            if response.status_code >= 500 or leaked:
                violations.append(f"GET {path} as {actor.name}: {response.status_code}"
                                  f"{' leaks ' + str(leaked) if leaked else ''}")
    assert violations == [], f"{len(violations)} of {requests} list requests showed B:\n" + "\n".join(violations)
