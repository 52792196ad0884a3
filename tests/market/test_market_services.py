"""Marketplace services against real PostgreSQL with RLS: opening, visibility, bids, acceptance,
deadlines. Expected schedule figures come from Apache Fineract (../shared/reference/schedules.csv)."""
from __future__ import annotations

import csv
import hashlib
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from caas.core import tenant
from caas.core.errors import DomainError, NotFound
from caas.credit.models import Application, ApplicationStatus as S, Notification
from caas.events.models import OutboxMessage
from caas.ledger import operations as ledger
from caas.loans.models import Loan, LoanInstallment
from caas.market import acceptance, bids, board, listings
from caas.market.models import Bid, BidStatus, Listing, ListingStatus, ProviderNotification, Signature
from caas.tenancy import policy as policies
from tests import factories
from tests.market.world import NOW, bid_input, fund, lender, open_application

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
SYSTEM = factories.SYSTEM


def fineract(case_id: str) -> list[dict]:
    with open(REFERENCE / "schedules.csv", newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["case_id"] == case_id]


def minor(text_amount: str) -> int:
    return int((Decimal(text_amount) * 100).to_integral_value())


@pytest.fixture
def world(db):
    client = factories.client(db)
    first = lender(db, client)
    second = lender(db, client)
    db.flush()
    return client, first, second


def place(db, provider, listing_id, values, now=NOW):
    with tenant.provider_scope(provider.id, db):
        return bids.place(db, SYSTEM, provider.id, listing_id, values, now)


def events(db, client_id, event_type):
    with tenant.tenant_scope(client_id, db):
        return db.scalars(select(OutboxMessage).where(OutboxMessage.event_type == event_type)).all()


def accept(db, client, opened, bid_id, name="Adaeze Okoro", consent=True, now=NOW, **kw):
    with tenant.tenant_scope(client.id, db):
        return acceptance.accept(db, SYSTEM, application_id=opened.application_id, bid_id=bid_id, typed_name=name,
                                 consent=consent, agreement_sha256=kw.get("sha"), channel="portal",
                                 ip_address="203.0.113.9", now=now, borrower_id=opened.borrower_id)


# --- Opening and visibility -------------------------------------------------------------------------

def test_an_approved_application_opens_as_an_anonymised_listing_with_its_close_job_scheduled(db, world):
    client, first, _ = world
    opened = open_application(db, client, amount_minor=250_000_00, term=12, grade="B", pd="0.045")
    with tenant.tenant_scope(client.id, db):
        application = db.get(Application, opened.application_id)
        listing = db.get(Listing, opened.listing_id)
        assert application.status == S.open_for_offers
        assert [e.to_status for e in application.history][-2:] == ["approved", "open_for_offers"]
        assert (listing.currency, listing.amount_minor, listing.term_months, listing.grade) == ("NGN", 250_000_00, 12, "B")
        assert listing.pd == Decimal("0.045")
        assert listing.closes_at - listing.opened_at == timedelta(hours=72)  # the default policy's window
        assert listing.income_band == "250,000–500,000 NGN"  # 450,000 a month, shown as a band
        assert listing.allowed_terms == [3, 6, 9, 12]  # the policy's terms up to the requested 12
        # (20,000 existing + the indicative instalment at the client's reference rate) / 450,000
        expected_dti = (Decimal(20_000_00 + application.indicative_instalment_minor) / 450_000_00).quantize(Decimal("0.0001"))
        assert listing.debt_to_income == expected_dti
        job = db.scalar(select(OutboxMessage).where(OutboxMessage.func == "caas.market.jobs.close_bidding"))
        assert job.args == [str(listing.id)] and job.run_at == listing.closes_at
        assert job.job_id == f"market-close-{listing.id}"


