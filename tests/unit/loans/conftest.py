"""Reference data for the loan-maths tests, read from ../shared/reference (never copied here).

Each reference row becomes its own test id through ``pytest_generate_tests``:
a test that takes ``schedule_period``, ``schedule_case``, ``apr_case`` or
``tvm_case`` runs once per row (or case). A missing reference directory is a
collection error, not a skip: these tests must not pass vacuously.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest


def reference_dir() -> Path:
    override = os.environ.get("CAAS_REFERENCE_DIR")
    if override:
        return Path(override)
    # tests/unit/loans/conftest.py -> repository root -> ../shared/reference
    return (Path(__file__).resolve().parents[3] / ".." / "shared" / "reference").resolve()


def read_reference(name: str) -> list[dict[str, str]]:
    path = reference_dir() / name
    if not path.is_file():
        raise FileNotFoundError(
            f"reference file {path} not found; set CAAS_REFERENCE_DIR to the shared reference directory"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _schedule_cases() -> dict[str, list[dict[str, str]]]:
    cases: dict[str, list[dict[str, str]]] = {}
    for row in read_reference("schedules.csv"):
        cases.setdefault(row["case_id"], []).append(row)
    return cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if "schedule_period" in names:
        rows = [row for case in _schedule_cases().values() for row in case]
        metafunc.parametrize(
            "schedule_period", rows, ids=[f"{r['case_id']}-p{r['period']}" for r in rows]
        )
    if "schedule_case" in names:
        cases = _schedule_cases()
        metafunc.parametrize("schedule_case", list(cases.values()), ids=list(cases))
    if "apr_case" in names:
        rows = read_reference("apr_cases.csv")
        metafunc.parametrize("apr_case", rows, ids=[r["case_id"] for r in rows])
    if "tvm_case" in names:
        rows = read_reference("tvm_function_cases.csv")
        ids = [f"{r['function']}-{i:02d}" for i, r in enumerate(rows, start=1)]
        metafunc.parametrize("tvm_case", rows, ids=ids)
