"""The marketplace a provider pages through: open listings of its network matching its criteria.

Keyset pagination only (never OFFSET, never a full COUNT): each sort has a cursor of the sort
key and the id. "N new since you looked" counts at most ``NEW_CAP`` rows.
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.orm import Session

from caas.core.errors import DomainError
from caas.market import criteria as criteria_ops
from caas.market.models import Bid, LendingCriteria, Listing

OPEN = text("market_listings.status = 'open'")
PAGE = 25
NEW_CAP = 100
# sort → (columns, descending?)
SORTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "newest": (("opened_at", "id"), True),
    "closing": (("closes_at", "id"), False),
    "amount": (("amount_minor", "id"), True),
    "grade": (("grade", "pd", "id"), False),
}
COLUMNS = (Listing.id, Listing.client_id, Listing.currency, Listing.amount_minor, Listing.term_months,
           Listing.purpose, Listing.grade, Listing.pd, Listing.debt_to_income, Listing.income_band,
           Listing.country, Listing.opened_at, Listing.closes_at, Listing.bid_count)


@dataclass(frozen=True)
class Filters:
    currency: str | None = None
    worst_grade: str | None = None
    purpose: str | None = None
    term_months: int | None = None
    min_amount_minor: int | None = None
    max_amount_minor: int | None = None
    sort: str = "newest"


@dataclass(frozen=True)
class Row:
    id: uuid.UUID
    currency: str
    amount_minor: int
    term_months: int
    purpose: str
    grade: str
    pd: Decimal
    debt_to_income: Decimal
    income_band: str
    country: str
    opened_at: datetime
    closes_at: datetime
    bid_count: int
    my_bid_status: str | None


def _encode(values: list) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else str(v) for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> list:
    columns, _ = SORTS[sort]
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError
        parse = {"opened_at": datetime.fromisoformat, "closes_at": datetime.fromisoformat, "id": uuid.UUID,
                 "amount_minor": int, "grade": str, "pd": Decimal}
        return [parse[name](value) for name, value in zip(columns, raw)]
    except (ValueError, TypeError, KeyError, ArithmeticError):
        raise DomainError("invalid_cursor", "That page link is no longer valid; start again.", "after") from None


def _base(provider_id: uuid.UUID, rows: list[LendingCriteria], filters: Filters, now: datetime):
    # RLS limits this to the clients of the provider's network; criteria and filters do the rest.
    # status as a literal, not a bind parameter: the partial indexes over open listings must match
    # in generic (prepared) plans too.
    query = select(*COLUMNS).where(OPEN, Listing.closes_at > now, criteria_ops.match_clause(rows))
    if filters.currency:
        query = query.where(Listing.currency == filters.currency)
    if filters.worst_grade:
        query = query.where(Listing.grade <= filters.worst_grade)
    if filters.purpose:
        query = query.where(Listing.purpose == filters.purpose)
    if filters.term_months:
        query = query.where(Listing.term_months == filters.term_months)
    if filters.min_amount_minor is not None:
        query = query.where(Listing.amount_minor >= filters.min_amount_minor)
    if filters.max_amount_minor is not None:
        query = query.where(Listing.amount_minor <= filters.max_amount_minor)
    return query


def page(session: Session, provider_id: uuid.UUID, filters: Filters, now: datetime, *, after: str | None = None,
         rows: list[LendingCriteria] | None = None, limit: int = PAGE) -> tuple[list[Row], str | None]:
    sort = filters.sort if filters.sort in SORTS else "newest"
    columns, descending = SORTS[sort]
    criteria_rows = criteria_ops.active_for(session, provider_id) if rows is None else rows
    query = _base(provider_id, criteria_rows, filters, now)
    keys = [getattr(Listing, name) for name in columns]
    if after:
        values = _decode(after, sort)
        query = query.where(tuple_(*keys) < tuple_(*values) if descending else tuple_(*keys) > tuple_(*values))
    query = query.order_by(*[k.desc() if descending else k.asc() for k in keys]).limit(limit + 1)
    mine = (select(Bid.status).where(Bid.listing_id == Listing.id, Bid.provider_id == provider_id)
            .scalar_subquery())
    result = session.execute(query.add_columns(mine.label("my_bid_status"))).all()
    more = len(result) > limit
    result = result[:limit]
    out = [Row(id=r.id, currency=r.currency, amount_minor=r.amount_minor, term_months=r.term_months,
               purpose=r.purpose, grade=r.grade, pd=r.pd, debt_to_income=r.debt_to_income,
               income_band=r.income_band, country=r.country, opened_at=r.opened_at, closes_at=r.closes_at,
               bid_count=r.bid_count, my_bid_status=r.my_bid_status.value if r.my_bid_status else None)
           for r in result]
    cursor = _encode([getattr(out[-1], name) for name in columns]) if more and out else None
    return out, cursor


def new_since(session: Session, provider_id: uuid.UUID, since: datetime, now: datetime,
              rows: list[LendingCriteria] | None = None) -> int:
    """Matching listings opened after ``since``, counted up to NEW_CAP."""
    criteria_rows = criteria_ops.active_for(session, provider_id) if rows is None else rows
    inner = _base(provider_id, criteria_rows, Filters(), now).where(Listing.opened_at > since).limit(NEW_CAP)
    return session.scalar(select(func.count()).select_from(inner.subquery())) or 0


