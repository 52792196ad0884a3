"""Operations on clients, providers and users. They flush; the caller commits once."""
from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core import security, tenant
from caas.core.errors import DomainError
from caas.money import CURRENCY_EXPONENTS
from caas.tenancy.models import Client, Provider, Role, Status, User

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_PASSWORD = 12


def get_client_by_slug(session: Session, slug: str) -> Client | None:
    return session.scalar(select(Client).where(Client.slug == slug.lower()))


def create_client(
    session: Session, actor: Actor, *, slug: str, legal_name: str, display_name: str, country: str,
    currency: str, brand_colour: str = "#0d6efd",
) -> Client:
    """Create a tenant. Refuses a taken or malformed slug, an unknown currency, a bad colour."""
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise DomainError("invalid_slug", "Use 3–63 lower-case letters, digits and hyphens.", "slug")
    if get_client_by_slug(session, slug):
        raise DomainError("slug_taken", "This slug is already used by another client.", "slug")
    currency = currency.strip().upper()
    if currency not in CURRENCY_EXPONENTS:
        raise DomainError("invalid_currency", "Not an ISO 4217 currency we support.", "currency")
    if not COLOUR_RE.match(brand_colour):
        raise DomainError("invalid_colour", "Use a hex colour such as #1a2b3c.", "brand_colour")
    client = Client(
        id=uuid.uuid4(), slug=slug, legal_name=legal_name.strip(), display_name=display_name.strip(),
        country=country.strip().upper(), default_currency=currency, brand_colour=brand_colour,
    )
    session.add(client)
    session.flush()
    with tenant.tenant_scope(client.id, session):
        record(session, actor, "client.create", client_id=client.id, target_type="client", target_id=client.id,
               after={"slug": slug, "legal_name": client.legal_name, "currency": currency})
        session.flush()
    return client


def create_provider(session: Session, actor: Actor, *, legal_name: str, licence_number: str, country: str) -> Provider:
    if session.scalar(select(Provider).where(func.lower(Provider.legal_name) == legal_name.strip().lower())):
        raise DomainError("provider_exists", "A provider with this legal name exists.", "legal_name")
    provider = Provider(id=uuid.uuid4(), legal_name=legal_name.strip(), licence_number=licence_number.strip(),
                        country=country.strip().upper())
    session.add(provider)
    session.flush()
    record(session, actor, "provider.create", target_type="provider", target_id=provider.id,
           after={"legal_name": provider.legal_name})
    session.flush()
    return provider


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError("weak_password", f"Use at least {MIN_PASSWORD} characters.", "password")
    if len(password) > 128:
        raise DomainError("weak_password", "Use at most 128 characters.", "password")


def create_user(
    session: Session, *, role: Role, email: str, full_name: str, password: str,
    client_id: uuid.UUID | None = None, provider_id: uuid.UUID | None = None,
) -> User:
    """Create a user. Borrowers and client admins need a client (and its tenant scope to be set)."""
    email = email.strip().lower()
    if role in (Role.borrower, Role.client_admin) and client_id is None:
        raise DomainError("client_required", "This role belongs to a client.", "client_id")
    if role == Role.provider_user and provider_id is None:
        raise DomainError("provider_required", "Provider users belong to a provider.", "provider_id")
    check_password_strength(password)
    if role == Role.borrower:
        taken = session.scalar(select(User.id).where(User.role == Role.borrower, User.client_id == client_id,
                                                     func.lower(User.email) == email))
    else:
        taken = session.execute(text("SELECT * FROM caas_staff_login(:e)"), {"e": email}).first()
    if taken:
        raise DomainError("email_taken", "An account with this e-mail already exists.", "email")
    user = User(id=uuid.uuid4(), role=role, email=email, full_name=full_name.strip(),
                password_hash=security.hash_password(password), client_id=client_id, provider_id=provider_id)
    session.add(user)
    session.flush()
    return user


def register_borrower(session: Session, client: Client, *, email: str, full_name: str, password: str) -> User:
    """Borrower sign-up on a client's portal. The caller has set the client's tenant."""
    if not client.is_active:
        raise DomainError("client_suspended", "This lender is not taking applications right now.")
    return create_user(session, role=Role.borrower, email=email, full_name=full_name, password=password,
                       client_id=client.id)


def authenticate_staff(session: Session, email: str, password: str) -> User | None:
    """Log in a platform admin, client admin or provider user at the common login page.

    Client admins' rows are under RLS and the tenant is not known yet, so the lookup goes through
    the narrow SECURITY DEFINER function ``caas_staff_login`` (id, tenant and hash of one e-mail).
    The tenant is then set from the row and the user loaded normally. Returns None on any failure,
    without telling which part was wrong.
    """
    row = session.execute(text("SELECT * FROM caas_staff_login(:e)"), {"e": email.strip().lower()}).first()
    if not security.verify_password(row.password_hash if row else None, password):
        return None
    tenant.set_tenant(row.client_id, session)
    user = session.get(User, row.id)
    if user is None or not user.is_active or (user.client and not user.client.is_active):
        return None
    user.last_login_at = datetime.now(timezone.utc)
    return user


def authenticate_borrower(session: Session, client: Client, email: str, password: str) -> User | None:
    """Log in a borrower of ``client``; the caller has set the client's tenant."""
    user = session.scalar(select(User).where(User.role == Role.borrower, User.client_id == client.id,
                                             func.lower(User.email) == email.strip().lower()))
    if not security.verify_password(user.password_hash if user else None, password):
        return None
    if not user.is_active or not client.is_active:
        return None
    user.last_login_at = datetime.now(timezone.utc)
    return user


def load_user(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


@contextmanager
def platform_access(session: Session, actor: Actor, *, client_id: uuid.UUID | None, reason: str) -> Iterator[None]:
    """The platform admin's explicit way into tenant data, written to the audit log.

    With ``client_id`` the admin acts as that tenant (reads and writes). Without it the admin reads
    across all tenants; the database policies allow only SELECT in that mode.
    """
    if actor.role != Role.platform_admin.value:
        raise DomainError("forbidden", "Only platform admins may access tenant data this way.")
    if client_id is None:
        record(session, actor, "platform.read_all_tenants", after={"reason": reason})
        with tenant.all_tenants_scope(session):
            yield
    else:
        with tenant.tenant_scope(client_id, session):
            record(session, actor, "platform.act_for_tenant", client_id=client_id, target_type="client",
                   target_id=client_id, after={"reason": reason})
            yield


def tenant_counts(session: Session) -> dict[str, int]:
    """Counts visible in the current tenant scope (the dashboards use them)."""
    return {
        "clients": session.scalar(select(func.count()).select_from(Client)) or 0,
        "providers": session.scalar(select(func.count()).select_from(Provider)) or 0,
        "borrowers": session.scalar(select(func.count()).select_from(User).where(User.role == Role.borrower)) or 0,
        "client_admins": session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.client_admin)) or 0,
    }
