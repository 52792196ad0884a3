"""Consents: what the borrower agreed to, which text version, when and from where; withdrawable."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.core.errors import DomainError
from caas.credit.models import Consent

TEXTS = {
    "data_processing": ("2026-11", "I agree that {client} and CaaS process my personal data to assess and "
                                    "service my credit application, as described in the privacy notice."),
    "credit_check": ("2026-11", "I authorise {client} and the lenders on CaaS to check my credit history with "
                                "credit bureaux for this application."),
}
REQUIRED = tuple(TEXTS)


def active(session: Session, user_id: uuid.UUID) -> dict[str, Consent]:
    rows = session.scalars(select(Consent).where(Consent.user_id == user_id, Consent.withdrawn_at.is_(None))
                           .order_by(Consent.granted_at))
    return {row.kind: row for row in rows}


def grant(session: Session, user_id: uuid.UUID, client_id: uuid.UUID, kinds: list[str], ip: str | None) -> list[Consent]:
    unknown = set(kinds) - set(TEXTS)
    if unknown:
        raise DomainError("invalid_consent", f"Unknown consent: {', '.join(sorted(unknown))}.", "consents")
    current = active(session, user_id)
    made = []
    for kind in kinds:
        if kind in current:
            continue
        consent = Consent(id=uuid.uuid4(), client_id=client_id, user_id=user_id, kind=kind,
                          text_version=TEXTS[kind][0], ip_address=ip)
        session.add(consent)
        made.append(consent)
    session.flush()
    return made


def withdraw(session: Session, user_id: uuid.UUID, kind: str) -> None:
    consent = active(session, user_id).get(kind)
    if consent is None:
        raise DomainError("not_granted", "That consent is not currently given.", "kind")
    consent.withdrawn_at = datetime.now(timezone.utc)
    session.flush()


def missing(session: Session, user_id: uuid.UUID) -> list[str]:
    have = active(session, user_id)
    return [kind for kind in REQUIRED if kind not in have]