def test_providers_see_only_matching_listings_of_their_network(db, world):
    client, first, second = world
    other_client = factories.client(db)
    outsider = lender(db, other_client)
    picky = lender(db, client, worst_grade="A")
    opened = open_application(db, client, grade="C")
    with tenant.provider_scope(first.id, db):
        rows, cursor = board.page(db, first.id, board.Filters(), NOW)
        assert [r.id for r in rows] == [opened.listing_id] and cursor is None
        assert not hasattr(rows[0], "application_id")  # the anonymised row carries no application id
    with tenant.provider_scope(outsider.id, db):  # not in the client's network: RLS hides it
        assert board.page(db, outsider.id, board.Filters(), NOW)[0] == []
        assert db.scalar(select(func.count()).select_from(Listing)) == 0
        with pytest.raises(NotFound):
            bids.visible_listing(db, outsider.id, opened.listing_id)
    with tenant.provider_scope(picky.id, db):  # in the network, but grade C is worse than its A
        assert board.page(db, picky.id, board.Filters(), NOW)[0] == []
        with pytest.raises(NotFound):
            bids.visible_listing(db, picky.id, opened.listing_id)
    tenant.reset()
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Listing)) == 0  # no tenant, no provider: nothing


def test_keyset_pages_and_new_since_count(db, world):
    client, first, _ = world
    made = [open_application(db, client, now=NOW + timedelta(minutes=i), amount_minor=(100_000 + i) * 100)
            for i in range(5)]
    with tenant.provider_scope(first.id, db):
        page1, cursor = board.page(db, first.id, board.Filters(), NOW + timedelta(hours=1), limit=2)
        page2, cursor2 = board.page(db, first.id, board.Filters(), NOW + timedelta(hours=1), after=cursor, limit=2)
        page3, cursor3 = board.page(db, first.id, board.Filters(), NOW + timedelta(hours=1), after=cursor2, limit=2)
        newest_first = [m.listing_id for m in reversed(made)]
        assert [r.id for r in page1 + page2 + page3] == newest_first and cursor3 is None
        by_amount, _ = board.page(db, first.id, board.Filters(sort="amount"), NOW + timedelta(hours=1), limit=5)
        assert [r.amount_minor for r in by_amount] == sorted((r.amount_minor for r in by_amount), reverse=True)
        assert board.new_since(db, first.id, NOW + timedelta(minutes=2, seconds=30), NOW + timedelta(hours=1)) == 2
        with pytest.raises(DomainError) as bad:
            board.page(db, first.id, board.Filters(), NOW, after="not-a-cursor")
        assert bad.value.code == "invalid_cursor"


# --- Bids ---------------------------------------------------------------------------------------------

def small_client(db):
    """A client whose policy allows NGN 100.00, so a bid can reproduce Fineract's C3154 schedule."""
    client = factories.client(db)
    with tenant.tenant_scope(client.id, db):
        values = policies.default_policy("NGN")
        values.min_amount_minor = 100_00
        policies.save(db, SYSTEM, client.id, values)
    return client


def test_a_bid_is_priced_by_the_loan_maths_as_fineract_schedules_it(db):
    client = small_client(db)
    provider = lender(db, client, min_amount_minor=100)
    opened = open_application(db, client, amount_minor=100_00, term=6)
    bid = place(db, provider, opened.listing_id, bid_input(rate="12", term=6, fee_minor=0))
    expected = fineract("F-C3154")
    assert bid.instalment_minor == minor(expected[0]["total_due"]) == 17_25
    assert bid.total_repayable_minor == sum(minor(r["total_due"]) for r in expected) == 103_53
    assert bid.total_cost_minor == 3_53  # interest only: no fee
    assert bid.annual_rate == Decimal("0.120000")
    apr_without_fee = bid.apr
    assert Decimal("12.00") <= apr_without_fee < Decimal("12.05")  # the nominal rate, within rounding
    # With a 2% fee withheld, the borrower gets 98.00 for the same payments: the APR rises above 12%.
    with_fee = place(db, provider, opened.listing_id, bid_input(rate="12", term=6, fee_minor=None, fee_percent="2"))
    assert with_fee.id == bid.id  # one bid per provider: a second bid edits the first
    assert with_fee.fee_minor == 2_00 and with_fee.total_cost_minor == 5_53
    assert with_fee.apr > Decimal("18")  # 2.00 withheld on a six-month loan weighs heavily


