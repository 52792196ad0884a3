"""No state change on GET (issue 13).

Every rule that answers GET is requested by every actor of tenant A, with A's own ids this time
(so the views get past their lookups and really run), and after each request the database is
checked for rows written or removed by it: any row whose ``xmin`` (the transaction that wrote this
version of it) is at or after the transaction id the cluster was about to assign just before the
request, and any table whose row count moved. A read-only transaction never takes a transaction
id, so a view that writes nothing leaves no trace, and one that writes anything is caught, table
by table, whatever code path it took. (Other databases on the cluster may take ids meanwhile; they
write no rows here.)

Writes a read may legitimately make, each for a reason:
- ``audit_log``: a look into a tenant (``platform_access``) and a document download are audited reads;
- ``api_keys`` (last_used_at), ``usage_events``: every API call is metered and billed, GET included;
- ``user_sessions``: a signed-in request keeps its server-side session alive (last seen).
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.security.matrix import READS_THAT_WRITE, rules, send, urls


@pytest.fixture(scope="module")
def watch(owner):
    """Returns (mark, written): ``mark()`` before a request, ``written(mark)`` after it."""
    with owner.connect() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                   "AND tablename <> 'alembic_version' ORDER BY tablename")).all()
    probe = text(" UNION ALL ".join(
        f"SELECT '{t}' AS tbl, count(*) AS n, count(*) FILTER (WHERE xmin::text::bigint >= :x) AS w FROM {t}"
        for t in tables))
    conn = owner.connect()
    conn.execution_options(isolation_level="AUTOCOMMIT")

    def mark():
        xid = conn.scalar(text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296"))
        return xid, {row.tbl: row.n for row in conn.execute(probe, {"x": xid})}

    def written(before) -> list[str]:
        xid, counts = before
        return sorted(row.tbl for row in conn.execute(probe, {"x": xid}) if row.w or row.n != counts[row.tbl])

    yield mark, written
    conn.close()


def test_no_get_writes_a_row(app, world, actors, watch):
    a, _ = world
    mark, written = watch
    violations, requests = [], 0
    for rule in rules(app):
        if "GET" not in rule.methods:
            continue
        for actor in actors:
            if rule.rule.startswith("/api/") != bool(actor.api_key) and actor.name != "anonymous":
                continue
            for path in urls(rule, a):
                before = mark()
                requests += 1
                try:
                    response = send(actor, "GET", path)
                except Exception as exc:  # noqa: BLE001 - the testing app propagates a 500's exception
                    violations.append(f"GET {path} as {actor.name}: raised {exc!r:.200}")
                    continue
                wrote = [t for t in written(before) if t not in READS_THAT_WRITE]
                if wrote:
                    violations.append(f"GET {path} [{rule.endpoint}] as {actor.name} ({response.status_code}) "
                                      f"wrote {wrote}")
    assert requests > 200
    assert violations == [], f"{len(violations)} of {requests} GETs changed state:\n" + "\n".join(violations)


def test_the_watch_sees_a_write(app, world, actors, watch):
    """The control: a request that does write (a POST that marks notices read) is seen."""
    a, _ = world
    mark, written = watch
    borrower = next(actor for actor in actors if actor.name == "borrower_A")
    before = mark()
    assert send(borrower, "POST", f"/c/{a.slug}/notifications/read-all").status_code == 302
    assert "notifications" in written(before)
