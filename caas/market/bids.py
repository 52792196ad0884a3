"""Bids: a provider's offer on a listing, priced by the loan maths before it is saved.

A provider acts in its own scope (``app.provider_id``): it can see the listings of its network and
its own bids. To write, it takes the listing's tenant for this one transaction and locks the
listing, so bids, withdrawals and the borrower's acceptance never interleave.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core import tenant
from caas.core.errors import DomainError, NotFound
from caas.credit.models import Application
from caas.credit.notifications import notify
from caas.credit.quotes import indicative
from caas.events import outbox
from caas.ledger import operations as ledger
from caas.market import criteria as criteria_ops
from caas.market import listings
from caas.market.models import Bid, BidStatus, Listing, ListingStatus
from caas.money import describe, format_minor

MAX_RATE_PERCENT = Decimal(100)


@dataclass(frozen=True)
class BidInput:
    annual_rate_percent: Decimal
    term_months: int
    valid_until: datetime
    fee_minor: int | None = None        # an amount, or …
    fee_percent: Decimal | None = None  # … a percentage of the amount


@dataclass(frozen=True)
class Figures:
    fee_minor: int
    instalment_minor: int
    total_repayable_minor: int
    total_cost_minor: int
    apr: Decimal


def _refuse(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(code, message, field)


def fee_of(listing: Listing, values: BidInput) -> int:
    if values.fee_percent is not None:
        return int((Decimal(listing.amount_minor) * values.fee_percent / 100).to_integral_value(ROUND_HALF_EVEN))
    return values.fee_minor or 0


def check_terms(listing: Listing, values: BidInput, now: datetime) -> dict[str, str]:
    """Field → message for what the loan maths cannot price or the policy does not allow."""
    errors: dict[str, str] = {}
    if not Decimal(0) < values.annual_rate_percent <= MAX_RATE_PERCENT:
        errors["annual_rate"] = "Offer a yearly rate above 0% and at most 100%."
    if values.term_months not in listing.allowed_terms:
        allowed = ", ".join(str(t) for t in listing.allowed_terms)
        errors["term_months"] = f"Choose a term the borrower asked for or shorter, in the client's policy: {allowed}."
    if values.fee_percent is not None and not Decimal(0) <= values.fee_percent < 50:
        errors["fee"] = "A percentage fee is from 0% to under 50% of the amount."
    elif values.fee_percent is None and values.fee_minor is not None and \
            not 0 <= values.fee_minor < listing.amount_minor // 2:
        errors["fee"] = "A fee is from 0 to under half the amount."
    if values.valid_until <= now:
        errors["valid_until"] = "The offer must be valid until a time in the future."
    return errors


def price(listing: Listing, values: BidInput, now: datetime) -> Figures:
    """What the borrower would pay, from the loan maths. Raises with field errors when it cannot."""
    errors = check_terms(listing, values, now)
    if errors:
        first = next(iter(errors))
        error = _refuse("invalid_bid", errors[first], first)
        error.fields = errors  # type: ignore[attr-defined]
        raise error
    fee = fee_of(listing, values)
    rate = (values.annual_rate_percent / 100).quantize(Decimal("0.000001"))
    quote = indicative(listing.amount_minor, listing.currency, values.term_months, rate, now.date(), fee_minor=fee)
    return Figures(fee_minor=fee, instalment_minor=quote.instalment_minor,
                   total_repayable_minor=quote.total_repayable_minor,
                   total_cost_minor=quote.total_repayable_minor - listing.amount_minor + fee,
                   apr=quote.apr_percent.quantize(Decimal("0.000001")))


def visible_listing(session: Session, provider_id: uuid.UUID, listing_id: uuid.UUID) -> Listing:
    """A listing the provider may see: in its network (RLS) and matching one of its active criteria."""
    listing = tenant.get_visible(session, Listing, listing_id)
    if listing is None or not criteria_ops.matches(criteria_ops.active_for(session, provider_id), listing):
        # a listing the provider has bid on stays visible to it after its criteria change
        if listing is None or own_bid(session, provider_id, listing.id) is None:
            raise NotFound("listing")
    return listing


def own_bid(session: Session, provider_id: uuid.UUID, listing_id: uuid.UUID) -> Bid | None:
    return session.scalar(select(Bid).where(Bid.listing_id == listing_id, Bid.provider_id == provider_id)
                          .execution_options(populate_existing=True))


def place(session: Session, actor: Actor, provider_id: uuid.UUID, listing_id: uuid.UUID, values: BidInput,
          now: datetime) -> Bid:
    """Make or change the provider's one bid on a listing. Refused once bidding is closed, when the
    terms break the policy, or when the provider's available funds are below the amount."""
    listing = visible_listing(session, provider_id, listing_id)
    with tenant.tenant_scope(listing.client_id, session):
        listing = listings.lock(session, listing.id)
        if listing.status != ListingStatus.open or listing.closes_at <= now:
            raise _refuse("bidding_closed", "Bidding on this application has closed.")
        figures = price(listing, values, now)
        funds = ledger.provider_funds(session, provider_id, listing.currency)
        if funds.available_minor < listing.amount_minor:
            raise _refuse("insufficient_funds",
                          f"Your available funds are {describe(funds.available_minor, listing.currency)}, below the "
                          f"{describe(listing.amount_minor, listing.currency)} this borrower needs. "
                          "Fund your account first.")
        bid = session.scalar(select(Bid).where(Bid.listing_id == listing.id, Bid.provider_id == provider_id)
                             .with_for_update(of=Bid).execution_options(populate_existing=True))
        is_new = bid is None or bid.status == BidStatus.withdrawn
        if bid is not None and bid.status not in (BidStatus.open, BidStatus.withdrawn):
            raise _refuse("bid_closed", f"Your bid is {bid.status.value} and cannot change.")
        before = serialise_for_provider(bid) if bid is not None else None
        if bid is None:
            bid = Bid(id=uuid.uuid4(), client_id=listing.client_id, listing_id=listing.id,
                      application_id=listing.application_id, provider_id=provider_id,
                      currency=listing.currency, amount_minor=listing.amount_minor)
            session.add(bid)
        if is_new:
            listing.bid_count += 1
            listing.first_bid_at = listing.first_bid_at or now
        bid.status = BidStatus.open
        bid.annual_rate = (values.annual_rate_percent / 100).quantize(Decimal("0.000001"))
        bid.fee_minor = figures.fee_minor
        bid.fee_percent = values.fee_percent
        bid.term_months = values.term_months
        bid.valid_until = values.valid_until
        bid.instalment_minor = figures.instalment_minor
        bid.total_repayable_minor = figures.total_repayable_minor
        bid.total_cost_minor = figures.total_cost_minor
        bid.apr = figures.apr
        bid.decided_at = None
        session.flush()
        session.refresh(bid, ["provider"])
        record(session, actor, "bid.place" if is_new else "bid.update", client_id=listing.client_id,
               target_type="bid", target_id=bid.id, before=before, after=serialise_for_provider(bid))
        if is_new:
            application = session.get(Application, listing.application_id)
            outbox.record_event(session, listing.client_id, "credit.offer.received", serialise_offer(bid))
            notify(session, listing.client_id, application.borrower_id,
                   f"You have a new offer from {bid.provider.legal_name}.", link=f"/applications/{application.id}")
        return bid


