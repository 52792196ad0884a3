"""Training and activating scoring models (platform data, audited)."""
from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.credit import woe_scorecard
from caas.credit.models import ScoringModel


def train_from_file(path: str | Path) -> dict:
    """Train on a german.data-format file; the artifact carries its cross-validated metrics."""
    rows, bad = woe_scorecard.read_german(path)
    artifact = woe_scorecard.train(rows, bad)
    card = woe_scorecard.Scorecard(artifact)
    predictions = [card.predict(row) for row in rows]
    calibration = {}
    for grade in "ABCDE":
        members = [(float(p.pd), b) for p, b in zip(predictions, bad) if p.grade == grade]
        if members:
            calibration[grade] = {"n": len(members), "mean_pd": round(sum(p for p, _ in members) / len(members), 4),
                                  "bad_rate": round(sum(b for _, b in members) / len(members), 4)}
    artifact["metrics"] = {**woe_scorecard.cross_validate(rows, bad), "rows": len(rows),
                           "bad_rate": round(sum(bad) / len(bad), 4), "calibration": calibration}
    return artifact


def register(session: Session, actor: Actor, artifact: dict, *, activate: bool = True) -> ScoringModel:
    """Store the model by its content hash (a second registration of the same model is a no-op)
    and make it the active one."""
    version = woe_scorecard.version_of(artifact)
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
