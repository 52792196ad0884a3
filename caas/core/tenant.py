"""The acting tenant, and how it reaches PostgreSQL row-level security.

The tenant lives in a context variable. Every database transaction the ORM session begins copies it
into the transaction-local settings ``app.client_id`` and ``app.all_tenants`` with
``set_config(..., true)``, so it ends with the transaction and a pooled connection never carries
one request's tenant into the next. With no tenant set, tenant-owned rows are invisible.

Two explicit ways in, both named and both audited by their callers:
- ``tenant_scope(client_id)``: act as one tenant (read and write its rows).
- ``all_tenants_scope()``: read across tenants (platform admin lists). Writes still need a tenant:
  the policies only open SELECT in this mode.

A provider (lender) is not a tenant. A provider's request also sets ``app.provider_id``
(``provider_scope``); the marketplace tables add policies keyed on it, so the provider sees the
anonymised listings of the clients whose network it is in, and its own bids and loans, and nothing
else.
"""
from __future__ import annotations

import contextvars
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import event, text
from sqlalchemy.orm import Session, scoped_session


@dataclass(frozen=True)
class TenantContext:
    client_id: uuid.UUID | None = None
    all_tenants: bool = False
    provider_id: uuid.UUID | None = None


_current: contextvars.ContextVar[TenantContext] = contextvars.ContextVar(
    "caas_tenant", default=TenantContext()
)

_SET_SQL = text(
    "SELECT set_config('app.client_id', :client_id, true), set_config('app.all_tenants', :all, true), "
    "set_config('app.provider_id', :provider_id, true)"
)


def current() -> TenantContext:
    return _current.get()


def current_client_id() -> uuid.UUID | None:
    return _current.get().client_id


def current_provider_id() -> uuid.UUID | None:
    return _current.get().provider_id


def set_tenant(client_id: uuid.UUID | None, session: Session | None = None, *, all_tenants: bool = False,
               provider_id: uuid.UUID | None = None):
    """Set the acting tenant; when a transaction is already open on ``session`` apply it at once."""
    token = _current.set(TenantContext(client_id=client_id, all_tenants=all_tenants, provider_id=provider_id))
    if isinstance(session, scoped_session):
        session = session()
    if session is not None:
        transaction = session.get_transaction()
        if transaction is not None and transaction.is_active:
            apply_to(session.connection())
    return token


def reset(token=None) -> None:
    if token is None:
        _current.set(TenantContext())
    else:
        _current.reset(token)


def apply_to(connection) -> None:
    ctx = _current.get()
    connection.execute(
        _SET_SQL,
        {"client_id": str(ctx.client_id) if ctx.client_id else "", "all": "on" if ctx.all_tenants else "",
         "provider_id": str(ctx.provider_id) if ctx.provider_id else ""},
    )


def _restore(previous: TenantContext, session: Session | None) -> None:
    set_tenant(previous.client_id, session, all_tenants=previous.all_tenants, provider_id=previous.provider_id)


@contextmanager
def tenant_scope(client_id: uuid.UUID, session: Session | None = None) -> Iterator[None]:
    """Act as one tenant. A provider scope already in force is kept (a provider's bid is written
    as the application's tenant, with the provider still named)."""
    previous = _current.get()
    set_tenant(client_id, session, provider_id=previous.provider_id)
    try:
        yield
    finally:
        _restore(previous, session)


@contextmanager
def all_tenants_scope(session: Session | None = None) -> Iterator[None]:
    previous = _current.get()
    set_tenant(previous.client_id, session, all_tenants=True, provider_id=previous.provider_id)
    try:
        yield
    finally:
        _restore(previous, session)


@contextmanager
def provider_scope(provider_id: uuid.UUID, session: Session | None = None) -> Iterator[None]:
    """Act as a provider: no tenant, ``app.provider_id`` set (the provider portal, provider jobs)."""
    previous = _current.get()
    set_tenant(None, session, provider_id=provider_id)
    try:
        yield
    finally:
        _restore(previous, session)


def install(session_class=Session) -> None:
    """Hook every ORM transaction begin (including SAVEPOINT joins in tests) to apply the tenant."""
    if getattr(install, "_done", False):
        return

    @event.listens_for(session_class, "after_begin")
    def _after_begin(session, transaction, connection):  # noqa: ANN001
        apply_to(connection)

    install._done = True  # type: ignore[attr-defined]


def get_visible(session: Session, model, ident):
    """Load a row by id from the database under the current tenant, never from the identity map.

    ``session.get`` answers from the identity map when the object is already loaded, and a session
    that has switched tenant (a platform admin's request, a test) could hold another tenant's
    object there. Ids that come from outside (URLs, API calls) go through this instead.
    """
    return session.get(model, ident, populate_existing=True)
