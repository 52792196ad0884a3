"""Demo data for the run command. Idempotent: each row is looked up before it is created."""
from __future__ import annotations

from sqlalchemy import select, text

from caas.audit.operations import Actor
from caas.core import clock, tenant
from caas.core.extensions import db
from caas.tenancy import operations, two_factor
from caas.tenancy.models import Provider, Role, User

PASSWORD = "demo-password-2026"
# The demo admins' two-factor secret (admins must have two-factor): add it to an authenticator app,
# or print the current code with `flask demo code`. The run command prints it too.
TOTP_SECRET = "CAASDEMOTOTPSECRETLOCALDEVONLY22"
LOGINS = [
    ("platform admin", "admin@caas.example.com", "/login"),
    ("client admin", "admin@demolend.example.com", "/login"),
    ("provider user", "lender@acmecapital.example.com", "/login"),
    ("second provider user", "lender@baobab.example.com", "/login"),
    ("borrower", "ada@borrower.example.com", "/c/demo/login"),
    ("borrower with an application in the marketplace", "bola@borrower.example.com", "/c/demo/login"),
]
LENDERS = [  # (legal name, licence, user e-mail, user name, funding in NGN minor units)
    ("Acme Capital", "CBN-MFB-0042", "lender@acmecapital.example.com", "Lola Lender", 50_000_000_00),
    ("Baobab Finance", "CBN-FC-0107", "lender@baobab.example.com", "Femi Funder", 20_000_000_00),
]


def _staff_exists(email: str) -> bool:
    return db.session.execute(text("SELECT 1 FROM caas_staff_login(:e)"), {"e": email}).first() is not None


def load() -> int:
    """Create what is missing; returns how many rows were created (0 on a second run)."""
    session = db.session
    actor = Actor.system("demo")
    created = 0
    if not _staff_exists("admin@caas.example.com"):
        admin = operations.create_user(session, role=Role.platform_admin, email="admin@caas.example.com",
                                       full_name="Pat Platform", password=PASSWORD)
        two_factor.enable_with_secret(session, actor, admin, TOTP_SECRET, clock.now())
        created += 1
    client = operations.get_client_by_slug(session, "demo")
    if client is None:
        client = operations.create_client(session, actor, slug="demo", legal_name="Demo Lend Ltd",
                                          display_name="Demo Lend", country="NG", currency="NGN",
                                          brand_colour="#6f42c1")
        created += 1
    with tenant.tenant_scope(client.id, session):
        if not _staff_exists("admin@demolend.example.com"):
            admin = operations.create_user(session, role=Role.client_admin, email="admin@demolend.example.com",
                                           full_name="Chidi Client", password=PASSWORD, client_id=client.id)
            two_factor.enable_with_secret(session, actor, admin, TOTP_SECRET, clock.now())
            created += 1
        borrower = session.scalar(select(User).where(User.email == "ada@borrower.example.com"))
        if borrower is None:
            operations.register_borrower(session, client, email="ada@borrower.example.com", full_name="Ada Borrower",
                                         password=PASSWORD)
            created += 1
    providers = []
    for legal_name, licence, email, name, funding in LENDERS:
        provider = session.scalar(select(Provider).where(Provider.legal_name == legal_name))
        if provider is None:
            provider = operations.create_provider(session, actor, legal_name=legal_name, licence_number=licence,
                                                  country="NG", currencies=["NGN"])
            created += 1
        if not _staff_exists(email):
            operations.create_user(session, role=Role.provider_user, email=email, full_name=name, password=PASSWORD,
                                   provider_id=provider.id)
            created += 1
        providers.append((provider, funding))
    with tenant.tenant_scope(client.id, session):
        in_network = {row.provider_id for row in operations.network(session)}
        if any(p.id not in in_network for p, _ in providers):
            operations.set_provider_network(session, actor, client.id, sorted(in_network | {p.id for p, _ in providers}))
            created += 1
    created += _market_data(session, actor, client, providers)
    created += _scoring_data(session, actor)
    session.commit()
    created += _billing_data(session, client)
    return created


DEMO_USAGE = {"application_processed": 13, "risk_assessment": 13, "api_call": 2_500}  # last month


