"""The life of a listing: an approved application opens for offers, bidding closes on schedule,
the borrower's time to accept runs out, or the borrower withdraws.

Every change takes the listing row FOR UPDATE first: bids, withdrawals, acceptance and the
deadline jobs all serialise on it, so a bid that arrives after acceptance sees the new status.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.core import tenant
from caas.core.errors import NotFound
from caas.credit import applications, profiles
from caas.credit.models import Application, ApplicationStatus as S, CreditDecision
from caas.credit.notifications import notify
from caas.events import outbox
from caas.market.models import Bid, BidStatus, Listing, ListingStatus, ProviderNotification
from caas.money import describe, from_minor

# Monthly net income bands in major units of the applicant's currency: a provider sees the band,
# never the figure.
INCOME_BANDS = (0, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
                2_500_000, 10_000_000)
LIVE = (ListingStatus.open, ListingStatus.awaiting)


def income_band(monthly_income_minor: int, currency: str) -> str:
    income = from_minor(monthly_income_minor, currency)
    lower = max(b for b in INCOME_BANDS if b <= income) if income >= 0 else 0
    uppers = [b for b in INCOME_BANDS if b > income]
    if not uppers:
        return f"over {lower:,} {currency}"
    return f"{lower:,}–{uppers[0]:,} {currency}"


def debt_to_income(income_minor: int, existing_debt_minor: int, instalment_minor: int) -> Decimal:
    """(existing debt payments + the new instalment) / income, four places, half-even; 9.9999 when
    there is no income to divide by."""
    if income_minor <= 0:
        return Decimal("9.9999")
    ratio = Decimal(existing_debt_minor + instalment_minor) / Decimal(income_minor)
    return min(ratio, Decimal("9.9999")).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def lock(session: Session, listing_id: uuid.UUID) -> Listing:
    """The listing, locked for this transaction, re-read from the database (tenant in scope)."""
    listing = session.scalar(select(Listing).where(Listing.id == listing_id).with_for_update()
                             .execution_options(populate_existing=True))
    if listing is None:
        raise NotFound("listing")
    return listing


def lock_for_application(session: Session, application_id: uuid.UUID) -> Listing | None:
    return session.scalar(select(Listing).where(Listing.application_id == application_id).with_for_update()
                          .execution_options(populate_existing=True))


def lock_application(session: Session, application_id: uuid.UUID) -> Application:
    return session.scalar(select(Application).where(Application.id == application_id)
                          .with_for_update(of=Application).execution_options(populate_existing=True))


def for_application(session: Session, application_id: uuid.UUID) -> Listing | None:
    return session.scalar(select(Listing).where(Listing.application_id == application_id))


def open_for_offers(session: Session, application: Application, decision: CreditDecision | None,
                    now: datetime) -> Listing:
    """Approved → open for offers: the anonymised listing, and the job that closes bidding on time."""
    policy = applications.policy_for(session, application.client_id)
    profile = profiles.get(session, application.borrower_id)
    listing = Listing(
        id=uuid.uuid4(), client_id=application.client_id, application_id=application.id, status=ListingStatus.open,
        currency=application.currency, amount_minor=application.amount_minor, term_months=application.term_months,
        purpose=application.purpose[:60], grade=(decision.grade if decision else None) or "E",
        pd=(decision.pd if decision else None) or Decimal(1),
        debt_to_income=debt_to_income(profile.monthly_net_income_minor, profile.existing_debt_payments_minor,
                                      application.indicative_instalment_minor or 0),
        income_band=income_band(profile.monthly_net_income_minor, profile.currency), country=profile.country,
        allowed_terms=sorted(t for t in policy.allowed_terms if t <= application.term_months),
        opened_at=now, closes_at=now + timedelta(hours=policy.bidding_window_hours), bid_count=0)
    session.add(listing)
    applications.transition(session, application, S.open_for_offers,
                            f"open for offers until {listing.closes_at:%d %b %Y %H:%M} UTC")
    outbox.enqueue_job(session, "caas.market.jobs.close_bidding", args=[str(listing.id)],
                       job_id=f"market-close-{listing.id}", client_id=application.client_id,
                       run_at=listing.closes_at, timeout=60)
    return listing


def notify_provider(session: Session, bid: Bid, text: str) -> None:
    session.add(ProviderNotification(id=uuid.uuid4(), provider_id=bid.provider_id, text=text[:400],
                                     link=f"/provider/bids?status={bid.status.value}"))


def close_open_bids(session: Session, listing: Listing, status: BidStatus, now: datetime, why: str,
                    *, keep: uuid.UUID | None = None) -> list[Bid]:
    """Every open bid on ``listing`` (but ``keep``) becomes ``status``; each provider is told."""
    bids = list(session.scalars(select(Bid).where(Bid.listing_id == listing.id, Bid.status == BidStatus.open)
                                .with_for_update(of=Bid).execution_options(populate_existing=True)))
    closed = []
    for bid in bids:
        if bid.id == keep:
            continue
        bid.status = status
        bid.decided_at = now
        notify_provider(session, bid, f"Your offer on listing {str(listing.id)[:8]} "
                                       f"({describe(listing.amount_minor, listing.currency)}) "
                                       f"{'lost' if status == BidStatus.rejected else 'expired'}: {why}.")
        closed.append(bid)
    return closed


def _expire(session: Session, listing: Listing, now: datetime, why: str) -> None:
    listing.status = ListingStatus.expired
    listing.decided_at = now
    close_open_bids(session, listing, BidStatus.expired, now, why)
    application = lock_application(session, listing.application_id)
    applications.transition(session, application, S.expired, why)
    notify(session, application.client_id, application.borrower_id,
           f"Your application expired: {why}. You can apply again at any time.",
           link=f"/applications/{application.id}")


def usable_bids(session: Session, listing_id: uuid.UUID, now: datetime) -> int:
    return len(session.scalars(select(Bid.id).where(Bid.listing_id == listing_id, Bid.status == BidStatus.open,
                                                    Bid.valid_until > now)).all())


def close_bidding(session: Session, listing_id: uuid.UUID, now: datetime) -> str:
    """At the end of the bidding window: no offer → the application expires; offers → the borrower
    has the policy's acceptance window. Idempotent: a listing already past this step, or whose
    time has not come, is left alone. Returns the listing's status."""
    listing = lock(session, listing_id)
    if listing.status != ListingStatus.open or listing.closes_at > now:
        return listing.status.value
    if usable_bids(session, listing.id, now) == 0:
        _expire(session, listing, now, "no lender made an offer before the deadline")
        return listing.status.value
    policy = applications.policy_for(session, listing.client_id)
    listing.status = ListingStatus.awaiting
    listing.accept_until = listing.closes_at + timedelta(hours=policy.acceptance_window_hours)
    application = session.get(Application, listing.application_id)
    notify(session, listing.client_id, application.borrower_id,
           f"Bidding has closed. Compare your offers and accept one by {listing.accept_until:%d %b %Y %H:%M} UTC.",
           link=f"/applications/{application.id}")
    outbox.enqueue_job(session, "caas.market.jobs.end_acceptance", args=[str(listing.id)],
                       job_id=f"market-accept-end-{listing.id}", client_id=listing.client_id,
                       run_at=listing.accept_until, timeout=60)
    return listing.status.value


