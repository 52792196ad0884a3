"""Reference data for the loan-maths tests, read from ../shared/reference (never copied here).

Each reference row becomes its own test id through ``pytest_generate_tests``:
a test that takes ``schedule_period``, ``schedule_case``, ``apr_case`` or
``tvm_case`` runs once per row (or case). A missing reference directory is a
collection error, not a skip: these tests must not pass vacuously.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from caas.loans.maths import add_months


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


def expand_payment_stream(text: str) -> list[tuple[date, Decimal]]:
    """Expand "24 x 230.00 monthly from 1978-02-10; 1 x 280.00 on 1980-01-10" into dated payments."""
    payments: list[tuple[date, Decimal]] = []
    for part in (p.strip() for p in text.split(";")):
        single = re.fullmatch(r"1 x ([\d.]+) on (\S+)", part)
        if single:
            payments.append((date.fromisoformat(single[2]), Decimal(single[1])))
            continue
        series = re.fullmatch(
            r"(\d+) x ([\d.]+) (monthly|quarterly|weekly|semimonthly \(1st & 16th\)) from (\S+)", part
        )
        assert series, f"unrecognised payment stream {part!r}"
        count, amount, frequency = int(series[1]), Decimal(series[2]), series[3]
        first = date.fromisoformat(series[4])
        for k in range(count):
            if frequency == "monthly":
                on = add_months(first, k)
            elif frequency == "quarterly":
                on = add_months(first, 3 * k)
            elif frequency == "weekly":
                on = first + timedelta(weeks=k)
            else:  # 1st and 16th of each month, starting on a 1st
                on = add_months(first, k // 2).replace(day=16 if k % 2 else 1)
            payments.append((on, amount))
    return payments


def fineract_day_count(method: str) -> str:
    """Our day-count name for Fineract's "daysInYear=..., daysInMonth=..." description."""
    year = re.search(r"daysInYear=(\w+)", method)[1]
    month = re.search(r"daysInMonth=(\w+)", method)[1]
    names = {("ACTUAL", "ACTUAL"): "actual/actual", ("360", "30"): "30/360", ("365", "ACTUAL"): "actual/365"}
    return names[(year, month)]


@pytest.fixture
def payment_stream() -> Callable[[str], list[tuple[date, Decimal]]]:
    return expand_payment_stream


@pytest.fixture
def day_count_of() -> Callable[[str], str]:
    return fineract_day_count
