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
from caas.core.errors import DomainError, NotFound
from caas.money import CURRENCY_EXPONENTS
from caas.tenancy.models import Client, Provider, ProviderAccess, Role, Status, Tier, User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def get_client_by_slug(session: Session, slug: str) -> Client | None:
    return session.scalar(select(Client).where(Client.slug == slug.lower()))


def check_identity(session: Session, *, slug: str, legal_name: str, display_name: str, country: str,
                   currency: str, brand_colour: str) -> dict:
    """Validate the first wizard step; returns the normalised values or raises at the first bad field."""
    slug = slug.strip().lower()
    if not legal_name.strip():
        raise DomainError("required", "Enter the legal name.", "legal_name")
    if not display_name.strip():
        raise DomainError("required", "Enter the display name.", "display_name")
    if not SLUG_RE.match(slug):
        raise DomainError("invalid_slug", "Use 3–63 lower-case letters, digits and hyphens.", "slug")
    if get_client_by_slug(session, slug):
        raise DomainError("slug_taken", "This slug is already used by another client.", "slug")
    country = country.strip().upper()
    if not COUNTRY_RE.match(country):
        raise DomainError("invalid_country", "Use a two-letter ISO 3166 country code, e.g. NG.", "country")
    currency = currency.strip().upper()
    if currency not in CURRENCY_EXPONENTS:
        raise DomainError("invalid_currency", "Not an ISO 4217 currency we support.", "currency")
    if not COLOUR_RE.match(brand_colour.strip()):
        raise DomainError("invalid_colour", "Use a hex colour such as #1a2b3c.", "brand_colour")
    return dict(slug=slug, legal_name=legal_name.strip(), display_name=display_name.strip(), country=country,
                currency=currency, brand_colour=brand_colour.strip().lower())


def create_client(
    session: Session, actor: Actor, *, slug: str, legal_name: str, display_name: str, country: str,
    currency: str, brand_colour: str = "#0d6efd", tier: str = "starter", services: list[str] | None = None,
    quota_api_calls_per_hour: int | None = None, quota_applications_per_month: int | None = None,
    logo_path: str | None = None,
) -> Client:
    """Create a tenant with its default credit policy. Refuses a taken or malformed slug, an unknown
    currency or country, a bad colour, an unknown tier or service, a quota below one."""
    from caas.tenancy import policy as policies
    from caas.tenancy.tiers import DEFAULT_SERVICES, SERVICES

    values = check_identity(session, slug=slug, legal_name=legal_name, display_name=display_name, country=country,
                            currency=currency, brand_colour=brand_colour)
    try:
        tier_value = Tier(tier)
    except ValueError:
        raise DomainError("invalid_tier", "Choose starter, professional or enterprise.", "tier") from None
    services = DEFAULT_SERVICES if services is None else services
    if set(services) - set(SERVICES):
        raise DomainError("invalid_service", "Choose from the listed services.", "services")
    for name, quota in (("quota_api_calls_per_hour", quota_api_calls_per_hour),
                        ("quota_applications_per_month", quota_applications_per_month)):
        if quota is not None and quota < 1:
            raise DomainError("invalid_quota", "A quota override must be at least 1 (leave empty for the tier's).",
                              name)
    client = Client(
        id=uuid.uuid4(), slug=values["slug"], legal_name=values["legal_name"], display_name=values["display_name"],
        country=values["country"], default_currency=values["currency"], brand_colour=values["brand_colour"],
        tier=tier_value, enabled_services=[s for s in SERVICES if s in services],
        quota_api_calls_per_hour=quota_api_calls_per_hour, quota_applications_per_month=quota_applications_per_month,
        logo_path=logo_path,
    )
    session.add(client)
    session.flush()
    with tenant.tenant_scope(client.id, session):
        record(session, actor, "client.create", client_id=client.id, target_type="client", target_id=client.id,
               after={"slug": client.slug, "legal_name": client.legal_name, "currency": client.default_currency,
                      "tier": tier_value.value, "services": client.enabled_services})
        policies.save(session, actor, client.id, policies.default_policy(client.default_currency))
        session.flush()
    return client


