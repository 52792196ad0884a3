"""Jobs of the credit area. Each takes ids, reloads state, and is safe to run twice."""
from __future__ import annotations

import uuid

from caas.core.extensions import db
from caas.credit import applications
from caas.credit.models import Application, ApplicationStatus as S


def score_application(application_id: str) -> str:
    """Move a submitted application into screening. The screening-and-scoring issue adds the
    checks and the decision here; a second run finds it past `submitted` and does nothing."""
    application = db.session.get(Application, uuid.UUID(application_id))
    if application is None:
        return "missing"
    if application.status != S.submitted:
        return application.status.value
    applications.transition(db.session, application, S.screening, "screening started")
    db.session.commit()
    return application.status.value
