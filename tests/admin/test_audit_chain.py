"""The audit trail is append-only and hash-chained; `flask audit verify` finds tampering."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from caas.audit.operations import verify_chain

INSERT = text("INSERT INTO audit_log (action, actor_role, after) VALUES (:a, 'platform_admin', CAST(:after AS jsonb))")


@pytest.fixture
def committed_chain(owner):
    """Three committed audit rows (the owner's connection), removed afterwards (TRUNCATE is not a
    row-level DELETE, so the append-only trigger does not fire; the app role has no TRUNCATE)."""
    with owner.begin() as conn:
        for n in range(3):
            conn.execute(INSERT, {"a": f"probe.{n}", "after": f'{{"n": {n}}}'})
    yield
    with owner.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))


def test_rows_link_to_the_previous_hash(owner, committed_chain):
    with owner.connect() as conn:
        rows = conn.execute(text("SELECT chain_seq, prev_hash, hash FROM audit_log ORDER BY chain_seq")).all()
        report = verify_chain(conn)
    assert [r.chain_seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == "0" * 64
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert len({r.hash for r in rows}) == 3
    assert (report.rows, report.broken_at) == (3, None)


def test_verify_command_passes_then_names_the_first_tampered_row(app, owner, committed_chain):
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 3 rows" in ok.output
    with owner.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text("UPDATE audit_log SET after = '{\"n\": 99}' WHERE chain_seq = 2"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert "chain position 2" in broken.output and "content does not match its hash" in broken.output


def test_deleting_a_row_breaks_the_link(app, owner, committed_chain):
    with owner.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text("DELETE FROM audit_log WHERE chain_seq = 2"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    with owner.connect() as conn:
        report = verify_chain(conn)
    assert report.broken_at == 3 and "chain position 3, expected 2" in report.reason


def test_app_role_cannot_update_delete_or_truncate_audit_rows(app):
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(app.config["APP_DATABASE_URL"])
    try:
        for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with engine.begin() as conn, pytest.raises(DBAPIError, match="permission denied|append-only"):
                conn.execute(text(statement))
    finally:
        engine.dispose()
