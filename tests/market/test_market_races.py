"""Races against real PostgreSQL, from threads with their own connections and committed data:
two acceptances at once, acceptance racing a withdrawal, a bid racing an acceptance. Each ends in
exactly one consistent outcome."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from caas.core import tenant
from caas.core.errors import DomainError
from caas.core.extensions import db as database
from caas.ledger import operations as ledger
from caas.loans.models import Loan
from caas.market import acceptance, bids
from caas.market.models import Bid, BidStatus
from tests import factories
from tests.market.world import bid_input, lender, open_application

ROUNDS = 4


def _world(session, providers: int = 2):
    client = factories.client(session)
    lenders = [lender(session, client, funds_minor=1_000_000_00) for _ in range(providers)]
    now = datetime.now(timezone.utc)
    opened = open_application(session, client, now=now)
    placed = []
    for provider in lenders:
        with tenant.provider_scope(provider.id, session):
            placed.append(bids.place(session, factories.SYSTEM, provider.id, opened.listing_id,
                                     bid_input(rate=str(20 + len(placed)), valid_until=now + timedelta(days=2)), now))
    session.commit()
    tenant.reset()
    return client, lenders, opened, placed


def _race(app, *actions):
    """Run each action in its own thread and app context (own session, own connection), released
    together by a barrier. Returns what each returned or raised."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(i, action):
        with app.app_context():
            try:
                barrier.wait()
                results[i] = action(database.session)
                database.session.commit()
            except Exception as exc:  # noqa: BLE001 — the outcome under test
                database.session.rollback()
                results[i] = exc
            finally:
                database.session.remove()
                tenant.reset()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def _accept(client, opened, bid_id):
    def action(session):
        tenant.set_tenant(client.id)
        return acceptance.accept(session, factories.SYSTEM, application_id=opened.application_id, bid_id=bid_id,
                                 typed_name="Adaeze Okoro", consent=True, agreement_sha256=None, channel="portal",
                                 ip_address=None, now=datetime.now(timezone.utc), borrower_id=opened.borrower_id)
    return action


def _counts(session, client, lenders):
    with tenant.tenant_scope(client.id, session):
        loans = session.scalar(select(func.count()).select_from(Loan))
        statuses = dict(session.execute(select(Bid.provider_id, Bid.status)).all())
    reserved = sum(ledger.provider_funds(session, p.id, "NGN").reserved_minor for p in lenders)
    session.rollback()
    return loans, statuses, reserved


def test_two_acceptances_at_once_make_exactly_one_loan(app, committed):
    for _ in range(ROUNDS):
        client, lenders, opened, placed = _world(committed)
        outcomes = _race(app, _accept(client, opened, placed[0].id), _accept(client, opened, placed[1].id))
        won = [o for o in outcomes if isinstance(o, Loan)]
        lost = [o for o in outcomes if isinstance(o, DomainError)]
        assert len(won) == 1 and len(lost) == 1 and lost[0].code == "not_open", outcomes
        loans, statuses, reserved = _counts(committed, client, lenders)
        assert loans == 1 and reserved == 250_000_00  # one reservation, for the one loan
        assert sorted(s.value for s in statuses.values()) == ["accepted", "rejected"]


def test_an_acceptance_racing_a_withdrawal_leaves_one_consistent_outcome(app, committed):
    for _ in range(ROUNDS):
        client, lenders, opened, placed = _world(committed, providers=1)
        provider, bid = lenders[0], placed[0]

        def withdraw(session):
            tenant.set_tenant(None, provider_id=provider.id)
            return bids.withdraw(session, factories.SYSTEM, provider.id, bid.id, datetime.now(timezone.utc))

        accepted, withdrawn = _race(app, _accept(client, opened, bid.id), withdraw)
        loans, statuses, reserved = _counts(committed, client, lenders)
        if isinstance(accepted, Loan):
            assert isinstance(withdrawn, DomainError) and withdrawn.code == "bid_closed"
            assert loans == 1 and statuses[provider.id] == BidStatus.accepted and reserved == 250_000_00
        else:
            assert isinstance(accepted, DomainError) and accepted.code == "offer_unavailable", accepted
            assert isinstance(withdrawn, Bid)
            assert loans == 0 and statuses[provider.id] == BidStatus.withdrawn and reserved == 0


def test_a_bid_racing_an_acceptance_is_either_rejected_with_the_rest_or_refused(app, committed):
    for _ in range(ROUNDS):
        client, lenders, opened, placed = _world(committed, providers=2)
        late = lender(committed, client, funds_minor=1_000_000_00)
        committed.commit()
        tenant.reset()

        def bid(session):
            tenant.set_tenant(None, provider_id=late.id)
            now = datetime.now(timezone.utc)
            return bids.place(session, factories.SYSTEM, late.id, opened.listing_id,
                              bid_input(rate="18", valid_until=now + timedelta(days=2)), now)

        accepted, late_bid = _race(app, _accept(client, opened, placed[0].id), bid)
        assert isinstance(accepted, Loan)
        loans, statuses, _ = _counts(committed, client, lenders + [late])
        assert loans == 1
        if isinstance(late_bid, Bid):  # it got in first: the acceptance rejected it with the others
            assert statuses[late.id] == BidStatus.rejected
        else:
            assert isinstance(late_bid, DomainError) and late_bid.code == "bidding_closed"
            assert late.id not in statuses
        assert BidStatus.open not in statuses.values()