def test_each_new_bid_emits_offer_received_once_and_tells_the_borrower(db, world):
    client, first, second = world
    opened = open_application(db, client)
    place(db, first, opened.listing_id, bid_input(rate="30"))
    place(db, first, opened.listing_id, bid_input(rate="29"))  # an edit: no second event
    place(db, second, opened.listing_id, bid_input(rate="27"))
    received = events(db, client.id, "credit.offer.received")
    assert len(received) == 2
    assert {e.payload["provider"]["display_name"] for e in received} == {first.legal_name, second.legal_name}
    assert all(e.payload["application_id"] == str(opened.application_id) for e in received)
    with tenant.tenant_scope(client.id, db):
        listing = db.get(Listing, opened.listing_id)
        assert listing.bid_count == 2 and listing.first_bid_at == NOW
        assert db.scalar(select(func.count()).select_from(Bid)) == 2
        texts = db.scalars(select(Notification.text).where(Notification.user_id == opened.borrower_id)).all()
        assert sum("new offer" in t for t in texts) == 2


def test_the_database_refuses_a_second_bid_row_for_the_same_provider(db, world, owner):
    client, first, _ = world
    opened = open_application(db, client)
    bid = place(db, first, opened.listing_id, bid_input())
    db.flush()
    from sqlalchemy.exc import IntegrityError

    with tenant.tenant_scope(client.id, db):
        with pytest.raises(IntegrityError):
            with db.begin_nested():
                cols = ("client_id, listing_id, application_id, provider_id, status, "
                        "currency, amount_minor, annual_rate, fee_minor, term_months,"
                        " valid_until, instalment_minor, total_repayable_minor, total_cost_minor, apr, created_at, updated_at")
                db.execute(text(f"INSERT INTO bids (id, {cols}) SELECT gen_random_uuid(), {cols} FROM bids WHERE id = :id"),
                           {"id": bid.id})


@pytest.mark.parametrize("values, field, words", [
    (dict(rate="0"), "annual_rate", "above 0%"),
    (dict(term=18), "term_months", "3, 6, 9, 12"),
    (dict(fee_minor=None, fee_percent="60"), "fee", "under 50%"),
    (dict(valid_until=NOW - timedelta(minutes=1)), "valid_until", "future"),
])
def test_bad_bid_terms_are_refused_at_the_field_and_nothing_is_saved(db, world, values, field, words):
    client, first, _ = world
    opened = open_application(db, client)
    with pytest.raises(DomainError) as refused:
        place(db, first, opened.listing_id, bid_input(**values))
    assert refused.value.field == field and words in refused.value.message
    db.rollback()
    with tenant.tenant_scope(client.id, db):
        assert db.scalar(select(func.count()).select_from(Bid)) == 0


def test_a_bid_above_available_funds_is_refused_with_the_reason(db, world):
    client, _, _ = world
    poor = lender(db, client, funds_minor=100_000_00)
    opened = open_application(db, client, amount_minor=250_000_00)
    with pytest.raises(DomainError) as refused:
        place(db, poor, opened.listing_id, bid_input())
    assert refused.value.code == "insufficient_funds"
    assert "100,000.00 NGN" in refused.value.message and "250,000.00 NGN" in refused.value.message
    fund(db, poor, 150_000_00)
    assert place(db, poor, opened.listing_id, bid_input()).status == BidStatus.open


