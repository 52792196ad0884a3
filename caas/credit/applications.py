"""Applications: draft, terms within the client's policy, submission to scoring, withdrawal.

Both the portal and the API end here, with the same validation and the same events.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.core import tenant
from caas.core.errors import DomainError, NotFound
from caas.billing import quotas, usage
from caas.credit import consents, profiles, states
from caas.credit.models import Application, ApplicationEvent, ApplicationStatus as S
from caas.credit.quotes import indicative
from caas.events import outbox
from caas.money import CURRENCY_EXPONENTS, from_minor
from caas.tenancy.models import Client, CreditPolicy

PURPOSES = ("business expansion", "working capital", "education", "medical", "home improvement", "vehicle",
            "debt consolidation", "personal")


@dataclass
class Terms:
    amount_minor: int
    currency: str
    term_months: int
    purpose: str


def policy_for(session: Session, client_id: uuid.UUID) -> CreditPolicy:
    policy = session.get(CreditPolicy, client_id)
    if policy is None:
        raise DomainError("no_policy", "This lender has not set a credit policy yet.")
    return policy


def check_terms(policy: CreditPolicy, terms: Terms) -> dict[str, str]:
    """Every way the terms break the client's policy, by field (empty when they fit)."""
    errors: dict[str, str] = {}
    if terms.currency not in policy.currencies:
        errors["currency"] = f"Choose one of: {', '.join(policy.currencies)}."
    low, high = policy.min_amount_minor, policy.max_amount_minor
    currency = terms.currency if terms.currency in CURRENCY_EXPONENTS else policy.currencies[0]
    if not low <= terms.amount_minor <= high:
        errors["amount"] = (f"Choose an amount from {from_minor(low, currency):,} to {from_minor(high, currency):,} "
                            f"{currency}.")
    if terms.term_months not in policy.allowed_terms:
        errors["term_months"] = f"Choose a term of {', '.join(str(t) for t in policy.allowed_terms)} months."
    if terms.purpose not in PURPOSES:
        errors["purpose"] = "Choose a purpose from the list."
    return errors


def _raise_fields(errors: dict[str, str], code: str = "invalid_application") -> None:
    if errors:
        first = next(iter(errors))
        error = DomainError(code, errors[first], first)
        error.fields = errors  # type: ignore[attr-defined]
        raise error


def transition(session: Session, application: Application, wanted: S, note: str | None = None) -> None:
    """Move to ``wanted`` if the lifecycle allows it, and write the timeline row."""
    states.check(application.status, wanted)
    event = ApplicationEvent(id=uuid.uuid4(), client_id=application.client_id, application_id=application.id,
                             from_status=application.status.value, to_status=wanted.value, note=note)
    application.status = wanted
    session.add(event)
    session.flush()
    from caas.credit.notifications import notify  # the borrower hears of every step

    notify(session, application.client_id, application.borrower_id,
           f"Your application is now {wanted.value.replace('_', ' ')}.", link=f"/applications/{application.id}")


def get(session: Session, application_id: uuid.UUID, *, borrower_id: uuid.UUID | None = None) -> Application:
    """An application of the tenant in scope; a borrower sees only their own (others answer 404)."""
    application = tenant.get_visible(session, Application, application_id)
    if application is None or (borrower_id is not None and application.borrower_id != borrower_id):
        raise NotFound("application")
    return application


def open_draft(session: Session, borrower_id: uuid.UUID) -> Application | None:
    return session.scalar(select(Application).where(Application.borrower_id == borrower_id,
                                                    Application.status == S.draft))


def start(session: Session, borrower_id: uuid.UUID, client_id: uuid.UUID, channel: str = "portal") -> Application:
    """The borrower's open draft, or a new one."""
    draft = open_draft(session, borrower_id)
    if draft:
        return draft
    application = Application(id=uuid.uuid4(), client_id=client_id, borrower_id=borrower_id, status=S.draft,
                              channel=channel)
    session.add(application)
    session.flush()
    return application


def set_terms(session: Session, application: Application, terms: Terms, today: date) -> Application:
    """Amount, term and purpose within the client's policy, with the indicative payment and APR."""
    if application.status != S.draft:
        raise DomainError("not_editable", "Only a draft can be changed.")
    policy = policy_for(session, application.client_id)
    _raise_fields(check_terms(policy, terms))
    quote = indicative(terms.amount_minor, terms.currency, terms.term_months, policy.reference_annual_rate, today)
    application.amount_minor = terms.amount_minor
    application.currency = terms.currency
    application.term_months = terms.term_months
    application.purpose = terms.purpose
    application.indicative_instalment_minor = quote.instalment_minor
    application.indicative_apr = quote.apr_percent
    session.flush()
    return application


def confirm_income(session: Session, application: Application, confirmed: bool) -> None:
    if application.status != S.draft:
        raise DomainError("not_editable", "Only a draft can be changed.")
    if not confirmed:
        raise DomainError("confirmation_required", "Confirm that your income and expenses are correct.",
                          "income_confirmed")
    application.income_confirmed = True
    session.flush()


