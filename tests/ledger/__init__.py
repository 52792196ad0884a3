"""Helpers shared by the ledger tests.

Tests that need committed transactions (concurrency, commit-time checks) use real engines against
the test database and remove what they committed with ``purge_owners``: the journal is append-only,
so the owner deletes with triggers off (``session_replication_role = replica``).
"""
from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.engine import Engine

from caas.ledger import AccountKind, account_key


def new_id() -> str:
    return str(uuid.uuid4())


def new_gateway() -> str:
    return "t" + uuid.uuid4().hex[:12]


def available(owner_id, currency: str = "NGN"):
    return account_key(AccountKind.provider_available, owner_id, currency)


def reserved(owner_id, currency: str = "NGN"):
    return account_key(AccountKind.provider_reserved, owner_id, currency)


def clearing(gateway: str, currency: str = "NGN"):
    return account_key(AccountKind.gateway_clearing, gateway, currency)


def purge_owners(owner: Engine, owner_ids: list[str]) -> None:
    """Delete every account of these owners, the entries touching them and their balances."""
    with owner.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        accounts = [r[0] for r in conn.execute(
            text("SELECT id FROM ledger_accounts WHERE owner_id = ANY(:o)"), {"o": owner_ids})]
        if not accounts:
            return
        entries = [r[0] for r in conn.execute(
            text("SELECT DISTINCT entry_id FROM journal_lines WHERE account_id = ANY(:a)"), {"a": accounts})]
        conn.execute(text("DELETE FROM journal_lines WHERE entry_id = ANY(:e)"), {"e": entries})
        conn.execute(text("DELETE FROM journal_entries WHERE reverses_entry_id = ANY(:e)"), {"e": entries})
        conn.execute(text("DELETE FROM journal_entries WHERE id = ANY(:e)"), {"e": entries})
        conn.execute(text("DELETE FROM ledger_balances WHERE account_id = ANY(:a)"), {"a": accounts})
        conn.execute(text("DELETE FROM ledger_accounts WHERE id = ANY(:a)"), {"a": accounts})
