"""``caas``: the command line for client developers, on the SDK.

Tables for people by default, ``--json`` on any command for scripts. An API refusal exits 1 with
the API's message (and, with ``--json``, the API's error object on stdout); a webhook that fails
verification exits 1; ``--watch`` that times out exits 3; bad usage exits 2 (click's).
"""
from __future__ import annotations

import json
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import click

from caas_sdk import config, webhooks
from caas_sdk.client import DEFAULT_BASE_URL, CaaS
from caas_sdk.errors import APIError, CaasError
from caas_sdk.models import to_dict

# Statuses an application leaves only by someone's action, or never: --watch stops there.
SETTLED = {"declined", "withdrawn", "expired", "scoring_failed", "closed", "active"}
CONSENTS = ("data_processing", "credit_check")
EXIT_API, EXIT_TIMEOUT = 1, 3


class Settings:
    def __init__(self, api_key: str | None, base_url: str | None):
        stored = config.load()
        self.api_key = api_key or stored.api_key
        self.base_url = base_url or stored.base_url or DEFAULT_BASE_URL
        self._client: CaaS | None = None

    def client(self) -> CaaS:
        if self._client is None:
            if not self.api_key:
                raise click.UsageError("No API key: run `caas login --api-key …` or set CAAS_API_KEY.")
            self._client = CaaS(self.api_key, base_url=self.base_url)
        return self._client