def end_acceptance(session: Session, listing_id: uuid.UUID, now: datetime) -> str:
    """The borrower's time to accept is over: the application expires, open bids expire."""
    listing = lock(session, listing_id)
    if listing.status != ListingStatus.awaiting or listing.accept_until is None or listing.accept_until > now:
        return listing.status.value
    _expire(session, listing, now, "no offer was accepted before the deadline")
    return listing.status.value


def on_application_withdrawn(session: Session, application: Application, now: datetime) -> None:
    """The borrower withdrew while offers were open: the listing closes and open bids expire."""
    listing = lock_for_application(session, application.id)
    if listing is None or listing.status not in LIVE:
        return
    listing.status = ListingStatus.withdrawn
    listing.decided_at = now
    close_open_bids(session, listing, BidStatus.expired, now, "the borrower withdrew the application")


def due(session: Session, now: datetime, limit: int = 500) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """(client_id, listing_id, step) of listings past a deadline: the safety net behind the
    scheduled jobs (a job lost with Redis, a clock that jumped). Reads across tenants."""
    with tenant.all_tenants_scope(session):
        closing = session.execute(select(Listing.client_id, Listing.id).where(
            Listing.status == ListingStatus.open, Listing.closes_at <= now).limit(limit)).all()
        ending = session.execute(select(Listing.client_id, Listing.id).where(
            Listing.status == ListingStatus.awaiting, Listing.accept_until <= now).limit(limit)).all()
    return [(c, i, "close") for c, i in closing] + [(c, i, "end") for c, i in ending]
