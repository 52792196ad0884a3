"""Reference data for the scorecard tests: german_train.data from ../shared/reference (never copied
here; CAAS_REFERENCE_DIR overrides). A missing file is an error, not a skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from caas.credit.scorecard.features import read_german
from caas.credit.scorecard.model import Scorecard, train


def reference_dir() -> Path:
    override = os.environ.get("CAAS_REFERENCE_DIR")
    if override:
        return Path(override)
    # tests/unit/credit/conftest.py -> repository root -> ../shared/reference
    return (Path(__file__).resolve().parents[3] / ".." / "shared" / "reference").resolve()


@pytest.fixture(scope="session")
def german_path() -> Path:
    path = reference_dir() / "german_train.data"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; set CAAS_REFERENCE_DIR to the shared reference directory")
    return path


@pytest.fixture(scope="session")
def german(german_path):
    return read_german(german_path)


@pytest.fixture(scope="session")
def model(german) -> Scorecard:
    rows, labels = german
    return train(rows, labels, cross_validation=False)
