"""The marketplace at a glance, for admins: how many listings are live, how quickly and how often
providers bid, how often a borrower takes an offer, and what the offers cost.

Pure SQL aggregates over ``market_listings`` and ``bids``. The caller chooses what is visible by the
scope it runs in: a client admin's tenant scope (row-level security limits every figure to that
tenant), or a platform admin's audited all-tenants read (``platform_access(client_id=None)``).
``client_id`` narrows an all-tenants read to one client without leaving read-only mode.

Periods are "since" only: listings opened, listings decided and bids made at or after ``since``.
Every figure shown is a Decimal (or an int); PostgreSQL's ``percentile_cont`` works in double
precision, so its results are cast back to numeric and rounded to the column's 6 places.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import Numeric, cast, func, select
from sqlalchemy.orm import Session

from caas.market.models import Bid, BidStatus, Listing, ListingStatus

BUCKET_WIDTH = Decimal(5)  # APR percentage points per histogram bar
LIVE = (ListingStatus.open, ListingStatus.awaiting)
APR_PLACES = Decimal("0.000001")  # bids.apr is Numeric(9, 6)
RATIO_PLACES = Decimal("0.0001")
AVERAGE_PLACES = Decimal("0.01")
MINUTE_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class AprSpread:
    """Offered APRs in percent: the extremes are stored values, the quartiles interpolated."""
    minimum: Decimal
    p25: Decimal
    median: Decimal
    p75: Decimal
    maximum: Decimal


@dataclass(frozen=True)
class AprBucket:
    low: Decimal   # inclusive, percent
    high: Decimal  # exclusive, percent
    bids: int


@dataclass(frozen=True)
class Overview:
    since: datetime
    open_listings: int                          # open or awaiting now, whenever opened
    listings_opened: int                        # opened since ``since``
    bids_on_opened: int                         # their bids, withdrawn ones left out
    bids_per_application: Decimal | None        # bids_on_opened / listings_opened
    median_minutes_to_first_bid: Decimal | None  # over listings opened since ``since`` that got a bid
    accepted: int                               # listings decided since ``since``…
    expired: int                                # …by acceptance or by running out of time
    acceptance_rate: Decimal | None             # accepted / (accepted + expired), a fraction
    bids_made: int                              # since ``since``, withdrawn ones left out
    apr: AprSpread | None
    histogram: tuple[AprBucket, ...]            # contiguous buckets from the lowest APR to the highest


def _ratio(numerator: int, denominator: int, places: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, ROUND_HALF_EVEN)


def minutes(duration: timedelta) -> Decimal:
    """A duration in minutes, exactly to the microsecond before rounding to 0.01."""
    micro = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
    return (Decimal(micro) / Decimal(60_000_000)).quantize(MINUTE_PLACES, ROUND_HALF_EVEN)


def fill_buckets(counts: dict[int, int], width: Decimal = BUCKET_WIDTH) -> tuple[AprBucket, ...]:
    """Bucket index → bids, as bars from the lowest index to the highest with the empty ones in
    between, so a chart's x axis is evenly spaced."""
    if not counts:
        return ()
    return tuple(AprBucket(low=i * width, high=(i + 1) * width, bids=counts.get(i, 0))
                 for i in range(min(counts), max(counts) + 1))


def _percentile(fraction: float, column):
    # percentile_cont takes double precision or interval; numeric goes in as float8 and comes back
    # rounded to the stored scale, which is exact for the extremes and within 1e-6 in between.
    return func.round(cast(func.percentile_cont(fraction).within_group(column), Numeric), 6)


def compute(session: Session, since: datetime, *, client_id: uuid.UUID | None = None,
            bucket_width: Decimal = BUCKET_WIDTH) -> Overview:
    """The figures visible in the session's current scope since ``since`` (read only)."""
    in_listings = [Listing.client_id == client_id] if client_id else []
    in_bids = [Bid.client_id == client_id] if client_id else []
    offered = Bid.status != BidStatus.withdrawn

    open_now = session.scalar(select(func.count()).select_from(Listing)
                              .where(Listing.status.in_(LIVE), *in_listings)) or 0

    # One row per listing here: joining bids would weigh the median by each listing's bid count.
    opened, median_wait = session.execute(
        select(func.count(),
               func.percentile_cont(0.5).within_group(Listing.first_bid_at - Listing.opened_at)
               .filter(Listing.first_bid_at.is_not(None)))
        .where(Listing.opened_at >= since, *in_listings)
    ).one()
    bids_on_opened = session.scalar(
        select(func.count()).select_from(Bid).join(Listing, Listing.id == Bid.listing_id)
        .where(Listing.opened_at >= since, offered, *in_listings)) or 0

    accepted, expired = session.execute(
        select(func.count().filter(Listing.status == ListingStatus.accepted),
               func.count().filter(Listing.status == ListingStatus.expired))
        .where(Listing.decided_at >= since, *in_listings)
    ).one()

    made, low, p25, median, p75, high = session.execute(
        select(func.count(), func.min(Bid.apr), _percentile(0.25, Bid.apr), _percentile(0.5, Bid.apr),
               _percentile(0.75, Bid.apr), func.max(Bid.apr))
        .where(Bid.created_at >= since, offered, *in_bids)
    ).one()
    spread = AprSpread(low, p25, median, p75, high) if made else None

    per_bid = select(func.floor(Bid.apr / bucket_width).label("bucket")) \
        .where(Bid.created_at >= since, offered, *in_bids).subquery()
    counts = {int(bucket): n for bucket, n in session.execute(
        select(per_bid.c.bucket, func.count()).group_by(per_bid.c.bucket))}

    return Overview(
        since=since, open_listings=open_now, listings_opened=opened, bids_on_opened=bids_on_opened,
        bids_per_application=_ratio(bids_on_opened, opened, AVERAGE_PLACES),
        median_minutes_to_first_bid=minutes(median_wait) if median_wait is not None else None,
        accepted=accepted, expired=expired, acceptance_rate=_ratio(accepted, accepted + expired, RATIO_PLACES),
        bids_made=made, apr=spread, histogram=fill_buckets(counts, bucket_width))
