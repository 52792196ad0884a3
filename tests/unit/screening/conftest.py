"""Reference data for the screening tests, read from ../shared/reference (never copied here).

Set CAAS_REFERENCE_DIR to read it from elsewhere. A missing file is an error, not a skip: these
tests must not pass vacuously.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from caas.screening.matcher import SanctionsIndex
from caas.screening.sdn import SdnEntry, load_sdn


def reference_dir() -> Path:
    override = os.environ.get("CAAS_REFERENCE_DIR")
    if override:
        return Path(override)
    # tests/unit/screening/conftest.py -> repository root -> ../shared/reference
    return (Path(__file__).resolve().parents[3] / ".." / "shared" / "reference").resolve()


def reference_file(*parts: str) -> Path:
    path = reference_dir().joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"reference file {path} not found; set CAAS_REFERENCE_DIR to the shared reference directory")
    return path


@pytest.fixture(scope="session")
def reference():
    """``reference("ofac", "sdn.csv")`` -> the path of a reference file, checked to exist."""
    return reference_file


@pytest.fixture(scope="session")
def ofac_rows() -> list[dict[str, str]]:
    with reference_file("sanctions", "ofac_search_scores.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def sdn_entries() -> list[SdnEntry]:
    return load_sdn(reference_file("ofac", "sdn.csv"), reference_file("ofac", "alt.csv"))


@pytest.fixture(scope="session")
def sdn_index(sdn_entries: list[SdnEntry]) -> SanctionsIndex:
    return SanctionsIndex(sdn_entries)
