"""The operator CLI under test: each command invoked through Flask's CLI runner inside the test's
rolled-back transaction (the commands commit; the test's SAVEPOINTs absorb it)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from caas.audit.models import AuditEntry
from caas.core import tenant
from caas.core.cli_output import os_user

OPERATOR = f"cli:{os_user()}"


@pytest.fixture
def cli(app, db):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=[str(a) for a in args])

    return invoke


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def as_json(result):
    return json.loads(ok(result))


def refused(result, *, code: int | None = None) -> str:
    """A bad argument or a refusal: non-zero, and one line that says why."""
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def audit_rows(db, action: str) -> list[AuditEntry]:
    with tenant.all_tenants_scope(db):
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