def withdraw(session: Session, actor: Actor, provider_id: uuid.UUID, bid_id: uuid.UUID, now: datetime) -> Bid:
    bid = tenant.get_visible(session, Bid, bid_id)
    if bid is None or bid.provider_id != provider_id:
        raise NotFound("bid")
    with tenant.tenant_scope(bid.client_id, session):
        listing = listings.lock(session, bid.listing_id)
        bid = session.scalar(select(Bid).where(Bid.id == bid_id).with_for_update(of=Bid)
                             .execution_options(populate_existing=True))
        if listing.status not in listings.LIVE:
            raise _refuse("bid_closed", "This application is no longer open: the bid cannot be withdrawn.")
        if bid.status != BidStatus.open:
            raise _refuse("bid_closed", f"Your bid is {bid.status.value}; only an open bid can be withdrawn.")
        bid.status = BidStatus.withdrawn
        bid.decided_at = now
        listing.bid_count = max(0, listing.bid_count - 1)
        record(session, actor, "bid.withdraw", client_id=bid.client_id, target_type="bid", target_id=bid.id)
        return bid


# --- Reading ------------------------------------------------------------------------------------------

DISPLAY = ("open", "won", "lost", "expired", "withdrawn")


def display_status(bid: Bid, now: datetime) -> str:
    if bid.status == BidStatus.open:
        return "expired" if bid.valid_until <= now else "open"
    return {BidStatus.accepted: "won", BidStatus.rejected: "lost"}.get(bid.status, bid.status.value)


