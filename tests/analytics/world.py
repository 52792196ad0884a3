"""A small marketplace for analytics tests, built through the real operations: two clients, two
lenders, applications at every stage of the funnel, loans paid out through the sandbox."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import update

from caas.core import tenant
from caas.credit import applications
from caas.credit.models import Application, ApplicationStatus as S, CreditDecision
from caas.market import acceptance, bids
from caas.payments import payouts, service
from caas.tenancy.models import Client, Provider
from tests import factories
from tests.market.world import NOW, bid_input, open_application


def submitted_on(db, client: Client, application_id: uuid.UUID, day: str) -> None:
    """Move an application's submission to ``day`` (noon UTC): the funnel's cohort date."""
    with tenant.tenant_scope(client.id, db):
        db.execute(update(Application).where(Application.id == application_id)
                   .values(submitted_at=datetime.fromisoformat(day).replace(hour=12, tzinfo=timezone.utc)))


def declined(db, client: Client, *, grade: str | None = "E") -> uuid.UUID:
    """An application the scorecard declined (opened the usual way, then declined instead of listed
    would break the lifecycle, so it stops at screening and is declined there)."""
    borrower = factories.borrower(db, client)
    with tenant.tenant_scope(client.id, db):
        application = Application(id=uuid.uuid4(), client_id=client.id, borrower_id=borrower.id, status=S.draft,
                                  amount_minor=100_000_00, currency="NGN", term_months=6, purpose="school fees")
        db.add(application)
        db.flush()
        applications.transition(db, application, S.submitted)
        application.submitted_at = NOW
        applications.transition(db, application, S.screening)
        db.add(CreditDecision(id=uuid.uuid4(), client_id=client.id, application_id=application.id, outcome="decline",
                              model_version="test", pd=Decimal("0.4") if grade else None, score=300, grade=grade,
                              reasons=[], rule_results=[], screening_hits=[], kyc_results=[], inputs={}))
        applications.transition(db, application, S.declined)
        db.flush()
        return application.id


def bid(db, provider: Provider, listing_id: uuid.UUID, rate: str = "30", fee_minor: int = 0):
    with tenant.provider_scope(provider.id, db):
        return bids.place(db, factories.SYSTEM, provider.id, listing_id, bid_input(rate=rate, fee_minor=fee_minor), NOW)


def accept(db, client: Client, opened, chosen, *, pay_out: bool = True) -> uuid.UUID:
    """The borrower accepts ``chosen``; the sandbox pays the loan out at NOW unless told not to."""
    with tenant.tenant_scope(client.id, db):
        loan = acceptance.accept(db, factories.SYSTEM, application_id=opened.application_id, bid_id=chosen.id,
                                 typed_name="Adaeze Okoro", consent=True, agreement_sha256=None, channel="portal",
                                 ip_address=None, now=NOW, borrower_id=opened.borrower_id)
        db.flush()
        if pay_out:
            payouts.process(db, payouts.for_loan(db, loan.id).id, service.router(), NOW)
        return loan.id


@dataclass
class World:
    a: Client
    b: Client
    p1: Provider
    p2: Provider
    apps: dict[str, uuid.UUID] = field(default_factory=dict)
    loans: dict[str, uuid.UUID] = field(default_factory=dict)
    bids: dict[str, object] = field(default_factory=dict)


def build(db, alpha: Client | None = None) -> World:
    """Alpha (a new client unless given) and Beta, two funded lenders in Alpha's network (only the
    first in Beta's), and the funnel world on them."""
    from caas.tenancy import operations
    from tests.market.world import lender

    a = alpha or factories.client(db, display_name="Alpha Lend")
    b = factories.client(db, display_name="Beta Credit")
    p1, p2 = lender(db, a), lender(db, a)
    with tenant.tenant_scope(b.id, db):
        operations.set_provider_network(db, factories.SYSTEM, b.id, [p1.id])
    return funnel_world(db, a, b, p1, p2)


def funnel_world(db, a: Client, b: Client, p1: Provider, p2: Provider) -> World:
    """Alpha: app1 disbursed (P1 won over P2), app2 offered (P2's bid open, P1's withdrawn), app3
    approved without bids, app4 declined, app5 disbursed but submitted in September (outside the
    October window; its bid had a 2,500.00 fee). Beta: app6 accepted, payout not yet made. Grades: app1 B, app2 C, app3 A,
    app4 E (declined), app5 B, app6 B. The other bids have no fee, so their APR is the nominal rate."""
    w = World(a, b, p1, p2)
    one = open_application(db, a, grade="B", pd="0.04")
    two = open_application(db, a, grade="C", pd="0.09")
    three = open_application(db, a, grade="A", pd="0.01")
    five = open_application(db, a, grade="B", pd="0.06")
    six = open_application(db, b, grade="B", pd="0.05")
    w.bids["p1-app1"] = bid(db, p1, one.listing_id, "24")
    w.bids["p2-app1"] = bid(db, p2, one.listing_id, "30")
    w.bids["p2-app2"] = bid(db, p2, two.listing_id, "36")
    w.bids["p1-app2"] = bid(db, p1, two.listing_id, "40")
    with tenant.provider_scope(p1.id, db):
        bids.withdraw(db, factories.SYSTEM, p1.id, w.bids["p1-app2"].id, NOW)
    w.bids["p1-app5"] = bid(db, p1, five.listing_id, "26", fee_minor=2_500_00)
    w.bids["p1-app6"] = bid(db, p1, six.listing_id, "28")
    w.loans["app1"] = accept(db, a, one, w.bids["p1-app1"])
    w.loans["app5"] = accept(db, a, five, w.bids["p1-app5"])
    w.loans["app6"] = accept(db, b, six, w.bids["p1-app6"], pay_out=False)
    w.apps = {"app1": one.application_id, "app2": two.application_id, "app3": three.application_id,
              "app4": declined(db, a), "app5": five.application_id, "app6": six.application_id}
    for name, day in (("app1", "2026-10-03"), ("app2", "2026-10-10"), ("app3", "2026-10-31"),
                      ("app4", "2026-10-01"), ("app5", "2026-09-30"), ("app6", "2026-10-15")):
        submitted_on(db, b if name == "app6" else a, w.apps[name], day)
    db.flush()
    return w
