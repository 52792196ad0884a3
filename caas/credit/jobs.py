"""Jobs of the credit area. Each takes ids, reloads state, and is safe to run twice."""
from __future__ import annotations

import logging
import uuid

from rq import get_current_job
from sqlalchemy import select

from caas.core.extensions import db
from caas.credit import applications, scoring
from caas.credit.models import Application, ApplicationStatus as S

log = logging.getLogger(__name__)


def score_application(application_id: str) -> str:
    """Screen and score one application (see caas.credit.scoring). RQ retries it with backoff;
    after the last failure the application becomes `scoring_failed`, which admins can retry."""
    # Locked: two deliveries of this job at once must not both start the screening.
    application = db.session.scalar(select(Application).where(Application.id == uuid.UUID(application_id))
                                    .with_for_update(of=Application).execution_options(populate_existing=True))
    if application is not None and application.status == S.submitted:
        # Committed on its own, so the borrower sees screening while the checks run and retry.
        applications.transition(db.session, application, S.screening, "screening started")
        db.session.commit()
    try:
        # The identity check (when the client requires one) is committed on its own, so a failure
        # after it retries without asking the provider again.
        scoring.verify_identity(db.session, uuid.UUID(application_id))
        db.session.commit()
        status = scoring.score(db.session, uuid.UUID(application_id))
        db.session.commit()
        return status
    except Exception as exc:
        db.session.rollback()
        job = get_current_job()
        if job is None or not job.retries_left:
            _mark_failed(uuid.UUID(application_id), _failure_note(exc))
        raise


def _failure_note(exc: Exception) -> str:
    from caas.credit.identity import NotConfigured
    from caas.credit.identity.records import IdentityUnavailable

    if isinstance(exc, (IdentityUnavailable, NotConfigured)):
        return f"scoring failed after its retries: the identity check could not be completed ({exc})"
    return "scoring failed after its retries"


def _mark_failed(application_id: uuid.UUID, note: str = "scoring failed after its retries") -> None:
    try:
        application = db.session.get(Application, application_id)
        if application is not None and application.status in (S.submitted, S.screening):
            if application.status == S.submitted:
                applications.transition(db.session, application, S.screening, "screening started")
            applications.transition(db.session, application, S.scoring_failed, note)
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not mark scoring_failed", extra={"application_id": str(application_id)})
