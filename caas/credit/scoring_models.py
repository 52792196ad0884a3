"""Training and activating scoring models (platform data, audited). The model itself is
caas.credit.scorecard; here it is stored in the database by its content version, so every
worker scores with the same one."""
from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.credit.models import ScoringModel
from caas.credit.scorecard import model as scorecard
from caas.credit.scorecard.features import read_german


def train_from_file(path: str | Path, *, cross_validation: bool = True) -> dict:
    """Train on a german.data-format file; the artifact carries its metrics and its version."""
    rows, labels = read_german(path)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    card = scorecard.train(rows, labels, data_sha256=digest, cross_validation=cross_validation)
    return card.to_dict()


def register(session: Session, actor: Actor, artifact: dict, *, activate: bool = True) -> ScoringModel:
    """Store the model by its content version (registering the same model again is a no-op) and
    make it the active one."""
    version = scorecard.Scorecard.from_dict(artifact).version  # refuses an altered artifact
    model = session.scalar(select(ScoringModel).where(ScoringModel.version == version))
    if model is None:
        model = ScoringModel(id=uuid.uuid4(), version=version, artifact=artifact,
                             metrics=artifact.get("metrics", {}), active=False)
        session.add(model)
        session.flush()
    if activate and not model.active:
        session.execute(update(ScoringModel).where(ScoringModel.active.is_(True)).values(active=False))
        model.active = True
        session.flush()
        record(session, actor, "scoring.model.activate", target_type="scoring_model", target_id=version,
               after={"metrics": model.metrics})
    return model