def _billing_data(session, client) -> int:
    """Last month's usage of Demo Lend and its draft invoice (13 x 100.00 + 13 x 50.00 = NGN 1,950.00),
    for the platform admin to issue. Idempotent: usage by key, the run by period."""
    from datetime import timezone

    from caas.billing import run, usage
    from caas.billing.usage import UsageInput

    last = run.previous_period()
    at = last.starts_at.replace(day=10, hour=9, tzinfo=timezone.utc)
    with tenant.tenant_scope(client.id, session):
        new = usage.record_many(session, [UsageInput(client.id, metric, f"demo:{last}:{metric}", quantity, occurred_at=at)
                                          for metric, quantity in DEMO_USAGE.items()])
    session.commit()
    made = run.execute(session, last, client_slug=client.slug, triggered_by="demo-data")
    return new + made.invoices_created


def _usable_model(session) -> bool:
    """An active model this code can load (an older format is replaced by a fresh one)."""
    from caas.credit import scoring
    from caas.credit.scorecard.model import ModelError, Scorecard

    model = scoring.active_model(session)
    if model is None:
        return False
    try:
        Scorecard.from_dict(model.artifact)
    except ModelError:
        return False
    return True


def _market_data(session, actor, client, providers) -> int:
    """Each lender funded in NGN and given one criteria set; a second borrower with a profile and a
    submitted application (the worker scores it, and if approved it opens for offers)."""
    from datetime import date, datetime, timezone

    from caas.credit import applications, consents, profiles
    from caas.credit.applications import Terms
    from caas.ledger import operations as ledger
    from caas.market import criteria

    created = 0
    for provider, funding in providers:
        ledger.fund_provider(session, actor, provider.id, funding, "NGN", "DEMO-FUNDING-1")  # idempotent per reference
        with tenant.provider_scope(provider.id, session):
            if not criteria.list_for(session, provider.id):
                criteria.save(session, actor, provider.id, criteria.CriteriaInput(
                    name="Nigerian SMEs and salaried", currencies=["NGN"], min_amount_minor=20_000_00,
                    max_amount_minor=5_000_000_00, min_term_months=3, max_term_months=24, worst_grade="D"))
                created += 1
    with tenant.tenant_scope(client.id, session):
        bola = session.scalar(select(User).where(User.email == "bola@borrower.example.com"))
        if bola is None:
            bola = operations.register_borrower(session, client, email="bola@borrower.example.com",
                                                full_name="Bola Adebayo", password=PASSWORD)
            bola.email_verified_at = datetime.now(timezone.utc)
            profiles.save(session, bola, client, profiles.ProfileInput(
                legal_name="Bola Adebayo", date_of_birth="1986-03-14", phone="+2348035550101",
                address="4 Awolowo Road, Ikoyi, Lagos", national_id="22198765432", employment_status="employed",
                employer="Lagos State Teaching Service", months_employed=120, monthly_net_income="650000.00",
                monthly_expenses="180000.00", existing_debt_payments="0", housing="own"), date.today())
            consents.grant(session, bola.id, client.id, ["data_processing", "credit_check"], "127.0.0.1")
            from caas.payments import payouts

            payouts.save_bank_account(session, bola.id, client.id,
                                      payouts.BankDetails("NGN", "058", "0123456781", "Bola Adebayo"))
            application = applications.start(session, bola.id, client.id)
            applications.set_terms(session, application, Terms(300_000_00, "NGN", 12, "business expansion"),
                                   date.today())
            applications.confirm_income(session, application, True)
            applications.submit(session, application)
            session.flush()  # the outbox rows belong to the tenant: write them while it is in scope
            created += 1
    return created


def _scoring_data(session, actor) -> int:
    """The OFAC list and a trained scorecard from ../shared/reference, when it is there."""
    from pathlib import Path

    from caas.credit import scoring_models
    from caas.screening import lists

    reference = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
    created = 0
    if lists.active_list(session) is None and (reference / "ofac" / "sdn.csv").exists():
        lists.import_list(session, actor, (reference / "ofac" / "sdn.csv").read_text(encoding="latin-1"),
                          (reference / "ofac" / "alt.csv").read_text(encoding="latin-1"))
        created += 1
    if not _usable_model(session) and (reference / "german_train.data").exists():
        scoring_models.register(session, actor, scoring_models.train_from_file(reference / "german_train.data"))
        created += 1
    return created
