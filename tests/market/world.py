"""Building blocks for marketplace tests: a client with providers in its network, funded, with
criteria; borrowers whose applications were approved and opened for offers through the real
operations."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from caas.core import tenant
from caas.credit import applications, profiles
from caas.credit.applications import Terms
from caas.credit.models import ApplicationStatus as S, CreditDecision
from caas.ledger import operations as ledger
from caas.market import criteria, listings
from caas.market.bids import BidInput
from caas.tenancy import operations
from caas.tenancy.models import Client, Provider
from tests import factories

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)


def profile_input(**overrides) -> profiles.ProfileInput:
    values = dict(legal_name="Adaeze Okoro", date_of_birth="1990-04-12", phone="+2348031234567",
                  address="12 Marina Road, Lagos", national_id="22345678901", employment_status="employed",
                  employer="Dangote Cement", months_employed=36, monthly_net_income="450000.00",
                  monthly_expenses="150000.00", existing_debt_payments="20000.00", housing="rent")
    values.update(overrides)
    return profiles.ProfileInput(**values)


def fund(db, provider: Provider, amount_minor: int, currency: str = "NGN", reference: str | None = None) -> None:
    ledger.fund_provider(db, factories.SYSTEM, provider.id, amount_minor, currency,
                         reference or f"DEP-{uuid.uuid4().hex[:10]}")


def lender(db, client: Client, *, funds_minor: int = 100_000_000_00, **criteria_overrides) -> Provider:
    """A provider in ``client``'s network, funded in NGN, with one criteria set that takes NGN
    1,000–10,000,000 over 1–36 months, grades A–E."""
    provider = factories.provider(db, currencies=["NGN"])
    with tenant.tenant_scope(client.id, db):
        current = [row.provider_id for row in operations.network(db)]
        operations.set_provider_network(db, factories.SYSTEM, client.id, current + [provider.id])
    if funds_minor:
        fund(db, provider, funds_minor)
    values = dict(name="NGN book", currencies=["NGN"], min_amount_minor=1_000_00, max_amount_minor=10_000_000_00,
                  min_term_months=1, max_term_months=36, worst_grade="E")
    values.update(criteria_overrides)
    with tenant.provider_scope(provider.id, db):
        criteria.save(db, factories.SYSTEM, provider.id, criteria.CriteriaInput(**values))
    return provider


@dataclass
class Opened:
    application_id: uuid.UUID
    listing_id: uuid.UUID
    borrower_id: uuid.UUID


def open_application(db, client: Client, *, amount_minor: int = 250_000_00, term: int = 12, grade: str = "B",
                     pd: str = "0.045", now: datetime = NOW, name: str = "Adaeze Okoro",
                     purpose: str = "business expansion", bank_account: str | None = "0123456781") -> Opened:
    """A borrower's application, submitted, approved with a decision, and opened for offers. The
    borrower has an NGN bank account (the sandbox pays accounts ending in 1 at once) unless None."""
    borrower = factories.borrower(db, client)
    with tenant.tenant_scope(client.id, db):
        profiles.save(db, borrower, client, profile_input(legal_name=name), date(2026, 11, 1))
        application = applications.start(db, borrower.id, client.id)
        applications.set_terms(db, application, Terms(amount_minor, "NGN", term, purpose), now.date())
        applications.confirm_income(db, application, True)
        from caas.credit import consents

        consents.grant(db, borrower.id, client.id, ["data_processing", "credit_check"], "127.0.0.1")
        if bank_account:
            from caas.payments import payouts

            payouts.save_bank_account(db, borrower.id, client.id,
                                      payouts.BankDetails("NGN", "058", bank_account, name))
        applications.submit(db, application)
        applications.transition(db, application, S.screening)
        decision = CreditDecision(id=uuid.uuid4(), client_id=client.id, application_id=application.id,
                                  outcome="approve", model_version="test", pd=Decimal(pd), score=600, grade=grade,
                                  reasons=[], rule_results=[], screening_hits=[], kyc_results=[], inputs={})
        db.add(decision)
        applications.transition(db, application, S.approved)
        listing = listings.open_for_offers(db, application, decision, now)
        db.flush()
        return Opened(application.id, listing.id, borrower.id)


def bid_input(rate: str = "30", term: int = 12, fee_minor: int | None = 2_500_00, fee_percent: str | None = None,
              valid_until: datetime | None = None) -> BidInput:
    return BidInput(annual_rate_percent=Decimal(rate), term_months=term,
                    valid_until=valid_until or NOW + timedelta(days=5), fee_minor=fee_minor,
                    fee_percent=Decimal(fee_percent) if fee_percent is not None else None)
