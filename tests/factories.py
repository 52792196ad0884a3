"""Factories: build test data through the real operations, under the right tenant."""
from __future__ import annotations

import itertools
import uuid
from contextlib import nullcontext

from caas import demo
from caas.audit.operations import Actor
from caas.core import clock, tenant
from caas.tenancy import operations, two_factor
from caas.tenancy.models import Client, Provider, Role, User

PASSWORD = "correct-horse-battery"
# Admins must have two-factor: every admin made here is enrolled with this secret (the demo's, so
# one authenticator serves both), and the login helpers (tests/helpers.py, tests/browser/helpers.py)
# type its current code at the second step. Other roles get it with ``two_factor=True``.
TOTP_SECRET = demo.TOTP_SECRET
_seq = itertools.count(1)
SYSTEM = Actor.system("test")


def client(session, **overrides) -> Client:
    n = next(_seq)
    values = dict(slug=f"client-{n}-{uuid.uuid4().hex[:6]}", legal_name=f"Client {n} Ltd",
                  display_name=f"Client {n}", country="NG", currency="NGN", brand_colour="#123456")
    values.update(overrides)
    made = operations.create_client(session, SYSTEM, **values)
    session.flush()
    return made


def provider(session, **overrides) -> Provider:
    n = next(_seq)
    values = dict(legal_name=f"Provider {n} {uuid.uuid4().hex[:6]}", licence_number=f"LIC-{n}", country="NG")
    values.update(overrides)
    return operations.create_provider(session, SYSTEM, **values)


def user(session, role: Role, *, client: Client | None = None, provider: Provider | None = None,
         email: str | None = None, password: str = PASSWORD, full_name: str | None = None,
         two_factor_on: bool | None = None) -> User:
    """``two_factor_on``: enrolled with TOTP_SECRET (by default, the roles that require it)."""
    n = next(_seq)
    email = email or f"{role.value}-{n}-{uuid.uuid4().hex[:6]}@example.com"
    kwargs = dict(role=role, email=email, full_name=full_name or f"{role.value.title()} {n}", password=password,
                  client_id=client.id if client else None, provider_id=provider.id if provider else None)
    enrol = role in two_factor.REQUIRED_FOR if two_factor_on is None else two_factor_on
    with tenant.tenant_scope(client.id, session) if client is not None else nullcontext():
        made = operations.create_user(session, **kwargs)
        if enrol:
            two_factor.enable_with_secret(session, SYSTEM, made, TOTP_SECRET, clock.now())
    return made


def platform_admin(session, **kw) -> User:
    return user(session, Role.platform_admin, **kw)


def client_admin(session, client_: Client, **kw) -> User:
    return user(session, Role.client_admin, client=client_, **kw)


def borrower(session, client_: Client, **kw) -> User:
    return user(session, Role.borrower, client=client_, **kw)


def provider_user(session, provider_: Provider, **kw) -> User:
    return user(session, Role.provider_user, provider=provider_, **kw)


def api_key(session, client_: Client, scopes=None, mode: str = "live") -> str:
    """A live key for ``client_`` with every scope unless told otherwise; returns the secret."""
    from caas.tenancy import apikeys

    with tenant.tenant_scope(client_.id, session):
        _, raw = apikeys.issue(session, SYSTEM, client_.id, name="test key", mode=mode,
                               scopes=list(scopes or apikeys.SCOPES))
    return raw


def applicant(**overrides) -> dict:
    """A valid applicant for a Nigerian client (BVN of 11 digits), amounts in naira."""
    values = {"email": f"applicant-{next(_seq)}@example.com", "legal_name": "Adaeze Okoro",
              "date_of_birth": "1990-04-12", "phone": "+2348031234567", "address": "12 Marina Road, Lagos",
              "national_id": "22345678901", "employment_status": "employed", "employer": "Dangote Cement",
              "months_employed": 36, "monthly_net_income": "450000.00", "monthly_expenses": "150000.00",
              "existing_debt_payments": "20000.00", "housing": "rent"}
    values.update(overrides)
    return values


def application_body(**overrides) -> dict:
    body = {"applicant": applicant(), "consents": {"data_processing": True, "credit_check": True},
            "amount": "250000.00", "currency": "NGN", "term_months": 12, "purpose": "business expansion"}
    body.update(overrides)
    return body
