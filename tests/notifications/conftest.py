"""Notification fixtures: the SMTP server and events worker of the webhook tests, and a world built
through the real operations — a client with two lenders in its network, a borrower whose application
got two offers, the better one accepted and paid out — whose events reach people only when the
events worker runs."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from caas.core import tenant
from caas.events.models import NotificationMessage
from caas.loans import repayments
from caas.market import acceptance, bids
from caas.payments import payouts, service
from caas.payments.gateways import SandboxGateway
from caas.payments.routing import Router
from caas.tenancy.models import Client, Provider, User
from tests import factories
from tests.market.world import NOW, bid_input, lender, open_application
from tests.webhooks.conftest import run_events, smtp  # noqa: F401 — fixtures


@pytest.fixture
def sandbox():
    service.use(Router({"sandbox": SandboxGateway(settle_after=0)}))
    yield
    service.use(None)


@dataclass
class World:
    client: Client
    winner: Provider
    loser: Provider
    winner_user: User
    loser_user: User
    admin: User
    borrower: User
    application_id: uuid.UUID
    legal_name: str
    loan_id: uuid.UUID | None = None

    # plain values: the users' rows are invisible outside their scope once the session expires them
    def __post_init__(self):
        self.borrower_email = self.borrower.email
        self.winner_email, self.loser_email = self.winner_user.email, self.loser_user.email
        self.admin_email = self.admin.email
        self.borrower_id = self.borrower.id


def applied(db, client: Client | None = None, *, name: str = "Adaeze Okoro") -> World:
    """The application is submitted and open for offers, both lenders have bid (nothing committed
    beyond what the operations commit, and no worker has run)."""
    client = client or factories.client(db)
    winner, loser = lender(db, client), lender(db, client)
    winner_user, loser_user = factories.provider_user(db, winner), factories.provider_user(db, loser)
    admin = factories.client_admin(db, client)
    opened = open_application(db, client, amount_minor=250_000_00, term=12, name=name)
    with tenant.provider_scope(loser.id, db):
        bids.place(db, factories.SYSTEM, loser.id, opened.listing_id, bid_input(rate="35"), NOW)
    with tenant.provider_scope(winner.id, db):
        bids.place(db, factories.SYSTEM, winner.id, opened.listing_id, bid_input(rate="30"), NOW)
    db.commit()
    with tenant.tenant_scope(client.id, db):
        borrower = db.get(User, opened.borrower_id)
    return World(client, winner, loser, winner_user, loser_user, admin, borrower, opened.application_id, name)


def accept_and_pay_out(db, world: World) -> World:
    """The borrower accepts the winner's offer and the sandbox pays it out at once."""
    from caas.market.models import Bid

    with tenant.tenant_scope(world.client.id, db):
        bid = db.scalar(select(Bid).where(Bid.application_id == world.application_id,
                                          Bid.provider_id == world.winner.id))
        loan = acceptance.accept(db, factories.SYSTEM, application_id=world.application_id, bid_id=bid.id,
                                 typed_name=world.legal_name, consent=True, agreement_sha256=None,
                                 channel="portal", ip_address=None, now=NOW, borrower_id=world.borrower.id)
        db.commit()
        payouts.process(db, payouts.for_loan(db, loan.id).id, service.router(), NOW)
    db.commit()
    world.loan_id = loan.id
    return world


def pay_instalment(db, world: World, on: date):
    with tenant.tenant_scope(world.client.id, db):
        loan = repayments.lock_loan(db, world.loan_id)
        amount = repayments.quote(db, loan, "instalment", on)
        repayment = repayments.start(db, loan, amount, "portal")
        db.commit()
        done = repayments.charge(db, repayment, service.router(), authorization_code="AUTH_demo_1",
                                 email=world.borrower.email, on=on)
        db.commit()
    return done


def mails_to(smtp, address: str) -> list:
    return [message for _, recipients, message in smtp.messages if address in recipients]


def subjects_to(smtp, address: str) -> list[str]:
    return [message["Subject"] for message in mails_to(smtp, address)]


def sent_log(db, client_id, **where) -> list[NotificationMessage]:
    query = select(NotificationMessage).filter_by(**where).order_by(NotificationMessage.created_at)
    if client_id is None:
        return list(db.scalars(query))
    with tenant.tenant_scope(client_id, db):
        return list(db.scalars(query))
