"""After the scorecard: referrals decided by a person, retries of failed scoring, and the lists
the admin pages show."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core.errors import DomainError
from caas.credit import applications
from caas.credit.models import Application, ApplicationStatus as S, CreditDecision, ReferralReview
from caas.events import outbox

OUTCOME_EVENTS = {S.approved: "credit.application.approved", S.declined: "credit.application.declined"}


def review_referral(session: Session, actor: Actor, application_id: uuid.UUID, outcome: str, note: str) -> Application:
    """A person approves or declines a referred application (tenant in scope). Audited; emits the
    approved/declined event in the same transaction."""
    if outcome not in ("approve", "decline"):
        raise DomainError("invalid_outcome", "Choose approve or decline.", "outcome")
    if len(note.strip()) < 3:
        raise DomainError("note_required", "Write a note that explains the decision.", "note")
    application = applications.get(session, application_id)
    if application.status != S.referred:
        raise DomainError("not_referred", "Only a referred application can be reviewed.")
    wanted = S.approved if outcome == "approve" else S.declined
    session.add(ReferralReview(id=uuid.uuid4(), client_id=application.client_id, application_id=application.id,
                               reviewer_id=actor.user_id, outcome=outcome, note=note.strip()))
    applications.transition(session, application, wanted, f"{outcome}d after review: {note.strip()}")
    if wanted == S.declined:
        application.decision_reasons = [{"code": "REVIEW_DECLINED", "text": note.strip()}]
    record(session, actor, f"referral.{outcome}", client_id=application.client_id, target_type="application",
           target_id=application.id, before={"status": "referred"}, after={"status": wanted.value, "note": note.strip()})
    outbox.record_event(session, application.client_id, OUTCOME_EVENTS[wanted], applications.serialise(application))
    if wanted == S.approved:
        from caas.market import listings

        listings.open_for_offers(session, application, latest_decision(session, application.id),
                                 datetime.now(timezone.utc))
    return application


def retry_scoring(session: Session, actor: Actor, application_id: uuid.UUID) -> Application:
    """Send a scoring_failed application back to screening and queue the job again. Audited."""
    application = applications.get(session, application_id)
    if application.status != S.scoring_failed:
        raise DomainError("not_failed", "Only an application whose scoring failed can be retried.")
    applications.transition(session, application, S.screening, "scoring retried by an admin")
    attempt = uuid.uuid4().hex[:8]
    outbox.enqueue_job(session, "caas.credit.jobs.score_application", queue="scoring", args=[str(application.id)],
                       job_id=f"score-{application.id}-retry-{attempt}", client_id=application.client_id, timeout=120)
    record(session, actor, "scoring.retry", client_id=application.client_id, target_type="application",
           target_id=application.id)
    return application


def in_status(session: Session, status: S, limit: int = 100) -> list[Application]:
    return list(session.scalars(select(Application).where(Application.status == status)
                                .order_by(Application.updated_at).limit(limit)))


def latest_decision(session: Session, application_id: uuid.UUID) -> CreditDecision | None:
    return session.scalar(select(CreditDecision).where(CreditDecision.application_id == application_id)
                          .order_by(CreditDecision.decided_at.desc()).limit(1))
