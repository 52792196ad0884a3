"""Jobs of the credit area. Each takes ids, reloads state, and is safe to run twice."""
from __future__ import annotations

import logging
import uuid

from rq import get_current_job

from caas.core.extensions import db
from caas.credit import applications, scoring
from caas.credit.models import Application, ApplicationStatus as S

log = logging.getLogger(__name__)


def score_application(application_id: str) -> str:
    """Screen and score one application (see caas.credit.scoring). RQ retries it with backoff;
    after the last failure the application becomes `scoring_failed`, which admins can retry."""
    application = db.session.get(Application, uuid.UUID(application_id))
    if application is not None and application.status == S.submitted:
        # Committed on its own, so the borrower sees screening while the checks run and retry.
        applications.transition(db.session, application, S.screening, "screening started")
        db.session.commit()
    try:
        status = scoring.score(db.session, uuid.UUID(application_id))
        db.session.commit()
        return status
    except Exception:
        db.session.rollback()
        job = get_current_job()
        if job is None or not job.retries_left:
            _mark_failed(uuid.UUID(application_id))
        raise


def _mark_failed(application_id: uuid.UUID) -> None:
    try:
        application = db.session.get(Application, application_id)
        if application is not None and application.status in (S.submitted, S.screening):
            if application.status == S.submitted:
                applications.transition(db.session, application, S.screening, "screening started")
            applications.transition(db.session, application, S.scoring_failed, "scoring failed after its retries")
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not mark scoring_failed", extra={"application_id": str(application_id)})