class Cli(click.Group):
    """Turns the SDK's errors into a message and an exit status instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CaasError as exc:
            as_json = ctx.meta.get("caas.json", False)
            if as_json:
                click.echo(json.dumps(_error_json(exc)))
            click.echo(f"Error: {exc}", err=True)
            if isinstance(exc, APIError):
                for field, message in exc.fields.items():
                    if field != exc.field:
                        click.echo(f"  {field}: {message}", err=True)
            ctx.exit(EXIT_API)


def _error_json(exc: CaasError) -> dict:
    if isinstance(exc, APIError):
        error = {"code": exc.code, "message": exc.message, "status": exc.status}
        if exc.field:
            error["field"] = exc.field
        if exc.fields:
            error["fields"] = [{"field": f, "message": m} for f, m in exc.fields.items()]
        return {"error": error}
    return {"error": {"code": type(exc).__name__, "message": str(exc)}}


def json_option(fn: Callable) -> Callable:
    def remember(ctx: click.Context, _param, value: bool) -> bool:
        ctx.meta["caas.json"] = value
        return value
    return click.option("--json", "as_json", is_flag=True, is_eager=True, callback=remember,
                        help="Print JSON (one object per line with --watch) instead of a table.")(fn)


def emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        human()


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    click.echo(line(headers))
    click.echo(line(["-" * w for w in widths]))
    for row in rows:
        click.echo(line(row))
    if not rows:
        click.echo("(none)")


def pairs(items: Sequence[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in items)
    for key, value in items:
        click.echo(f"{key.ljust(width)}  {'' if value is None else value}")


@click.group(cls=Cli)
@click.option("--api-key", envvar="CAAS_API_KEY", help="API key (default: CAAS_API_KEY, then `caas login`).")
@click.option("--base-url", envvar="CAAS_BASE_URL", help=f"The deployment (default: {DEFAULT_BASE_URL}).")
@click.version_option(package_name="caas-sdk")
@click.pass_context
def main(ctx: click.Context, api_key: str | None, base_url: str | None) -> None:
    """CaaS from the command line: apply for credit, follow it, accept offers, read loans and usage."""
    ctx.obj = Settings(api_key, base_url)


@main.command()
@click.option("--api-key", "key", prompt="API key", hide_input=True, help="The key from Admin → API keys.")
@click.option("--base-url", "url", help="The deployment to remember with it.")
@json_option
@click.pass_obj
def login(settings: Settings, key: str, url: str | None, as_json: bool) -> None:
    """Check a key against the API and remember it for the next commands."""
    base = url or settings.base_url
    with CaaS(key, base_url=base) as client:
        who = client.ping()
    where = config.save(config.Credentials(key, base))
    emit(as_json, {**to_dict(who), "base_url": base, "saved_to": str(where)},
         lambda: click.echo(f"Logged in to {base} as client '{who.client}' ({who.mode} key; scopes: "
                            f"{', '.join(who.scopes)}). Saved to {where}."))


@main.command()
def logout() -> None:
    """Forget the remembered key."""
    click.echo("Forgot the saved key." if config.forget() else "No saved key.")


# --- credit ---------------------------------------------------------------------------------------

@main.group()
def credit() -> None:
    """Applications, offers and providers."""


def _amount(_ctx, _param, value: str) -> str:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter("a decimal number in major units, e.g. 50000 or 50000.00") from None
    if not amount.is_finite() or amount <= 0:
        raise click.BadParameter("must be more than 0")
    return value


def _application_rows(applications) -> list:
    return [(a.id, a.status, a.amount, a.currency, a.term_months, a.purpose, a.created_at) for a in applications]


APPLICATION_HEADERS = ("id", "status", "amount", "currency", "term", "purpose", "created")


def show_application(a) -> None:
    pairs([("id", a.id), ("status", a.status), ("amount", f"{a.amount} {a.currency}"), ("term", f"{a.term_months} months"),
           ("purpose", a.purpose), ("indicative payment", a.indicative_monthly_payment),
           ("indicative APR", f"{a.indicative_apr}%" if a.indicative_apr else None),
           ("submitted", a.submitted_at), ("reasons", ", ".join(map(str, a.decision_reasons)) or None)])


@credit.command()
@click.option("--amount", required=True, callback=_amount, help="In major units, e.g. 50000.")
@click.option("--currency", help="ISO 4217; the client's default if left out.")
@click.option("--term", "term_months", type=click.IntRange(min=1), required=True, help="Months.")
@click.option("--purpose", required=True, help='e.g. "business expansion".')
@click.option("--applicant", "applicant_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help='JSON: the applicant object, or {"applicant": {...}, "consents": {...}}.')
@click.option("--consent", "consents", type=click.Choice(CONSENTS), multiple=True,
              help="A consent the applicant gave (repeat for both), if the file does not carry them.")
@click.option("--idempotency-key", help="Your own key (e.g. an order id): the same key twice gives the same "
                                        "application. Default: a new one.")
@json_option
@click.pass_obj
def apply(settings: Settings, amount: str, currency: str | None, term_months: int, purpose: str,
          applicant_file: Path, consents: tuple[str, ...], idempotency_key: str | None, as_json: bool) -> None:
    """Create and submit an application for the applicant in the file."""
    try:
        data = json.loads(applicant_file.read_text())
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--applicant") from None
    if not isinstance(data, dict):
        raise click.BadParameter("expected a JSON object", param_hint="--applicant")
    applicant = data["applicant"] if "applicant" in data else data
    given = dict(data.get("consents") or {}) if "applicant" in data else {}
    given.update({name: True for name in consents})
    application = settings.client().applications.create(
        applicant=applicant, consents=given, amount=amount, currency=currency, term_months=term_months,
        purpose=purpose, idempotency_key=idempotency_key)
    emit(as_json, to_dict(application), lambda: show_application(application))


@credit.command()
@click.argument("application_id")
@click.option("--watch", is_flag=True, help="Keep following the status until it settles (or --until).")
@click.option("--until", "until", multiple=True, help="With --watch: also stop at this status (repeatable).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True, help="Seconds.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None, help="With --watch: give up after seconds.")
@json_option
@click.pass_obj
def status(settings: Settings, application_id: str, watch: bool, until: tuple[str, ...], interval: float,
           timeout: float | None, as_json: bool) -> None:
    """An application's status; --watch prints each change as it happens."""
    client = settings.client()
    application = client.applications.get(application_id)
    if not watch:
        emit(as_json, to_dict(application), lambda: show_application(application))
        return
    stop_at = SETTLED | set(until)
    deadline = None if timeout is None else time.monotonic() + timeout
    last = None
    while True:
        if application.status != last:
            last = application.status
            emit(as_json, to_dict(application),
                 lambda: click.echo(f"{time.strftime('%H:%M:%S')}  {application.status}"))
            sys.stdout.flush()
        if application.status in stop_at:
            return
        if deadline is not None and time.monotonic() >= deadline:
            click.echo(f"Still {application.status} after {timeout:g} s.", err=True)
            raise SystemExit(EXIT_TIMEOUT)
        time.sleep(interval)
        application = client.applications.get(application_id)


