"""A provider's lending criteria: what it lends on, validated, and the SQL that matches listings.

Empty lists mean "any". A listing matches a provider when it matches at least one active set, and
the client is in the provider's network (that part is row-level security, not this module).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core.errors import DomainError, NotFound
from caas.credit.applications import PURPOSES
from caas.market.models import LendingCriteria, Listing
from caas.money import CURRENCY_EXPONENTS
from caas.tenancy.models import Client, ProviderAccess

GRADES = "ABCDE"


@dataclass
class CriteriaInput:
    name: str
    currencies: list[str]
    min_amount_minor: int
    max_amount_minor: int
    min_term_months: int
    max_term_months: int
    worst_grade: str
    max_pd: Decimal | None = None
    purposes: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    client_ids: list[uuid.UUID] = field(default_factory=list)


def network(session: Session, provider_id: uuid.UUID) -> list[Client]:
    """The clients whose network the provider is in (admins grant it). Read in the provider's scope."""
    ids = select(ProviderAccess.client_id).where(ProviderAccess.provider_id == provider_id)
    return list(session.scalars(select(Client).where(Client.id.in_(ids)).order_by(Client.display_name)))


def validate(values: CriteriaInput, network_ids: set[uuid.UUID]) -> None:
    problems: list[tuple[str, str]] = []
    if not values.name.strip() or len(values.name.strip()) > 80:
        problems.append(("name", "Name the set (up to 80 characters)."))
    if not values.currencies or any(c not in CURRENCY_EXPONENTS for c in values.currencies):
        problems.append(("currencies", "Use ISO 4217 codes we support, e.g. NGN, USD."))
    if values.min_amount_minor <= 0:
        problems.append(("min_amount", "The minimum amount must be above zero."))
    if values.max_amount_minor < values.min_amount_minor:
        problems.append(("max_amount", "The maximum must be at least the minimum."))
    if not 1 <= values.min_term_months <= 360:
        problems.append(("min_term_months", "Terms are whole months from 1 to 360."))
    if not values.min_term_months <= values.max_term_months <= 360:
        problems.append(("max_term_months", "The longest term must be at least the shortest, at most 360."))
    if values.worst_grade not in GRADES:
        problems.append(("worst_grade", "Choose a grade from A to E."))
    if values.max_pd is not None and not (Decimal(0) < values.max_pd <= Decimal(1)):
        problems.append(("max_pd", "Use a probability above 0 and at most 1 (e.g. 0.15), or leave it empty."))
    if any(p not in PURPOSES for p in values.purposes):
        problems.append(("purposes", f"Purposes are: {', '.join(PURPOSES)}."))
    if any(len(c) != 2 or not c.isalpha() for c in values.countries):
        problems.append(("countries", "Use two-letter country codes, e.g. NG, KE."))
    if set(values.client_ids) - network_ids:
        problems.append(("client_ids", "Choose clients from your network only."))
    if problems:
        error = DomainError("invalid_criteria", problems[0][1], problems[0][0])
        error.fields = dict(problems)  # type: ignore[attr-defined]
        raise error


def _snapshot(row: LendingCriteria) -> dict:
    return {"name": row.name, "currencies": list(row.currencies), "min_amount_minor": row.min_amount_minor,
            "max_amount_minor": row.max_amount_minor, "terms": [row.min_term_months, row.max_term_months],
            "worst_grade": row.worst_grade, "max_pd": str(row.max_pd) if row.max_pd is not None else None,
            "purposes": list(row.purposes), "countries": list(row.countries),
            "client_ids": [str(c) for c in row.client_ids], "active": row.active}


def get(session: Session, provider_id: uuid.UUID, criteria_id: uuid.UUID) -> LendingCriteria:
    row = session.get(LendingCriteria, criteria_id, populate_existing=True)
    if row is None or row.provider_id != provider_id:
        raise NotFound("criteria")
    return row


def save(session: Session, actor: Actor, provider_id: uuid.UUID, values: CriteriaInput,
         criteria_id: uuid.UUID | None = None) -> LendingCriteria:
    values.currencies = sorted({c.strip().upper() for c in values.currencies if c.strip()})
    values.countries = sorted({c.strip().upper() for c in values.countries if c.strip()})
    values.purposes = sorted(set(values.purposes))
    validate(values, {c.id for c in network(session, provider_id)})
    row = get(session, provider_id, criteria_id) if criteria_id else None
    before = _snapshot(row) if row else None
    if row is None:
        row = LendingCriteria(id=uuid.uuid4(), provider_id=provider_id, active=True)
        session.add(row)
    row.name = values.name.strip()
    for name in ("currencies", "min_amount_minor", "max_amount_minor", "min_term_months", "max_term_months",
                 "worst_grade", "max_pd", "purposes", "countries", "client_ids"):
        setattr(row, name, getattr(values, name))
    session.flush()
    record(session, actor, "criteria.update" if before else "criteria.create", target_type="lending_criteria",
           target_id=row.id, before=before, after=_snapshot(row))
    return row


def set_active(session: Session, actor: Actor, provider_id: uuid.UUID, criteria_id: uuid.UUID, active: bool) -> None:
    row = get(session, provider_id, criteria_id)
    if row.active != active:
        row.active = active
        record(session, actor, "criteria.enable" if active else "criteria.disable", target_type="lending_criteria",
               target_id=row.id)


def active_for(session: Session, provider_id: uuid.UUID) -> list[LendingCriteria]:
    return list(session.scalars(select(LendingCriteria).where(LendingCriteria.provider_id == provider_id,
                                                              LendingCriteria.active.is_(True))
                                .order_by(LendingCriteria.created_at)))


def list_for(session: Session, provider_id: uuid.UUID) -> list[LendingCriteria]:
    return list(session.scalars(select(LendingCriteria).where(LendingCriteria.provider_id == provider_id)
                                .order_by(LendingCriteria.created_at)))


def _one(row: LendingCriteria):
    parts = [Listing.currency.in_(row.currencies),
             Listing.amount_minor.between(row.min_amount_minor, row.max_amount_minor),
             Listing.term_months.between(row.min_term_months, row.max_term_months),
             Listing.grade <= row.worst_grade]  # "A" < "B" < … so worse grades sort later
    if row.max_pd is not None:
        parts.append(Listing.pd <= row.max_pd)
    if row.purposes:
        parts.append(Listing.purpose.in_(row.purposes))
    if row.countries:
        parts.append(Listing.country.in_(row.countries))
    if row.client_ids:
        parts.append(Listing.client_id.in_(row.client_ids))
    return and_(*parts)


def match_clause(rows: list[LendingCriteria]):
    """Listings matching any of ``rows``; with none, nothing matches."""
    return or_(*[_one(row) for row in rows]) if rows else false()


def matches(rows: list[LendingCriteria], listing: Listing) -> bool:
    """The same test in Python, for one listing (bids check it before saving)."""
    for row in rows:
        if (listing.currency in row.currencies and row.min_amount_minor <= listing.amount_minor <= row.max_amount_minor
                and row.min_term_months <= listing.term_months <= row.max_term_months
                and listing.grade <= row.worst_grade and (row.max_pd is None or listing.pd <= row.max_pd)
                and (not row.purposes or listing.purpose in row.purposes)
                and (not row.countries or listing.country in row.countries)
                and (not row.client_ids or listing.client_id in row.client_ids)):
            return True
    return False
