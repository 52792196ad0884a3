"""``flask loans schedule`` and ``flask loans apr``, invoked on the click group directly."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from caas.loans.cli import loans_cli


def run(*args: str):
    return CliRunner().invoke(loans_cli, list(args), prog_name="flask loans")


def schedule_args(row: dict[str, str], day_count: str) -> list[str]:
    every, unit = row["repay_every"].split()
    return ["schedule", "--principal", row["principal"], "--rate", row["annual_rate_pct"],
            "--installments", row["n_installments"], "--every", every, "--unit", unit.lower(),
            "--start", row["disbursement_date"], "--day-count", day_count,
            "--amortization", "equal-installments", "--interest", "declining-balance"]


def test_schedule_json_matches_fineract(schedule_case: list[dict[str, str]], day_count_of) -> None:
    result = run(*schedule_args(schedule_case[0], day_count_of(schedule_case[0]["method"])), "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert len(printed) == len(schedule_case)
    for got, expected in zip(printed, schedule_case):
        assert got["number"] == int(expected["period"])
        assert got["due_date"] == expected["due_date"]
        assert got["days"] == int(expected["days_in_period"])
        for ours, theirs in [("principal", "principal_due"), ("interest", "interest_due"),
                             ("total", "total_due"), ("balance", "balance_after")]:
            assert isinstance(got[ours], str) and Decimal(got[ours]) == Decimal(expected[theirs])
            assert len(got[ours].partition(".")[2]) == 2  # two decimals for NGN


def test_schedule_table() -> None:
    result = run("schedule", "--principal", "10000", "--rate", "12", "--installments", "6", "--every", "1",
                 "--unit", "months", "--start", "2023-12-12", "--day-count", "actual/actual",
                 "--amortization", "equal-installments", "--interest", "declining-balance", "--currency", "NGN")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2].split() == ["1", "2024-01-12", "31", "1623.75", "101.81", "1725.56", "8376.25"]
    assert lines[7].split() == ["6", "2024-06-12", "31", "1708.23", "17.36", "1725.59", "0.00"]
    assert lines[8].split() == ["total", "10000.00", "353.39", "10353.39"]


def test_schedule_currency_sets_the_minor_unit() -> None:
    result = run("schedule", "--principal", "100000", "--rate", "12", "--installments", "3", "--start",
                 "2024-01-01", "--day-count", "30/360", "--currency", "JPY", "--json")
    assert [row["total"] for row in json.loads(result.output)] == ["34002", "34002", "34003"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--start", "2024-02-30"], "--start: invalid date"),
     (["--day-count", "30/365"], "unknown day count"),
     (["--unit", "fortnights"], "unknown frequency unit"),
     (["--principal", "-5"], "--principal: amount must be positive"),
     (["--currency", "XYZ"], "unknown currency")],
)
def test_schedule_bad_input(args: list[str], message: str) -> None:
    base = {"--principal": "1000", "--rate": "12", "--installments": "3", "--start": "2024-01-01"}
    base.update(dict(zip(args[::2], args[1::2])))
    result = run("schedule", *[part for pair in base.items() for part in pair])
    assert result.exit_code != 0
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def write_payments(path: Path, payments) -> str:
    path.write_text("date,amount\n" + "".join(f"{on.isoformat()},{amount}\n" for on, amount in payments))
    return str(path)


def test_apr_matches_appendix_j(apr_case: dict[str, str], payment_stream, tmp_path: Path) -> None:
    payments = write_payments(tmp_path / "payments.csv", payment_stream(apr_case["payment_streams"]))
    result = run("apr", "--advance", apr_case["amount_advanced"], "--on", apr_case["advance_date"],
                 "--payments", payments)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == apr_case["expected_apr_pct"]


def test_apr_json(payment_stream, tmp_path: Path) -> None:
    payments = write_payments(tmp_path / "p.csv", payment_stream("24 x 230.00 monthly from 1978-02-10"))
    result = run("apr", "--advance", "5000.00", "--on", "1978-01-10", "--payments", payments, "--fee", "0", "--json")
    assert json.loads(result.output) == {"apr": "9.69", "unit_period": "month", "periods_per_year": 12}


def test_apr_fee_and_unit_period_override(payment_stream, tmp_path: Path) -> None:
    payments = write_payments(tmp_path / "p.csv", payment_stream("24 x 230.00 monthly from 1978-02-10"))
    base = ["apr", "--advance", "5000.00", "--on", "1978-01-10", "--payments", payments]
    assert Decimal(run(*base, "--fee", "50").output) > Decimal("9.69")
    assert run(*base, "--unit-period", "month").output.strip() == "9.69"
    weekly = json.loads(run(*base, "--unit-period", "week", "--json").output)
    assert weekly["unit_period"] == "week" and weekly["periods_per_year"] == 52


@pytest.mark.parametrize(
    ("rows", "options", "message"),
    [(None, [], "file not found"),
     ("1978-02-30,230.00\n", [], "invalid date '1978-02-30'"),
     ("1978-02-10,230.00\n", ["--on", "1978-13-10"], "--on: invalid date"),
     ("1978-01-09,5100.00\n", [], "before the advance"),
     ("1978-02-10,-230.00\n", [], "amount must be zero or positive"),
     ("1978-02-10,230.00\n", ["--advance", "-5000"], "--advance: amount must be positive"),
     ("1978-02-10,230.00\n", [], "less than the amount financed"),
     ("1978-02-10,abc\n", [], "not a number"),
     ("", [], "no payments"),
     ("1978-02-10,5100.00\n", ["--unit-period", "fortnightly"], "unknown unit period")],
)
def test_apr_bad_input_exits_with_a_one_line_reason(rows, options, message, tmp_path: Path) -> None:
    path = tmp_path / "payments.csv"
    if rows is not None:
        path.write_text("date,amount\n" + rows)
    args = {"--advance": "5000.00", "--on": "1978-01-10", "--payments": str(path)}
    args.update(dict(zip(options[::2], options[1::2])))
    result = run("apr", *[part for pair in args.items() for part in pair])
    assert result.exit_code != 0
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_apr_payments_file_needs_its_header(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("when,how much\n1978-02-10,230.00\n")
    result = run("apr", "--advance", "100", "--on", "1978-01-10", "--payments", str(path))
    assert result.exit_code != 0 and "expected a header 'date,amount'" in result.output