@credit.command("list")
@click.option("--status", "status_", help="Only this status.")
@click.option("--page-size", type=click.IntRange(1, 100), default=100, show_default=True)
@json_option
@click.pass_obj
def list_applications(settings: Settings, status_: str | None, page_size: int, as_json: bool) -> None:
    """Every application (all pages), newest first."""
    applications = list(settings.client().applications.list(status=status_, limit=page_size))
    emit(as_json, [to_dict(a) for a in applications],
         lambda: table(APPLICATION_HEADERS, _application_rows(applications)))


@credit.command()
@click.argument("application_id")
@json_option
@click.pass_obj
def withdraw(settings: Settings, application_id: str, as_json: bool) -> None:
    """Withdraw an application before an offer is accepted."""
    application = settings.client().applications.withdraw(application_id)
    emit(as_json, to_dict(application), lambda: show_application(application))


@credit.command()
@click.argument("application_id")
@json_option
@click.pass_obj
def offers(settings: Settings, application_id: str, as_json: bool) -> None:
    """The offers on an application, ranked by APR (the best usable one marked *)."""
    found = settings.client().offers.list(application_id)
    emit(as_json, [to_dict(o) for o in found], lambda: table(
        ("", "offer", "lender", "status", "amount", "term", "rate %", "APR %", "monthly", "total", "valid until"),
        [("*" if o.best else "", o.id, o.provider.display_name, o.status, f"{o.amount} {o.currency}", o.term_months,
          o.annual_rate, o.apr, o.monthly_payment, o.total_repayable, o.valid_until) for o in found]))


@credit.command()
@click.argument("application_id")
@click.argument("offer_id")
@click.option("--signature-name", required=True, help="The borrower's full legal name, as they typed it.")
@click.option("--yes", is_flag=True, help="The borrower has read and accepted the agreement: do not ask.")
@click.option("--bank-code", help="Where the payout goes (with --account-number and --account-name), unless "
                                  "the borrower saved an account in the portal.")
@click.option("--account-number")
@click.option("--account-name")
@json_option
@click.pass_obj
def accept(settings: Settings, application_id: str, offer_id: str, signature_name: str, yes: bool,
           bank_code: str | None, account_number: str | None, account_name: str | None, as_json: bool) -> None:
    """Accept an offer for the borrower: shows the loan agreement, asks, then makes the loan."""
    client = settings.client()
    agreement = client.offers.agreement(application_id, offer_id)
    if not yes:
        if as_json:
            raise click.UsageError("--json cannot ask: pass --yes once the borrower accepted the agreement.")
        click.echo(agreement.text)
        click.confirm(f"Has {signature_name} read and accepted this agreement ({agreement.version})?", abort=True)
    account = None
    if bank_code or account_number or account_name:
        if not (bank_code and account_number and account_name):
            raise click.UsageError("Give --bank-code, --account-number and --account-name together.")
        account = {"bank_code": bank_code, "account_number": account_number, "account_name": account_name}
    loan = client.offers.accept(application_id, offer_id, signature_name=signature_name, consent=True,
                                agreement_sha256=agreement.sha256, bank_account=account)
    emit(as_json, to_dict(loan), lambda: show_loan(loan))


@credit.command()
@click.option("--country", help="ISO 3166 alpha-2, e.g. NG.")
@json_option
@click.pass_obj
def providers(settings: Settings, country: str | None, as_json: bool) -> None:
    """The lenders in your provider network."""
    found = settings.client().providers.list(country=country)
    emit(as_json, [to_dict(p) for p in found], lambda: table(
        ("id", "name", "country", "currencies"), [(p.id, p.legal_name, p.country, ", ".join(p.currencies))
                                                 for p in found]))


# --- loans, usage, webhooks -----------------------------------------------------------------------

@main.group()
def loans() -> None:
    """Loans and their schedules."""