def test_bids_after_the_window_or_after_acceptance_are_refused(db, world):
    client, first, second = world
    opened = open_application(db, client)
    with pytest.raises(DomainError) as late:
        place(db, first, opened.listing_id, bid_input(), now=NOW + timedelta(hours=72))
    assert late.value.code == "bidding_closed"
    won = place(db, first, opened.listing_id, bid_input())
    accept(db, client, opened, won.id)
    with pytest.raises(DomainError) as after:
        place(db, second, opened.listing_id, bid_input())
    assert after.value.code == "bidding_closed"
    with pytest.raises(DomainError):  # the winner cannot change or withdraw an accepted bid either
        with tenant.provider_scope(first.id, db):
            bids.withdraw(db, SYSTEM, first.id, won.id, NOW)


def test_a_withdrawn_bid_is_not_an_offer_and_can_be_made_again(db, world):
    client, first, _ = world
    opened = open_application(db, client)
    bid = place(db, first, opened.listing_id, bid_input())
    with tenant.provider_scope(first.id, db):
        bids.withdraw(db, SYSTEM, first.id, bid.id, NOW)
    with tenant.tenant_scope(client.id, db):
        application = db.get(Application, opened.application_id)
        assert acceptance.offers(db, application, NOW) == []
    with pytest.raises(DomainError) as refused:
        accept(db, client, opened, bid.id)
    assert refused.value.code == "offer_unavailable"
    again = place(db, first, opened.listing_id, bid_input(rate="25"))
    assert again.id == bid.id and again.status == BidStatus.open


def test_another_providers_bid_answers_404(db, world):
    client, first, second = world
    opened = open_application(db, client)
    bid = place(db, first, opened.listing_id, bid_input())
    with tenant.provider_scope(second.id, db):
        with pytest.raises(NotFound):
            bids.withdraw(db, SYSTEM, second.id, bid.id, NOW)
        assert db.scalar(select(func.count()).select_from(Bid)) == 0  # RLS: only its own bids


# --- Acceptance ---------------------------------------------------------------------------------------

def test_offers_are_ranked_by_apr_and_the_best_is_marked(db, world):
    client, first, second = world
    opened = open_application(db, client)
    dear = place(db, first, opened.listing_id, bid_input(rate="32"))
    cheap = place(db, second, opened.listing_id, bid_input(rate="26"))
    with tenant.tenant_scope(client.id, db):
        ranked = acceptance.offers(db, db.get(Application, opened.application_id), NOW)
    assert [o.bid.id for o in ranked] == [cheap.id, dear.id]
    assert [o.best for o in ranked] == [True, False]
    assert ranked[0].bid.apr < ranked[1].bid.apr


def test_accepting_creates_the_loan_reserves_funds_and_closes_the_other_bids(db):
    client = small_client(db)
    winner = lender(db, client, min_amount_minor=100, funds_minor=1_000_00)
    loser = lender(db, client, min_amount_minor=100)
    opened = open_application(db, client, amount_minor=100_00, term=6)
    won = place(db, winner, opened.listing_id, bid_input(rate="12", term=6, fee_minor=0))
    lost = place(db, loser, opened.listing_id, bid_input(rate="14", term=6, fee_minor=0))
    loan = accept(db, client, opened, won.id)

    with tenant.tenant_scope(client.id, db):
        loan = db.get(Loan, loan.id)
        expected = fineract("F-C3154")
        rows = db.scalars(select(LoanInstallment).where(LoanInstallment.loan_id == loan.id)
                          .order_by(LoanInstallment.number)).all()
        assert [(r.principal_minor, r.interest_minor, r.total_minor, r.balance_minor) for r in rows] == [
            (minor(e["principal_due"]), minor(e["interest_due"]), minor(e["total_due"]), minor(e["balance_after"]))
            for e in expected]
        assert sum(r.principal_minor for r in rows) == loan.principal_minor == 100_00
        assert loan.status.value == "pending_disbursement" and loan.provider_id == winner.id
        assert (loan.instalment_minor, loan.total_repayable_minor) == (17_25, 103_53)
        application = db.get(Application, opened.application_id)
        assert application.status == S.offer_accepted
        assert db.get(Bid, won.id).status == BidStatus.accepted
        assert db.get(Bid, lost.id).status == BidStatus.rejected
        assert db.get(Listing, opened.listing_id).status == ListingStatus.accepted
        signature = db.scalar(select(Signature).where(Signature.loan_id == loan.id))
        assert signature.typed_name == "Adaeze Okoro" and signature.ip_address == "203.0.113.9"
        assert signature.agreement_sha256 == hashlib.sha256(signature.agreement_text.encode()).hexdigest()
        assert "17.25" in signature.agreement_text and signature.agreement_version == acceptance.AGREEMENT_VERSION
    funds = ledger.provider_funds(db, winner.id, "NGN")
    assert (funds.available_minor, funds.reserved_minor) == (900_00, 100_00)
    accepted = events(db, client.id, "credit.offer.accepted")
    assert len(accepted) == 1 and accepted[0].payload["loan_id"] == str(loan.id)
    assert accepted[0].payload["id"] == str(won.id) and accepted[0].payload["monthly_payment"] == "17.25"
    notices = db.scalars(select(ProviderNotification).where(ProviderNotification.provider_id == loser.id)).all()
    assert len(notices) == 1 and "lost" in notices[0].text


