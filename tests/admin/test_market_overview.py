"""The admin marketplace overview: the figures over a known world built through the real bid,
withdrawal, acceptance and deadline operations, then the page and its CSV for each role."""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from blueprints.admin import market as market_view
from caas.core import tenant
from caas.market import acceptance, bids, listings, overview
from caas.market.models import Bid
from tests import factories
from tests.helpers import get, login
from tests.market.world import NOW, bid_input, lender, open_application

SYSTEM = factories.SYSTEM
SINCE = NOW - timedelta(days=30)
T0 = NOW - timedelta(days=10)  # when this world's listings open: inside the period, and in the past
VALID = T0 + timedelta(days=5)


def place(db, provider, opened, rate, at):
    with tenant.provider_scope(provider.id, db):
        return bids.place(db, SYSTEM, provider.id, opened.listing_id, bid_input(rate=rate, valid_until=VALID), at)


def accept(db, client, opened, bid, at):
    with tenant.tenant_scope(client.id, db):
        acceptance.accept(db, SYSTEM, application_id=opened.application_id, bid_id=bid.id, typed_name="Adaeze Okoro",
                          consent=True, agreement_sha256=None, channel="portal", ip_address="203.0.113.9", now=at,
                          borrower_id=opened.borrower_id)


@pytest.fixture
def world(db):
    """Client A, over the period:
    - one listing accepted: bids after 10 and 40 minutes, a third withdrawn (left out everywhere);
    - one expired: a bid after 30 minutes, then bidding closed and the borrower never accepted;
    - one still open with a bid after 70 minutes, one still open without bids;
    - and, opened 60 days ago (before the period), one still open whose only bid is that old too.
    Client B: one listing, a bid after 1 minute, accepted. A client admin of A must never see it."""
    a, b = factories.client(db), factories.client(db)
    p1, p2, p3 = lender(db, a), lender(db, a), lender(db, a)
    accepted, expired, waiting, unbid = (open_application(db, a, now=T0) for _ in range(4))
    made = [place(db, p1, accepted, "30", T0 + timedelta(minutes=10)),
            place(db, p2, accepted, "25", T0 + timedelta(minutes=40))]
    withdrawn = place(db, p3, accepted, "40", T0 + timedelta(minutes=50))
    with tenant.provider_scope(p3.id, db):
        bids.withdraw(db, SYSTEM, p3.id, withdrawn.id, T0 + timedelta(minutes=55))
    accept(db, a, accepted, made[1], T0 + timedelta(hours=2))
    made.append(place(db, p1, expired, "20", T0 + timedelta(minutes=30)))
    with tenant.tenant_scope(a.id, db):
        closes = T0 + timedelta(hours=72)
        assert listings.close_bidding(db, expired.listing_id, closes) == "awaiting"
        assert listings.end_acceptance(db, expired.listing_id, closes + timedelta(hours=48)) == "expired"
    made.append(place(db, p2, waiting, "35", T0 + timedelta(minutes=70)))

    old_time = NOW - timedelta(days=60)
    old = open_application(db, a, now=old_time)
    with tenant.provider_scope(p3.id, db):
        stale = bids.place(db, SYSTEM, p3.id, old.listing_id,
                           bid_input(rate="80", valid_until=old_time + timedelta(days=1)), old_time)
    with tenant.tenant_scope(a.id, db):
        # created_at is stamped with the wall clock; this bid belongs to the old listing's time
        db.get(Bid, stale.id).created_at = old_time + timedelta(minutes=5)
        db.flush()

    q = lender(db, b)
    b_opened = open_application(db, b, now=T0)
    b_bid = place(db, q, b_opened, "10", T0 + timedelta(minutes=1))
    accept(db, b, b_opened, b_bid, T0 + timedelta(minutes=5))
    db.commit()
    tenant.reset()
    return {"a": a, "b": b, "a_bids": [bid.apr for bid in made], "b_bids": [b_bid.apr], "p1": p1}


