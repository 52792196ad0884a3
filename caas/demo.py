"""Demo data for the run command. Idempotent: each row is looked up before it is created."""
from __future__ import annotations

from sqlalchemy import select, text

from caas.audit.operations import Actor
from caas.core import tenant
from caas.core.extensions import db
from caas.tenancy import operations
from caas.tenancy.models import Provider, Role, User

PASSWORD = "demo-password-2026"
LOGINS = [
    ("platform admin", "admin@caas.example.com", "/login"),
    ("client admin", "admin@demolend.example.com", "/login"),
    ("provider user", "lender@acmecapital.example.com", "/login"),
    ("borrower", "ada@borrower.example.com", "/c/demo/login"),
]


def _staff_exists(email: str) -> bool:
    return db.session.execute(text("SELECT 1 FROM caas_staff_login(:e)"), {"e": email}).first() is not None


def load() -> int:
    """Create what is missing; returns how many rows were created (0 on a second run)."""
    session = db.session
    actor = Actor.system("demo")
    created = 0
    if not _staff_exists("admin@caas.example.com"):
        operations.create_user(session, role=Role.platform_admin, email="admin@caas.example.com",
                               full_name="Pat Platform", password=PASSWORD)
        created += 1
    client = operations.get_client_by_slug(session, "demo")
    if client is None:
        client = operations.create_client(session, actor, slug="demo", legal_name="Demo Lend Ltd",
                                          display_name="Demo Lend", country="NG", currency="NGN",
                                          brand_colour="#6f42c1")
        created += 1
    with tenant.tenant_scope(client.id, session):
        if not _staff_exists("admin@demolend.example.com"):
            operations.create_user(session, role=Role.client_admin, email="admin@demolend.example.com",
                                   full_name="Chidi Client", password=PASSWORD, client_id=client.id)
            created += 1
        borrower = session.scalar(select(User).where(User.email == "ada@borrower.example.com"))
        if borrower is None:
            operations.register_borrower(session, client, email="ada@borrower.example.com", full_name="Ada Borrower",
                                         password=PASSWORD)
            created += 1
    provider = session.scalar(select(Provider).where(Provider.legal_name == "Acme Capital"))
    if provider is None:
        provider = operations.create_provider(session, actor, legal_name="Acme Capital",
                                              licence_number="CBN-MFB-0042", country="NG", currencies=["NGN"])
        created += 1
    with tenant.tenant_scope(client.id, session):
        if provider.id not in {row.provider_id for row in operations.network(session)}:
            operations.set_provider_network(session, actor, client.id, [provider.id])
            created += 1
    if not _staff_exists("lender@acmecapital.example.com"):
        operations.create_user(session, role=Role.provider_user, email="lender@acmecapital.example.com",
                               full_name="Lola Lender", password=PASSWORD, provider_id=provider.id)
        created += 1
    created += _scoring_data(session, actor)
    session.commit()
    return created


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