@pytest.mark.parametrize("kwargs, code", [
    (dict(consent=False), "consent_required"),
    (dict(name="Somebody Else"), "signature_mismatch"),
    (dict(sha="0" * 64), "agreement_changed"),
])
def test_acceptance_without_a_valid_signature_saves_nothing(db, world, kwargs, code):
    client, first, _ = world
    opened = open_application(db, client)
    bid = place(db, first, opened.listing_id, bid_input())
    with pytest.raises(DomainError) as refused:
        accept(db, client, opened, bid.id, **kwargs)
    assert refused.value.code == code
    db.rollback()
    with tenant.tenant_scope(client.id, db):
        assert db.scalar(select(func.count()).select_from(Loan)) == 0
        assert db.scalar(select(func.count()).select_from(Signature)) == 0


def test_an_expired_offer_cannot_be_accepted_and_a_second_acceptance_is_refused(db, world):
    client, first, second = world
    opened = open_application(db, client)
    short = place(db, first, opened.listing_id, bid_input(valid_until=NOW + timedelta(hours=1)))
    good = place(db, second, opened.listing_id, bid_input())
    with pytest.raises(DomainError) as expired:
        accept(db, client, opened, short.id, now=NOW + timedelta(hours=2))
    assert expired.value.code == "offer_expired"
    accept(db, client, opened, good.id, now=NOW + timedelta(hours=2))
    with pytest.raises(DomainError) as again:
        accept(db, client, opened, good.id, now=NOW + timedelta(hours=2))
    assert again.value.code == "not_open"


def test_acceptance_is_refused_when_the_provider_can_no_longer_fund_it(db, world):
    client, _, _ = world
    thin = lender(db, client, funds_minor=250_000_00)
    one = open_application(db, client, amount_minor=250_000_00)
    two = open_application(db, client, amount_minor=250_000_00)
    first_bid = place(db, thin, one.listing_id, bid_input())
    second_bid = place(db, thin, two.listing_id, bid_input())  # funds are checked, not reserved, at bid time
    accept(db, client, one, first_bid.id)
    with pytest.raises(DomainError) as refused:
        accept(db, client, two, second_bid.id)
    assert refused.value.code == "offer_unfunded"


def test_a_borrower_cannot_accept_on_anothers_application(db, world):
    client, first, _ = world
    opened = open_application(db, client)
    bid = place(db, first, opened.listing_id, bid_input())
    with tenant.tenant_scope(client.id, db):
        with pytest.raises(NotFound):
            acceptance.accept(db, SYSTEM, application_id=opened.application_id, bid_id=bid.id,
                              typed_name="Adaeze Okoro", consent=True, agreement_sha256=None, channel="portal",
                              ip_address=None, now=NOW, borrower_id=uuid.uuid4())


# --- Deadlines ----------------------------------------------------------------------------------------

