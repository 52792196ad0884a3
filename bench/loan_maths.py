"""Loan maths throughput: schedules per second (12 and 360 months) and APR solves per second.

Run ``python -m bench.loan_maths`` (or ``python bench/loan_maths.py``) from the
repository root. Prints human-readable figures; the last line is one JSON object.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from caas.loans.maths import LoanTerms, add_months, apr, build_schedule  # noqa: E402

SECONDS_PER_FIGURE = 2.0


def rate_per_second(work, seconds: float = SECONDS_PER_FIGURE) -> tuple[float, int]:
    """Calls per second of ``work()``, measured for about ``seconds``."""
    work()  # warm up
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        work()
        calls += 1
    return calls / elapsed, calls


def loan(months: int) -> LoanTerms:
    # Actual/actual daily interest: the progressive-EMI path with a different rate every month.
    return LoanTerms(principal_minor=25_000_000, annual_rate=Decimal("0.1875"), installments=months,
                     start=date(2024, 1, 31), day_count="actual/actual", currency="NGN")


def apr_case() -> tuple[list, list]:
    # Appendix J (c)(1)(ii): 6,000.00, 36 monthly payments of 200.00 with a long first period.
    payments = [(add_months(date(1978, 4, 1), k), Decimal("200.00")) for k in range(36)]
    return [(date(1978, 2, 10), Decimal("6000.00"))], payments


def main() -> None:
    figures: dict[str, float] = {}
    for months in (12, 360):
        terms = loan(months)
        per_second, calls = rate_per_second(lambda: build_schedule(terms))
        figures[f"schedules_per_s_{months}m"] = round(per_second, 1)
        print(f"schedule, {months:>3} months, actual/actual progressive EMI: {per_second:10.1f} /s ({calls} runs)")
    advances, payments = apr_case()
    result = apr(advances, payments)
    assert result.apr == Decimal("11.82"), result.apr  # the worked example, so we time the right thing
    per_second, calls = rate_per_second(lambda: apr(advances, payments))
    figures["apr_solves_per_s"] = round(per_second, 1)
    print(f"APR (Appendix J, 36 payments, unit period found): {per_second:10.1f} /s ({calls} runs)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