def _display_filter(status: str, now: datetime):
    return {
        "open": (Bid.status == BidStatus.open) & (Bid.valid_until > now),
        "won": Bid.status == BidStatus.accepted,
        "lost": Bid.status == BidStatus.rejected,
        "expired": (Bid.status == BidStatus.expired) | ((Bid.status == BidStatus.open) & (Bid.valid_until <= now)),
        "withdrawn": Bid.status == BidStatus.withdrawn,
    }[status]


def my_bids(session: Session, provider_id: uuid.UUID, status: str | None, now: datetime,
            limit: int = 100) -> list[tuple[Bid, Listing]]:
    query = (select(Bid, Listing).join(Listing, Listing.id == Bid.listing_id).where(Bid.provider_id == provider_id)
             .order_by(Bid.created_at.desc()).limit(limit))
    if status in DISPLAY:
        query = query.where(_display_filter(status, now))
    return list(session.execute(query).tuples())


@dataclass(frozen=True)
class BidStats:
    counts: dict[str, int]
    win_rate: Decimal | None  # won / decided (won + lost + expired), percent, one place


def stats(session: Session, provider_id: uuid.UUID, now: datetime) -> BidStats:
    label = case(*[(_display_filter(s, now), s) for s in DISPLAY], else_="other")
    rows = session.execute(select(label, func.count()).where(Bid.provider_id == provider_id).group_by(label)).all()
    counts = {s: 0 for s in DISPLAY} | {s: n for s, n in rows}
    decided = counts["won"] + counts["lost"] + counts["expired"]
    rate = (Decimal(100 * counts["won"]) / decided).quantize(Decimal("0.1"), ROUND_HALF_EVEN) if decided else None
    return BidStats(counts, rate)


def serialise_for_provider(bid: Bid | None) -> dict | None:
    if bid is None:
        return None
    return {"status": bid.status.value, "annual_rate": str(bid.annual_rate), "fee_minor": bid.fee_minor,
            "term_months": bid.term_months, "valid_until": bid.valid_until.isoformat(), "apr": str(bid.apr)}


def serialise_offer(bid: Bid, *, best: bool = False, now: datetime | None = None) -> dict:
    """An offer as the client API and webhooks show it to the client."""
    money = lambda minor: format_minor(minor, bid.currency)  # noqa: E731
    status = bid.status.value
    if now is not None and bid.status == BidStatus.open and bid.valid_until <= now:
        status = "expired"
    return {
        "id": str(bid.id), "object": "offer", "application_id": str(bid.application_id), "status": status,
        "provider": {"id": str(bid.provider_id), "display_name": bid.provider.legal_name},
        "currency": bid.currency, "amount": money(bid.amount_minor), "term_months": bid.term_months,
        "annual_rate": f"{bid.annual_rate * 100:.4f}", "apr": f"{bid.apr:.2f}",
        "origination_fee": money(bid.fee_minor), "monthly_payment": money(bid.instalment_minor),
        "total_repayable": money(bid.total_repayable_minor), "total_cost_of_credit": money(bid.total_cost_minor),
        "valid_until": bid.valid_until.isoformat(), "best": best,
    }