def test_with_no_offer_the_application_expires_at_the_deadline_and_the_borrower_is_told(db, world):
    client, _, _ = world
    opened = open_application(db, client)
    with tenant.tenant_scope(client.id, db):
        assert listings.close_bidding(db, opened.listing_id, NOW + timedelta(hours=71)) == "open"  # too early
        assert listings.close_bidding(db, opened.listing_id, NOW + timedelta(hours=72)) == "expired"
        assert listings.close_bidding(db, opened.listing_id, NOW + timedelta(hours=73)) == "expired"  # twice: same
        application = db.get(Application, opened.application_id)
        assert application.status == S.expired
        texts = db.scalars(select(Notification.text).where(Notification.user_id == opened.borrower_id)).all()
        assert any("expired" in t and "no lender made an offer" in t for t in texts)


def test_with_offers_the_borrower_gets_the_acceptance_window_then_everything_expires(db, world):
    client, first, _ = world
    opened = open_application(db, client)
    bid = place(db, first, opened.listing_id, bid_input(valid_until=NOW + timedelta(days=10)))
    closes = NOW + timedelta(hours=72)
    with tenant.tenant_scope(client.id, db):
        assert listings.close_bidding(db, opened.listing_id, closes) == "awaiting"
        listing = db.get(Listing, opened.listing_id)
        assert listing.accept_until == closes + timedelta(hours=48)
        job = db.scalar(select(OutboxMessage).where(OutboxMessage.func == "caas.market.jobs.end_acceptance"))
        assert job.run_at == listing.accept_until
        assert listings.end_acceptance(db, opened.listing_id, closes + timedelta(hours=47)) == "awaiting"
    loan = None
    with pytest.raises(DomainError):  # no new bids once bidding has closed
        place(db, first, opened.listing_id, bid_input(), now=closes + timedelta(hours=1))
    with tenant.tenant_scope(client.id, db):
        assert listings.end_acceptance(db, opened.listing_id, closes + timedelta(hours=48)) == "expired"
        assert db.get(Application, opened.application_id).status == S.expired
        assert db.get(Bid, bid.id).status == BidStatus.expired
        assert db.scalar(select(func.count()).select_from(Loan)) == 0 and loan is None


def test_the_sweep_finds_listings_past_their_deadline(db, world):
    client, _, _ = world
    opened = open_application(db, client)
    due = listings.due(db, NOW + timedelta(hours=72, seconds=1))
    assert (client.id, opened.listing_id, "close") in due
    assert all(item[1] != opened.listing_id for item in listings.due(db, NOW + timedelta(hours=1)))


def test_withdrawing_the_application_closes_the_listing_and_expires_open_bids(db, world):
    client, first, _ = world
    opened = open_application(db, client)
    bid = place(db, first, opened.listing_id, bid_input())
    from caas.credit import applications

    with tenant.tenant_scope(client.id, db):
        applications.withdraw(db, db.get(Application, opened.application_id))
        assert db.get(Listing, opened.listing_id).status == ListingStatus.withdrawn
        assert db.get(Bid, bid.id).status == BidStatus.expired


def test_my_bids_counts_and_win_rate(db, world):
    client, first, second = world
    one, two, three = (open_application(db, client) for _ in range(3))
    won = place(db, first, one.listing_id, bid_input(rate="20"))
    place(db, second, one.listing_id, bid_input(rate="25"))
    lost = place(db, first, two.listing_id, bid_input(rate="35"))
    winner_two = place(db, second, two.listing_id, bid_input(rate="21"))
    place(db, first, three.listing_id, bid_input(rate="30"))
    accept(db, client, one, won.id)
    accept(db, client, two, winner_two.id)
    with tenant.provider_scope(first.id, db):
        stats = bids.stats(db, first.id, NOW)
        assert stats.counts["won"] == 1 and stats.counts["lost"] == 1 and stats.counts["open"] == 1
        assert stats.win_rate == Decimal("50.0")
        assert [b.id for b, _ in bids.my_bids(db, first.id, "lost", NOW)] == [lost.id]
