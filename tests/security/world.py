"""A rich world for the isolation tests: one tenant with an object behind every kind of id a URL
takes, and a row in every table that carries ``client_id``, built through the real operations.

``build_pair`` makes two such tenants, A and B, each with its own lender (in its own network only)
so that B's listings, bids and loans are out of A's lender's reach. B's names and e-mail are
distinctive strings (``markers``) that must never show up in a response to anyone acting for A.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from flask import current_app
from sqlalchemy import insert, update

from caas.audit.operations import Actor
from caas.core import clock, tenant
from caas.credit import applications, decisions, documents, idempotency, notifications, profiles
from caas.credit.applications import Terms
from caas.credit.models import ApplicationStatus as S
from caas.events import deliveries, notify, preferences, webhooks
from caas.events.sms import SandboxSms
from caas.loans import collections, repayments
from caas.loans.models import BucketChange, LoanRefund
from caas.market import acceptance, bids
from caas.payments import payouts, service
from caas.payments.gateways import SandboxGateway
from caas.payments.routing import Router
from caas.tenancy import apikeys, operations
from caas.tenancy.models import Client, Role, User
from tests import factories
from tests.market.world import NOW, bid_input, lender, open_application, profile_input

# The smallest file the document check accepts as a PDF.
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@dataclass
class TenantWorld:
    label: str
    client: Client
    admin_email: str
    borrower_email: str
    borrower_name: str
    borrower_id: uuid.UUID
    provider_id: uuid.UUID
    provider_user_email: str
    api_key: str
    ids: dict[str, uuid.UUID] = field(default_factory=dict)  # URL parameter name → this tenant's object

    @property
    def slug(self) -> str:
        return self.client.slug

    def markers(self) -> list[str]:
        """Strings that belong to this tenant alone: its names, its borrower, its object ids."""
        return [self.client.legal_name, self.client.display_name, self.borrower_name, self.borrower_email,
                self.admin_email, *{str(v) for v in self.ids.values()}]


def _sandbox():
    service.use(Router({"sandbox": SandboxGateway(settle_after=0)}))


def build_tenant(db, label: str, name: str) -> TenantWorld:
    """One tenant with everything. ``name`` is a distinctive word used in its names (a marker).

    Commits as it goes (acceptance and payouts need committed rows); inside the tests' rolled-back
    connection those commits are savepoints."""
    _sandbox()
    slug = f"iso-{label.lower()}-{uuid.uuid4().hex[:6]}"
    with clock.frozen(NOW):
        client = factories.client(db, slug=slug, legal_name=f"{name} Holdings Ltd", display_name=f"{name} Lending",
                                  services=["borrower_portal", "client_api", "provider_marketplace"])
        db.execute(update(Client).where(Client.id == client.id).values(created_at=datetime(2026, 1, 5,
                                                                                           tzinfo=timezone.utc)))
        admin_email = f"admin.{name.lower()}@{slug}.example.com"
        admin = factories.client_admin(db, client, email=admin_email, full_name=f"{name} Admin")
        provider = lender(db, client)
        provider_user_email = f"lender.{name.lower()}@{slug}.example.com"
        factories.provider_user(db, provider, email=provider_user_email, full_name=f"{name} Lender")
        world = TenantWorld(label, client, admin_email, "", "", uuid.uuid4(), provider.id, provider_user_email, "")
        ids = world.ids
        ids["client_id"] = client.id
        ids["provider_id"] = provider.id

        # The borrower, with an accepted and paid-out loan (profile, consents and bank account on the way).
        borrower_name = f"{name} Borrower"
        opened = open_application(db, client, amount_minor=100_000_00, term=6, name=borrower_name)
        with tenant.provider_scope(provider.id, db):
            won = bids.place(db, factories.SYSTEM, provider.id, opened.listing_id,
                             bid_input(rate="24", term=6, fee_minor=0), NOW)
        with tenant.tenant_scope(client.id, db):
            borrower = db.get(User, opened.borrower_id)
            borrower.email = world.borrower_email = f"{name.lower()}.borrower@{slug}.example.com"
            borrower.full_name = world.borrower_name = borrower_name
            world.borrower_id = borrower.id
            loan, payout = accept_and_pay_out(db, opened.application_id, won.id, borrower_name, borrower.id)
        ids["loan_id"] = loan.id
        ids["payout_id"] = payout.id
        ids["bid_id"] = won.id
        ids["offer_id"] = won.id

        with tenant.tenant_scope(client.id, db):
            # A repayment, an auto-debit authority, a hardship request, a collections note.
            locked = repayments.lock_loan(db, loan.id)
            repayment = repayments.start(db, locked, repayments.quote(db, locked, "instalment", NOW.date()), "portal")
            db.commit()
            repayments.charge(db, repayment, service.router(), authorization_code="AUTH_iso", email=world.borrower_email,
                              on=NOW.date())
            db.commit()
            collections.authorize(db, factories.SYSTEM, borrower.id, client.id, gateway="sandbox",
                                  authorization_code=f"AUTH_{uuid.uuid4().hex[:10]}", label="Sandbox card 4242")
            hardship = collections.request_hardship(db, repayments.lock_loan(db, loan.id), reason="Lost a contract",
                                                    plan="holiday", periods=1, on=NOW.date())
            ids["request_id"] = hardship.id
            collections.log(db, factories.SYSTEM, loan.id, kind="contact", note=f"Called {borrower_name}")
            # Rows the daily job and overpayments write, which the flows above do not reach on day one.
            db.add(BucketChange(id=uuid.uuid4(), client_id=client.id, loan_id=loan.id, from_bucket="current",
                                to_bucket="1-30", days_past_due=1, on=NOW.date()))
            db.add(LoanRefund(id=uuid.uuid4(), client_id=client.id, loan_id=loan.id, repayment_id=repayment.id,
                              status="pending", currency="NGN", amount_minor=1_00, reference=f"REF-{uuid.uuid4().hex}",
                              recipient={"name": borrower_name}))

            # Documents, identity check, preferences, an SMS, notifications (e-mail log and in-app).
            document = documents.upload(db, current_app.config["UPLOAD_DIR"], user_id=borrower.id, client_id=client.id,
                                        kind="identity", filename="id.pdf", data=PDF)
            ids["document_id"] = document.id
            _identity_check(db, borrower.id)
            from caas.tenancy import sessions as user_sessions

            user_sessions.start(db, borrower, NOW, ip_address="127.0.0.1")
            preferences.save(db, borrower.id, client.id, emails_off=[], sms_opt_in=False)
            SandboxSms().send(db, to="+2348031234567", body=f"Hello {borrower_name}", client_id=client.id,
                              reference=f"sms-{uuid.uuid4().hex[:8]}")
            notify.route(db, "credit.application.approved", f"evt_{uuid.uuid4().hex}", client.id,
                         {"id": str(opened.application_id)})
            notifications.notify(db, client.id, borrower.id, f"A notice for {borrower_name}", link="/")
            notifications.notify(db, client.id, admin.id, f"A notice for the admins of {name}", link="/")
            ids["notification_id"] = _latest_notification(db, borrower.id)
            ids["admin_notification_id"] = _latest_notification(db, admin.id)

            # A second client admin (invited: an invitation row), the target of "remove".
            invited = operations.invite_user(db, factories.SYSTEM, role=Role.client_admin,
                                             email=f"second.{name.lower()}@{slug}.example.com",
                                             full_name=f"{name} Second Admin", client_id=client.id)
            ids["user_id"] = invited.id

            # An API key (and an idempotent response stored under it), a webhook endpoint with a delivery
            # and an attempt.
            key, raw = apikeys.issue(db, factories.SYSTEM, client.id, name=f"{name} key", mode="live",
                                     scopes=list(apikeys.SCOPES))
            world.api_key = raw
            ids["key_id"] = key.id
            idempotency.claim(db, client.id, key.id, f"idem-{uuid.uuid4().hex[:8]}", "0" * 64)
            endpoint, _ = webhooks.create(db, factories.SYSTEM, client.id, url=f"https://hooks.{slug}.example.com/in",
                                          events=["credit.application.submitted"], allow_http=False)
            ids["endpoint_id"] = endpoint.id
            delivery = deliveries.send_test(db, factories.SYSTEM, endpoint.id)
            ids["delivery_id"] = delivery.id
            claimed = deliveries.claim(db, delivery.id, 1, 0)
            deliveries.record_attempt(db, claimed, deliveries.Result(status_code=500, latency_ms=12, body="down"))
            db.commit()

        # Applications in the other interesting states: referred (pending a person), one reviewed, a draft,
        # and one open for offers with a pending bid from the tenant's lender.
        referred = _referred(db, client, borrower.id)
        ids["application_id"] = referred
        reviewed = _referred(db, client, factories.borrower(db, client).id)
        with tenant.tenant_scope(client.id, db):
            reviewer = Actor(user_id=admin.id, role="client_admin")
            decisions.review_referral(db, reviewer, reviewed, "decline", "Income not shown")
            ids["draft_application_id"] = applications.start(db, factories.borrower(db, client).id, client.id).id
        listed = open_application(db, client, name=f"{name} Applicant")
        with tenant.provider_scope(provider.id, db):
            pending = bids.place(db, factories.SYSTEM, provider.id, listed.listing_id, bid_input(), NOW)
        ids["listing_id"] = listed.listing_id
        ids["open_application_id"] = listed.application_id
        ids["pending_bid_id"] = pending.id
        ids["loan_application_id"] = opened.application_id
        with tenant.provider_scope(provider.id, db):
            from caas.market import criteria

            ids["criteria_id"] = criteria.list_for(db, provider.id)[0].id

        # Billing: usage last month, a price override, a quota override and warning, an issued invoice.
        _billing(db, client)
        ids["invoice_id"] = _issued_invoice(db, client)
        db.commit()
    return world


def accept_and_pay_out(db, application_id: uuid.UUID, bid_id: uuid.UUID, typed_name: str,
                       borrower_id: uuid.UUID):
    """The borrower accepts the bid and the payout runs through the sandbox (under the tenant's
    scope; committed). Returns (loan, payout)."""
    loan = acceptance.accept(db, factories.SYSTEM, application_id=application_id, bid_id=bid_id, typed_name=typed_name,
                             consent=True, agreement_sha256=None, channel="portal", ip_address=None, now=NOW,
                             borrower_id=borrower_id)
    db.commit()
    payout = payouts.for_loan(db, loan.id)
    payouts.process(db, payout.id, service.router(), NOW)
    db.commit()
    return loan, payout


def _latest_notification(db, user_id: uuid.UUID) -> uuid.UUID:
    from sqlalchemy import select

    from caas.credit.models import Notification

    return db.scalar(select(Notification.id).where(Notification.user_id == user_id)
                     .order_by(Notification.created_at.desc()).limit(1))


def _identity_check(db, user_id: uuid.UUID) -> None:
    from caas.credit import identity
    from caas.credit.identity import records
    from caas.credit.identity.sandbox import SandboxVerifier

    records.verify_profile(db, profiles.get(db, user_id), SandboxVerifier(), identity.fingerprint_key())


def _referred(db, client: Client, borrower_id: uuid.UUID) -> uuid.UUID:
    from caas.credit import consents

    with tenant.tenant_scope(client.id, db):
        if profiles.get(db, borrower_id) is None:
            profiles.save(db, db.get(User, borrower_id), client, profile_input(), date(2026, 11, 1))
            consents.grant(db, borrower_id, client.id, ["data_processing", "credit_check"], "127.0.0.1")
        application = applications.Application(id=uuid.uuid4(), client_id=client.id, borrower_id=borrower_id,
                                               status=S.draft, channel="portal")
        db.add(application)
        db.flush()
        applications.set_terms(db, application, Terms(300_000_00, "NGN", 12, "business expansion"), NOW.date())
        applications.confirm_income(db, application, True)
        applications.submit(db, application)
        applications.transition(db, application, S.screening)
        applications.transition(db, application, S.referred)
        db.flush()
        return application.id


def _billing(db, client: Client) -> None:
    from caas.billing import prices, quotas
    from caas.billing.models import QuotaWarning
    from caas.billing.usage import UsageInput, record_many

    with tenant.tenant_scope(client.id, db):
        record_many(db, [UsageInput(client.id, "application_processed", f"iso-{client.id}", 3, None, None,
                                    datetime(2026, 10, 5, 12, tzinfo=timezone.utc))])
        prices.set_client_price(db, factories.SYSTEM, client, metric="application_processed",
                                effective_from=date(2026, 12, 1), unit_price="90.00")
        quotas.grant_override(db, factories.SYSTEM, client, reason="launch week")
        db.execute(insert(QuotaWarning).values(id=uuid.uuid4(), client_id=client.id, quota="applications",
                                               period="2026-11", level=90, used=9, limit=10))
        db.commit()


def _issued_invoice(db, client: Client) -> uuid.UUID:
    from sqlalchemy import select

    from caas.billing import invoices, run
    from caas.billing.models import Invoice

    run.execute(db, "2026-10", client_slug=client.slug)
    with tenant.tenant_scope(client.id, db):
        invoice_id = db.scalar(select(Invoice.id).where(Invoice.client_id == client.id))
        invoices.issue(db, factories.SYSTEM, invoice_id)
        db.commit()
    return invoice_id


def build_pair(db) -> tuple[TenantWorld, TenantWorld]:
    a = build_tenant(db, "A", "Aardvark")
    b = build_tenant(db, "B", "Zanzibar")
    service.use(None)
    tenant.reset()
    return a, b