def create_provider(session: Session, actor: Actor, *, legal_name: str, licence_number: str, country: str,
                    currencies: list[str] | None = None, contact_name: str | None = None,
                    contact_email: str | None = None, contact_phone: str | None = None) -> Provider:
    """Onboard a lender. Its funding accounts per currency start at zero in the ledger (money issue)."""
    if not legal_name.strip():
        raise DomainError("required", "Enter the legal name.", "legal_name")
    if not licence_number.strip():
        raise DomainError("required", "Enter the licence number.", "licence_number")
    if session.scalar(select(Provider).where(func.lower(Provider.legal_name) == legal_name.strip().lower())):
        raise DomainError("provider_exists", "A provider with this legal name exists.", "legal_name")
    if not COUNTRY_RE.match(country.strip().upper()):
        raise DomainError("invalid_country", "Use a two-letter ISO 3166 country code, e.g. NG.", "country")
    currencies = [c.strip().upper() for c in (currencies or []) if c.strip()]
    if any(c not in CURRENCY_EXPONENTS for c in currencies):
        raise DomainError("invalid_currency", "Use ISO 4217 codes we support, e.g. NGN, USD.", "currencies")
    provider = Provider(id=uuid.uuid4(), legal_name=legal_name.strip(), licence_number=licence_number.strip(),
                        country=country.strip().upper(), currencies=currencies, contact_name=contact_name,
                        contact_email=(contact_email or "").strip().lower() or None, contact_phone=contact_phone)
    session.add(provider)
    session.flush()
    record(session, actor, "provider.create", target_type="provider", target_id=provider.id,
           after={"legal_name": provider.legal_name, "currencies": currencies})
    session.flush()
    return provider


def check_password_strength(password: str, email: str | None = None) -> None:
    from caas.tenancy import passwords

    message = passwords.problem(password, email=email)
    if message:
        raise DomainError("weak_password", message, "password")


def create_user(
    session: Session, *, role: Role, email: str, full_name: str, password: str | None,
    client_id: uuid.UUID | None = None, provider_id: uuid.UUID | None = None,
) -> User:
    """Create a user. Borrowers and client admins need a client (and its tenant scope to be set).

    ``password=None`` creates an invited user who sets a password through the invitation link.
    """
    from caas.tenancy.invitations import UNUSABLE_PASSWORD

    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise DomainError("invalid_email", "Enter a valid e-mail address.", "email")
    if not full_name.strip():
        raise DomainError("required", "Enter the person's name.", "full_name")
    if role in (Role.borrower, Role.client_admin) and client_id is None:
        raise DomainError("client_required", "This role belongs to a client.", "client_id")
    if role == Role.provider_user and provider_id is None:
        raise DomainError("provider_required", "Provider users belong to a provider.", "provider_id")
    if password is not None:
        check_password_strength(password, email)
    if role == Role.borrower:
        taken = session.scalar(select(User.id).where(User.role == Role.borrower, User.client_id == client_id,
                                                     func.lower(User.email) == email))
    else:
        taken = session.execute(text("SELECT * FROM caas_staff_login(:e)"), {"e": email}).first()
    if taken:
        raise DomainError("email_taken", "An account with this e-mail already exists.", "email")
    user = User(id=uuid.uuid4(), role=role, email=email, full_name=full_name.strip(),
                password_hash=security.hash_password(password) if password is not None else UNUSABLE_PASSWORD,
                client_id=client_id, provider_id=provider_id)
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
    if user is None or not user.is_active:
        return None
    if user.client is not None and not user.client.is_active:
        raise DomainError("client_suspended", f"{user.client.display_name}'s account is suspended. "
                          "Contact the platform team.", "email")
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
    return tenant.get_visible(session, User, user_id)


@contextmanager
def platform_access(session: Session, actor: Actor, *, client_id: uuid.UUID | None, reason: str) -> Iterator[None]:
    """The platform admin's explicit way into tenant data, written to the audit log.

    With ``client_id`` the admin acts as that tenant (reads and writes). Without it the admin reads
    across all tenants; the database policies allow only SELECT in that mode.
    """
    if actor.role != Role.platform_admin.value and not actor.is_operator:
        raise DomainError("forbidden", "Only platform admins (or the operator's CLI) may access tenant data this way.")
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


# --- Onboarding and administration (platform admins) -------------------------------------------

def invite_user(session: Session, actor: Actor, *, role: Role, email: str, full_name: str,
                client_id: uuid.UUID | None = None, provider_id: uuid.UUID | None = None) -> User:
    """Create a user without a password and e-mail them a one-time link (after commit). Audited."""
    from caas.tenancy import invitations

    user = create_user(session, role=role, email=email, full_name=full_name, password=None, client_id=client_id,
                       provider_id=provider_id)
    invitations.invite(session, user)
    record(session, actor, "user.invite", client_id=client_id, target_type="user", target_id=user.id,
           after={"email": user.email, "role": role.value, "provider_id": str(provider_id) if provider_id else None})
    return user