def show_loan(loan) -> None:
    pairs([("loan", loan.id), ("status", loan.status), ("lender", loan.provider.display_name),
           ("principal", f"{loan.principal} {loan.currency}"), ("paid out", loan.amount_paid_out),
           ("rate", f"{loan.annual_rate}% nominal, APR {loan.apr}%"), ("term", f"{loan.term_months} months"),
           ("monthly payment", loan.monthly_payment), ("total repayable", loan.total_repayable),
           ("dates", f"{loan.start_date} to {loan.maturity_date}")])
    click.echo()
    table(("#", "due", "principal", "interest", "total", "balance", "paid"),
          [(i.number, i.due_date, i.principal, i.interest, i.total, i.balance, i.paid) for i in loan.schedule])


@loans.command("show")
@click.argument("loan_id")
@json_option
@click.pass_obj
def show(settings: Settings, loan_id: str, as_json: bool) -> None:
    """A loan with its repayment schedule."""
    loan = settings.client().loans.get(loan_id)
    emit(as_json, to_dict(loan), lambda: show_loan(loan))


@main.command()
@click.option("--period", help="YYYY-MM (default: this month).")
@json_option
@click.pass_obj
def usage(settings: Settings, period: str | None, as_json: bool) -> None:
    """Your usage of a month against the plan, priced so far, and that month's invoices."""
    report = settings.client().usage.get(period=period)

    def human() -> None:
        click.echo(f"Usage for {report.period} ({report.currency})")
        table(("metric", "quantity", "included", "billable", "price", "amount"),
              [(r.metric, r.quantity, r.included_units, r.billable_units, r.price, r.amount) for r in report.metrics])
        click.echo(f"Estimate so far (minor units): {report.estimate_minor}")
        if report.invoices:
            click.echo()
            table(("invoice", "status", "total (minor)"),
                  [(i.number, i.status, f"{i.total_minor} {i.currency}") for i in report.invoices])
    emit(as_json, to_dict(report), human)


@main.group("webhooks")
def webhooks_group() -> None:
    """Webhook helpers."""


@webhooks_group.command("verify")
@click.option("--secret", "secrets", multiple=True, required=True, envvar="CAAS_WEBHOOK_SECRET",
              help="The endpoint's signing secret (whsec_…); repeat during a rotation.")
@click.option("--header", required=True, help="The CaaS-Signature header's value.")
@click.option("--body-file", type=click.File("rb"), required=True, help="The raw body as received ('-': stdin).")
@click.option("--tolerance", type=click.IntRange(min=0), default=webhooks.DEFAULT_TOLERANCE, show_default=True,
              help="Seconds the timestamp may differ from now.")
@json_option
def verify(secrets: tuple[str, ...], header: str, body_file, tolerance: int, as_json: bool) -> None:
    """Check a delivery's signature; exits 1 when it does not hold."""
    event = webhooks.verify(body_file.read(), header, list(secrets), tolerance=tolerance)
    emit(as_json, {"valid": True, "event": event},
         lambda: click.echo(f"Valid signature: {event.get('type')} {event.get('id')}"))


# --- MCP ------------------------------------------------------------------------------------------

@main.group()
def mcp() -> None:
    """The MCP server (needs `pip install caas-sdk[mcp]`)."""


@mcp.command("serve")
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="With --transport http.")
@click.option("--port", type=int, default=8765, show_default=True, help="With --transport http.")
@click.pass_obj
def serve(settings: Settings, transport: str, host: str, port: int) -> None:
    """Serve the CaaS tools to an MCP client. stdio uses this command's API key; over HTTP every
    request brings its own (Authorization: Bearer <API key>)."""
    try:
        from caas_sdk import mcp_server
    except ImportError as exc:
        raise click.ClickException(f"The MCP server needs the 'mcp' extra: pip install 'caas-sdk[mcp]' ({exc})")
    if transport == "stdio":
        if not settings.api_key:
            raise click.UsageError("No API key: run `caas login --api-key …` or set CAAS_API_KEY.")
        mcp_server.serve_stdio(settings.api_key, settings.base_url)
    else:
        mcp_server.serve_http(settings.base_url, host=host, port=port)


if __name__ == "__main__":
    main()
