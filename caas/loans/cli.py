"""``flask loans ...``: repayment schedules and APR from the command line.

A plain click group (no app context needed); the app registers it with
``app.cli.add_command(loans_cli)``. Bad input ends with a one-line
``Error: ...`` naming the problem and a non-zero exit status.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from caas.core.cli_output import emit_record, show_command, table, tenant_label

from caas.money import UnknownCurrencyError, format_minor, normalise_currency, to_minor
from caas.loans.maths import (
    Amortization,
    AprError,
    DayCount,
    InterestMethod,
    LoanTerms,
    Schedule,
    Unit,
    UnitPeriod,
    apr,
    build_schedule,
)

loans_cli = click.Group("loans", help="Loan maths: repayment schedules and APR.")


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise click.ClickException(f"{what}: invalid date {text!r} (expected YYYY-MM-DD)") from None


def _amount(text: str, what: str, *, allow_zero: bool = True) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise click.ClickException(f"{what}: not a number: {text!r}") from None
    if not value.is_finite():
        raise click.ClickException(f"{what}: not a finite number: {text!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise click.ClickException(f"{what}: amount must be {'zero or ' if allow_zero else ''}positive, got {text.strip()}")
    return value


def _parse(kind, text: str, what: str):
    try:
        return kind.parse(text)
    except ValueError as error:
        raise click.ClickException(f"{what}: {error}") from None


@loans_cli.command("schedule")
@click.option("--principal", required=True, help="Amount lent, in major units (10000 or 2500.50).")
@click.option("--rate", required=True, help="Nominal annual interest rate in percent (12 for 12 %).")
@click.option("--installments", required=True, type=click.IntRange(min=1), help="Number of instalments.")
@click.option("--every", default=1, show_default=True, type=click.IntRange(min=1), help="Instalment every N units.")
@click.option("--unit", default="months", show_default=True, help="days, weeks or months.")
@click.option("--start", required=True, help="Disbursement date, YYYY-MM-DD.")
@click.option("--day-count", default="actual/actual", show_default=True,
              help="30/360, actual/actual, actual/365 or actual/360.")
@click.option("--amortization", default="equal-installments", show_default=True,
              help="equal-installments or equal-principal.")
@click.option("--interest", "interest_method", default="declining-balance", show_default=True,
              help="declining-balance or flat.")
@click.option("--currency", default="NGN", show_default=True, help="ISO 4217 code; sets the rounding unit.")
@click.option("--grace-principal", default=0, show_default=True, type=click.IntRange(min=0),
              help="Periods with no principal due.")
@click.option("--grace-interest", default=0, show_default=True, type=click.IntRange(min=0),
              help="Periods with no interest due (deferred to the next instalment).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def schedule_command(principal, rate, installments, every, unit, start, day_count, amortization,
                     interest_method, currency, grace_principal, grace_interest, as_json) -> None:
    """Print the repayment schedule of a loan."""
    try:
        currency = normalise_currency(currency)
    except UnknownCurrencyError as error:
        raise click.ClickException(f"--currency: {error}") from None
    try:
        terms = LoanTerms(
            principal_minor=to_minor(_amount(principal, "--principal", allow_zero=False), currency),
            annual_rate=_amount(rate, "--rate") / 100,
            installments=installments,
            start=_date(start, "--start"),
            every=every,
            unit=_parse(Unit, unit, "--unit"),
            day_count=_parse(DayCount, day_count, "--day-count"),
            amortization=_parse(Amortization, amortization, "--amortization"),
            interest_method=_parse(InterestMethod, interest_method, "--interest"),
            currency=currency,
            grace_on_principal=grace_principal,
            grace_on_interest=grace_interest,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    schedule = build_schedule(terms)
    if as_json:
        click.echo(json.dumps(schedule.to_rows(), indent=2))
    else:
        click.echo(_table(schedule))


def _table(schedule: Schedule) -> str:
    terms = schedule.terms
    money = lambda minor: format_minor(minor, terms.currency)  # noqa: E731
    lines = [
        f"{money(terms.principal_minor)} {terms.currency} at {terms.annual_rate * 100:f} % a year, "
        f"{terms.installments} instalments every {terms.every} {terms.unit.value}, "
        f"{terms.day_count.value}, {terms.amortization.value}, {terms.interest_method.value}",
        f"{'#':>4}  {'due date':<10}  {'days':>4}  {'principal':>14}  {'interest':>14}  {'total':>14}  {'balance':>14}",
    ]
    for row in schedule.installments:
        lines.append(
            f"{row.number:>4}  {row.due_date.isoformat():<10}  {row.days:>4}  {money(row.principal_minor):>14}  "
            f"{money(row.interest_minor):>14}  {money(row.total_minor):>14}  {money(row.balance_minor):>14}"
        )
    lines.append(
        f"{'':>4}  {'total':<10}  {'':>4}  {money(schedule.total_principal_minor):>14}  "
        f"{money(schedule.total_interest_minor):>14}  {money(schedule.total_minor):>14}"
    )
    return "\n".join(lines)


def _read_payments(path_text: str) -> list[tuple[date, Decimal]]:
    path = Path(path_text)
    if not path.is_file():
        raise click.ClickException(f"--payments: file not found: {path_text}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or {"date", "amount"} - {f.strip() for f in reader.fieldnames}:
            raise click.ClickException(f"{path_text}: expected a header 'date,amount'")
        payments = []
        for row in reader:
            where = f"{path_text} line {reader.line_num}"
            row = {key.strip(): (value or "") for key, value in row.items() if key}
            payments.append((_date(row["date"], where), _amount(row["amount"], where)))
    if not payments:
        raise click.ClickException(f"{path_text}: no payments")
    return payments


@loans_cli.command("apr")
@click.option("--advance", required=True, help="Amount advanced, in major units.")
@click.option("--on", "advance_on", required=True, help="Date of the advance, YYYY-MM-DD.")
@click.option("--payments", "payments_path", required=True, help="CSV file with header 'date,amount'.")
@click.option("--fee", default="0", show_default=True, help="Prepaid finance charge (reduces the amount financed).")
@click.option("--unit-period", default="auto", show_default=True,
              help="auto, day, week, 2weeks, 4weeks, semimonth, month, quarter, 6months, year, Ndays...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the bare percentage.")
def apr_command(advance, advance_on, payments_path, fee, unit_period, as_json) -> None:
    """APR (Regulation Z, Appendix J actuarial method) of an advance and dated payments."""
    amount = _amount(advance, "--advance", allow_zero=False)
    on = _date(advance_on, "--on")
    fee_amount = _amount(fee, "--fee")
    payments = _read_payments(payments_path)
    unit = None
    if unit_period.strip().lower() != "auto":
        unit = _parse(UnitPeriod, unit_period, "--unit-period")
    try:
        result = apr([(on, amount)], payments, prepaid_finance_charge=fee_amount, unit_period=unit)
    except AprError as error:
        raise click.ClickException(str(error)) from None
    if not as_json:
        click.echo(f"{result.apr:f}")
        return
    per_year = result.periods_per_year
    click.echo(json.dumps({
        "apr": f"{result.apr:f}",
        "unit_period": result.unit_period.label,
        # A whole number for every regular unit period; 365/days for a single-payment term in days.
        "periods_per_year": int(per_year) if per_year == per_year.to_integral_value() else float(round(per_year, 10)),
    }))


@loans_cli.command("service")
@click.option("--as-of", "as_of", default=None, help="the servicing date (YYYY-MM-DD); default today (UTC)")
def service_command(as_of: str | None) -> None:
    """Run the daily servicing of every active loan for one date (safe to repeat)."""
    from datetime import datetime, timezone

    from caas.core.extensions import db
    from caas.loans import servicing

    on = _date(as_of, "--as-of") if as_of else datetime.now(timezone.utc).date()
    report = servicing.service(db.session, on)
    click.echo(f"serviced {on}: {report.clients} clients, {report.loans} active loans, {report.reminders} reminders, "
               f"{report.missed} missed, {report.penalties} penalty charges, {report.collections} into collections, "
               f"{report.written_off} written off, "
               f"{report.auto_debits} auto-debits")


def _load_loan(session, loan_id) -> dict:
    from caas.loans import operations

    loan = operations.get(session, loan_id)
    data = operations.serialise(loan)
    data.update(client_id=loan.client_id, borrower_id=str(loan.borrower_id), days_past_due=loan.days_past_due,
                bucket=loan.bucket)
    return data


def _render_loan(data: dict) -> None:
    currency = data["currency"]
    emit_record({**data, "client": tenant_label(data), "provider": data["provider"]["display_name"],
                 "principal": f"{data['principal']} {currency}", "monthly_payment": f"{data['monthly_payment']} {currency}",
                 "total_repayable": f"{data['total_repayable']} {currency}",
                 "rates": f"{data['annual_rate']} % a year, APR {data['apr']} %",
                 "arrears": f"{data['days_past_due']} days past due ({data['bucket']})"},
                False, labels=[("id", "loan"), ("client", "client"), ("status", "status"), ("provider", "provider"),
                               ("principal", "principal"), ("term_months", "term (months)"), ("rates", "rates"),
                               ("monthly_payment", "monthly payment"), ("total_repayable", "total repayable"),
                               ("start_date", "start"), ("maturity_date", "maturity"), ("arrears", "arrears"),
                               ("application_id", "application")])
    click.echo()
    click.echo(table(data["schedule"], [("number", "#"), ("due_date", "DUE"), ("principal", "PRINCIPAL"),
                                        ("interest", "INTEREST"), ("total", "TOTAL"), ("paid", "PAID"),
                                        ("balance", "BALANCE")]))


show_command(loans_cli, "loan", _load_loan, _render_loan,
             help="A loan by id, whichever tenant owns it: terms, provider, arrears and schedule.")