def onboard_client(session: Session, actor: Actor, *, admin_email: str, admin_name: str, **client_values) -> Client:
    """The wizard's last step, in one transaction: the client, its default policy and the invited
    first client admin. Nothing is half-saved: any refusal leaves nothing behind."""
    client = create_client(session, actor, **client_values)
    with tenant.tenant_scope(client.id, session):
        invite_user(session, actor, role=Role.client_admin, email=admin_email, full_name=admin_name,
                    client_id=client.id)
    return client


def onboard_provider(session: Session, actor: Actor, *, user_email: str, user_name: str, **provider_values) -> Provider:
    provider = create_provider(session, actor, **provider_values)
    invite_user(session, actor, role=Role.provider_user, email=user_email, full_name=user_name,
                provider_id=provider.id)
    return provider


def set_client_status(session: Session, actor: Actor, client_id: uuid.UUID, status: Status, reason: str) -> Client:
    """Suspend or reactivate a client. Suspension blocks its API keys, portal and admins. Audited."""
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("client")
    if not reason.strip():
        raise DomainError("required", "Say why.", "reason")
    before = client.status.value
    client.status = status
    session.flush()
    with tenant.tenant_scope(client.id, session):
        record(session, actor, "client.suspend" if status == Status.suspended else "client.activate",
               client_id=client.id, target_type="client", target_id=client.id,
               before={"status": before}, after={"status": status.value, "reason": reason.strip()})
    return client


def set_provider_network(session: Session, actor: Actor, client_id: uuid.UUID,
                         provider_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Replace the client's provider network (tenant in scope). Audited with before and after."""
    wanted = set(provider_ids)
    known = set(session.scalars(select(Provider.id).where(Provider.id.in_(wanted)))) if wanted else set()
    if wanted - known:
        raise DomainError("unknown_provider", "One of the providers does not exist.", "providers")
    current = {row.provider_id: row for row in session.scalars(select(ProviderAccess))}
    for provider_id in set(current) - wanted:
        session.delete(current[provider_id])
    for provider_id in wanted - set(current):
        session.add(ProviderAccess(client_id=client_id, provider_id=provider_id))
    session.flush()
    if set(current) != wanted:
        record(session, actor, "network.update", client_id=client_id, target_type="client", target_id=client_id,
               before={"providers": sorted(str(p) for p in current)}, after={"providers": sorted(str(p) for p in wanted)})
    return sorted(wanted)


def network(session: Session) -> list[ProviderAccess]:
    return list(session.scalars(select(ProviderAccess)))


def remove_client_admin(session: Session, actor: Actor, user_id: uuid.UUID) -> User:
    """Remove (deactivate) a client admin of the tenant in scope; never yourself, never the last one."""
    user = tenant.get_visible(session, User, user_id)
    if user is None or user.role != Role.client_admin:
        raise NotFound("user")
    if user.id == actor.user_id:
        raise DomainError("cannot_remove_self", "You cannot remove yourself.")
    active = session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.client_admin, User.status == Status.active)) or 0
    if user.status == Status.active and active <= 1:
        raise DomainError("last_admin", "A client needs at least one active admin.")
    user.status = Status.suspended
    session.flush()
    record(session, actor, "user.remove", client_id=user.client_id, target_type="user", target_id=user.id,
           before={"status": "active"}, after={"status": "suspended"})
    return user


def client_admins(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == Role.client_admin).order_by(User.created_at)))


def _keyset_page(session: Session, model, key, *, search, status: str, after: str | None, limit: int):
    """One page ordered by the unique ``key`` column; the cursor is the last key on the page."""
    query = select(model).order_by(key).limit(limit + 1)
    if search is not None:
        query = query.where(search)
    if status in ("active", "suspended"):
        query = query.where(model.status == Status(status))
    if after:
        query = query.where(key > after)
    rows = list(session.scalars(query))
    return rows[:limit], (getattr(rows[limit - 1], key.key) if len(rows) > limit else None)


def list_clients(session: Session, *, q: str = "", status: str = "", after: str | None = None,
                 limit: int = 25) -> tuple[list[Client], str | None]:
    """Clients by slug with search and status filter; keyset pagination (``after`` = last slug)."""
    like = f"%{q.strip().lower()}%"
    search = (func.lower(Client.legal_name).like(like) | func.lower(Client.display_name).like(like)
              | Client.slug.like(like)) if q else None
    return _keyset_page(session, Client, Client.slug, search=search, status=status, after=after, limit=limit)


def list_providers(session: Session, *, q: str = "", status: str = "", after: str | None = None,
                   limit: int = 25) -> tuple[list[Provider], str | None]:
    """Providers by legal name with search and status filter; keyset pagination."""
    search = func.lower(Provider.legal_name).like(f"%{q.strip().lower()}%") if q else None
    return _keyset_page(session, Provider, Provider.legal_name, search=search, status=status, after=after,
                        limit=limit)