def exact_percentile(values: list[Decimal], fraction: Decimal) -> Decimal:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def expected_histogram(aprs: list[Decimal]) -> dict[Decimal, int]:
    counts = Counter(int(apr // 5) for apr in aprs)
    return {Decimal(i * 5): counts.get(i, 0) for i in range(min(counts), max(counts) + 1)}


# --- The figures -------------------------------------------------------------------------------------

def test_a_tenants_figures_over_the_period(db, world):
    with tenant.tenant_scope(world["a"].id, db):
        figures = overview.compute(db, SINCE)
    aprs = world["a_bids"]
    assert figures.open_listings == 3            # waiting, unbid and the old one, still open
    assert figures.listings_opened == 4          # the old listing is outside the period
    assert figures.bids_on_opened == 4           # the withdrawn bid is left out
    assert figures.bids_per_application == Decimal("1.00")
    assert figures.median_minutes_to_first_bid == Decimal("30.00")  # 10, 30 and 70 minutes
    assert (figures.accepted, figures.expired) == (1, 1)
    assert figures.acceptance_rate == Decimal("0.5000")
    assert figures.bids_made == 4                # not the withdrawn one, not the 60-day-old one
    assert figures.apr.minimum == min(aprs) and figures.apr.maximum == max(aprs)
    for fraction, value in ((Decimal("0.25"), figures.apr.p25), (Decimal("0.5"), figures.apr.median),
                            (Decimal("0.75"), figures.apr.p75)):
        assert isinstance(value, Decimal)
        assert abs(value - exact_percentile(aprs, fraction)) <= Decimal("0.000001")
    assert {bucket.low: bucket.bids for bucket in figures.histogram} == expected_histogram(aprs)
    assert all(bucket.high - bucket.low == 5 for bucket in figures.histogram)
    assert sum(bucket.bids for bucket in figures.histogram) == 4


def test_all_tenants_and_one_client_in_the_platform_read(db, world):
    with tenant.all_tenants_scope(db):
        everyone = overview.compute(db, SINCE)
        only_b = overview.compute(db, SINCE, client_id=world["b"].id)
    aprs = world["a_bids"] + world["b_bids"]
    assert (everyone.open_listings, everyone.listings_opened, everyone.bids_on_opened) == (3, 5, 5)
    assert everyone.median_minutes_to_first_bid == Decimal("20.00")  # 1, 10, 30, 70: between 10 and 30
    assert (everyone.accepted, everyone.expired, everyone.acceptance_rate) == (2, 1, Decimal("0.6667"))
    assert everyone.apr.minimum == min(aprs) == world["b_bids"][0] and everyone.apr.maximum == max(aprs)
    assert {bucket.low: bucket.bids for bucket in everyone.histogram} == expected_histogram(aprs)
    assert (only_b.open_listings, only_b.listings_opened, only_b.bids_made) == (0, 1, 1)
    assert only_b.median_minutes_to_first_bid == Decimal("1.00") and only_b.acceptance_rate == Decimal("1.0000")


def test_an_empty_period_has_no_rates_rather_than_zeros(db, world):
    with tenant.tenant_scope(world["a"].id, db):
        figures = overview.compute(db, NOW + timedelta(days=30))
    assert figures.open_listings == 3  # "now" does not depend on the period
    assert figures.listings_opened == 0 and figures.bids_per_application is None
    assert figures.median_minutes_to_first_bid is None and figures.acceptance_rate is None
    assert figures.apr is None and figures.histogram == ()


def test_without_a_tenant_nothing_is_visible(db, world):
    figures = overview.compute(db, SINCE)
    assert (figures.open_listings, figures.listings_opened, figures.bids_made) == (0, 0, 0)


def test_buckets_are_contiguous_and_durations_exact():
    filled = overview.fill_buckets({2: 1, 5: 3})
    assert [(b.low, b.high, b.bids) for b in filled] == [(Decimal(10), Decimal(15), 1), (Decimal(15), Decimal(20), 0),
                                                        (Decimal(20), Decimal(25), 0), (Decimal(25), Decimal(30), 3)]
    assert overview.fill_buckets({}) == ()
    assert overview.minutes(timedelta(days=1, minutes=1, seconds=30)) == Decimal("1441.50")
    bars = market_view.chart(filled)
    assert [bar.height for bar in bars.bars][1:3] == [0, 0] and bars.bars[3].y == 24  # the tallest fills the plot


# --- The page ----------------------------------------------------------------------------------------

@pytest.fixture
def at_now(monkeypatch):
    monkeypatch.setattr(market_view, "_now", lambda: NOW)


def figure(page: str, key: str) -> str:
    match = re.search(rf'data-testid="{key}">([^<]*)<', page)
    assert match, f"no {key} on the page"
    return match.group(1).strip()


def test_a_platform_admin_sees_every_client_and_the_read_is_audited(client, db, world, at_now):
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    response = get(client, "/admin/market?days=30")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert figure(page, "market-scope").startswith("All clients")
    assert figure(page, "open-listings") == "3" and figure(page, "bids-per-application") == "1.00"
    assert figure(page, "acceptance-rate") == "66.7%" and figure(page, "median-first-bid") == "20.00 min"
    assert figure(page, "apr-min") == f"{min(world['b_bids']).quantize(Decimal('0.01'))}%"
    assert '<svg class="w-100 h-auto text-primary"' in page and 'role="img"' in page
    assert 'data-testid="apr-table"' in page
    assert "style=" not in page and "<script>" not in page  # nothing a strict CSP would block
    one = get(client, f"/admin/market?days=90&client={world['a'].slug}").get_data(as_text=True)
    assert figure(one, "acceptance-rate") == "50.0%" and figure(one, "open-listings") == "3"
    assert get(client, "/admin/market?client=no-such-client").status_code == 404
    assert get(client, "/admin/market?days=15").status_code == 400
    reasons = db.execute(text("SELECT after->>'reason' FROM audit_log WHERE action = 'platform.read_all_tenants' "
                              "AND actor_id = :id ORDER BY id"), {"id": admin.id}).scalars().all()
    assert reasons == ["market overview:all:30d", f"market overview:{world['a'].slug}:90d"]


def test_the_csv_has_the_figures_and_the_histogram(client, db, world, at_now):
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    page = get(client, f"/admin/market?days=7&client={world['b'].slug}").get_data(as_text=True)
    assert "format=csv" in page
    response = get(client, f"/admin/market?days=30&client={world['b'].slug}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="market-{world["b"].slug}-30d.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["figure", "apr_from", "apr_to", "value"]
    values = {row[0]: row[3] for row in rows[1:] if row[0] != "bids_in_apr_bucket"}
    assert values["acceptance_rate"] == "1.0000" and values["apr_min"] == str(world["b_bids"][0])
    assert values["median_minutes_to_first_bid"] == "1.00"
    buckets = [row[1:] for row in rows if row[0] == "bids_in_apr_bucket"]
    low = int(world["b_bids"][0] // 5) * 5
    assert buckets == [[str(low), str(low + 5), "1"]]


def test_a_client_admin_sees_only_their_own_tenant(client, db, world, at_now):
    admin = factories.client_admin(db, world["a"])
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    # asking for another client changes nothing: the page is the admin's own tenant
    page = get(client, f"/admin/market?days=30&client={world['b'].slug}").get_data(as_text=True)
    assert figure(page, "market-scope").startswith(world["a"].display_name)
    assert figure(page, "acceptance-rate") == "50.0%" and figure(page, "median-first-bid") == "30.00 min"
    assert figure(page, "apr-min") == f"{min(world['a_bids']).quantize(Decimal('0.01'))}%"
    assert figure(page, "bids-made") == "4"
    assert world["b"].display_name not in page and f"{world['b_bids'][0].quantize(Decimal('0.01'))}%" not in page
    exported = get(client, f"/admin/market?client={world['b'].slug}&format=csv").get_data(as_text=True)
    assert f"client,,,{world['a'].slug}" in exported and world["b"].slug not in exported
    assert db.execute(text("SELECT count(*) FROM audit_log WHERE action = 'platform.read_all_tenants'")).scalar() == 0


def test_borrowers_providers_and_strangers_are_turned_away(client, db, world):
    borrower = factories.borrower(db, world["a"])
    provider_user = factories.provider_user(db, world["p1"])
    db.commit()
    stranger = get(client, "/admin/market?format=csv")
    assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]
    login(client, borrower.email, factories.PASSWORD, path=f"/c/{world['a'].slug}/login")
    assert get(client, "/admin/market").status_code == 403
    lender_client = client.application.test_client()
    login(lender_client, provider_user.email, factories.PASSWORD)
    assert get(lender_client, "/admin/market").status_code == 403
    assert get(lender_client, "/admin/market?format=csv").status_code == 403