def submit(session: Session, application: Application, *, usage_key: str | None = None) -> Application:
    """Submit a complete draft: checks profile, consents and terms, then (in this transaction)
    emits ``credit.application.submitted``, queues the scoring job and records the usage event."""
    errors: dict[str, str] = {}
    if profiles.get(session, application.borrower_id) is None:
        errors["profile"] = "Complete your profile first."
    if consents.missing(session, application.borrower_id):
        errors["consents"] = "Give the data-processing and credit-check consents first."
    if application.amount_minor is None:
        errors["amount"] = "Choose the amount, term and purpose."
    elif not application.income_confirmed:
        errors["income_confirmed"] = "Confirm that your income and expenses are correct."
    _raise_fields(errors, "incomplete_application")
    quotas.admit_application(session, session.get(Client, application.client_id))
    transition(session, application, S.submitted)
    application.submitted_at = datetime.now(timezone.utc)
    session.flush()
    outbox.record_event(session, application.client_id, "credit.application.submitted", serialise(application))
    outbox.enqueue_job(session, "caas.credit.jobs.score_application", queue="scoring", args=[str(application.id)],
                       job_id=f"score-{application.id}", client_id=application.client_id, timeout=120)
    usage.record(session, application.client_id, "application_processed",
                 usage_key or f"application_processed:{application.id}")
    return application


def withdraw(session: Session, application: Application, note: str | None = None) -> Application:
    listing = None
    if application.status == S.open_for_offers:
        from caas.market import listings  # the marketplace's lock order: the listing, then the application

        listing = listings.lock_for_application(session, application.id)
        session.scalar(select(Application).where(Application.id == application.id)
                       .with_for_update(of=Application).execution_options(populate_existing=True))
    if application.status not in states.WITHDRAWABLE:
        raise DomainError("not_withdrawable", f"An application that is {application.status.value.replace('_', ' ')} "
                          "can no longer be withdrawn.")
    transition(session, application, S.withdrawn, note or "withdrawn by the borrower")
    if listing is not None:
        from caas.market import listings

        listings.on_application_withdrawn(session, application, datetime.now(timezone.utc))
    outbox.record_event(session, application.client_id, "credit.application.withdrawn", serialise(application))
    return application


def list_for_borrower(session: Session, borrower_id: uuid.UUID) -> list[Application]:
    return list(session.scalars(select(Application).where(Application.borrower_id == borrower_id)
                                .order_by(Application.created_at.desc())))


def list_page(session: Session, *, status: str | None = None, created_after: datetime | None = None,
              cursor: tuple[datetime, uuid.UUID] | None = None, limit: int = 25) -> tuple[list[Application], bool]:
    """Newest first, keyset-paginated on (created_at, id); the tenant in scope only."""
    query = select(Application).order_by(Application.created_at.desc(), Application.id.desc()).limit(limit + 1)
    if status:
        query = query.where(Application.status == S(status))
    if created_after:
        query = query.where(Application.created_at > created_after)
    if cursor:
        query = query.where((Application.created_at < cursor[0])
                            | ((Application.created_at == cursor[0]) & (Application.id < cursor[1])))
    rows = list(session.scalars(query))
    return rows[:limit], len(rows) > limit


def counts_by_status(session: Session) -> dict[str, int]:
    from sqlalchemy import func

    rows = session.execute(select(Application.status, func.count()).group_by(Application.status)).all()
    return {status.value: n for status, n in rows}


def serialise(application: Application) -> dict:
    """The application as the API returns it (and as webhooks carry it)."""
    currency = application.currency
    money = (lambda minor: str(from_minor(minor, currency)) if minor is not None and currency else None)
    return {
        "id": str(application.id),
        "object": "application",
        "status": application.status.value,
        "borrower_id": str(application.borrower_id),
        "amount": money(application.amount_minor),
        "amount_minor": application.amount_minor,
        "currency": currency,
        "term_months": application.term_months,
        "purpose": application.purpose,
        "indicative_monthly_payment": money(application.indicative_instalment_minor),
        "indicative_apr": f"{application.indicative_apr:.2f}" if application.indicative_apr is not None else None,
        "channel": application.channel,
        "submitted_at": application.submitted_at.isoformat() if application.submitted_at else None,
        "created_at": application.created_at.isoformat() if application.created_at else None,
        # webhooks carry the object as it was; clients drop events older than what they hold
        "updated_at": application.updated_at.isoformat() if application.updated_at else None,
        "decision_reasons": application.decision_reasons or [],
    }


def amount_to_minor(text: str | Decimal, currency: str, field: str = "amount") -> int:
    from caas.money import to_minor

    try:
        value = Decimal(str(text).strip())
        if value <= 0:
            raise ValueError
        return to_minor(value, currency)
    except Exception:
        raise DomainError("invalid_amount", "Enter a positive amount, e.g. 50000.", field) from None
