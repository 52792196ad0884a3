"""What the operator commands (``flask clients|apikeys|providers|applications|loans|billing …``) share.

- ``OperatorCommand``/``OperatorGroup``: a bad argument ends with ONE line, ``Error: …``, and exit
  status 2 (click would print the usage block first); a refusal by the domain exits 1.
- ``committing()``: the command's boundary. Operations flush; this commits once, or rolls back and
  turns a ``DomainError`` into a one-line ``Error: --field: message``.
- ``operator()``: the actor of every command, ``cli:<os user>``, which the audited platform paths
  (``platform_access``) accept like a platform admin.
- ``emit``/``emit_record``: a table (or ``key: value`` lines) for people, ``--json`` for scripts.
- ``parse_amount``: "50000.00" in the currency's minor units through ``caas.money`` (never float).
"""
from __future__ import annotations

import getpass
import json
import os
import uuid
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Callable, Iterator, Sequence

import click
from flask.cli import with_appcontext

from caas.audit.operations import Actor
from caas.core.errors import DomainError
from caas.money import UnknownCurrencyError, exponent, normalise_currency, to_minor


class OperatorCommand(click.Command):
    """Usage errors without the usage block: ``Error: Missing option '--slug'.`` on one line."""

    @staticmethod
    def _one_line(exc: click.UsageError) -> click.UsageError:
        exc.ctx = None  # click prints the usage and a hint only when the error carries its context
        return exc

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise self._one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise self._one_line(exc) from None


class OperatorGroup(click.Group):
    """A group whose commands are ``OperatorCommand``s; an unknown subcommand is one line too."""

    command_class = OperatorCommand

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            raise OperatorCommand._one_line(exc) from None


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # a container's uid may have no passwd entry
        return os.environ.get("USER") or f"uid{os.getuid()}"


def operator() -> Actor:
    """The operator at this terminal, as the audit log names them: ``cli:<os user>``."""
    return Actor.operator(os_user())


def reason(exc: DomainError) -> str:
    """One line: the option it concerns (``--legal-name`` style) and the domain's message."""
    return f"--{exc.field.replace('_', '-')}: {exc.message}" if exc.field else exc.message


@contextmanager
def committing(session=None, *, fields: dict[str, str] | None = None) -> Iterator[Any]:
    """The command's transaction: commit once at the end, roll back on any failure.

    ``fields`` renames a domain field to the option the operator typed (``{"legal_name": "name"}``).
    """
    if session is None:
        from caas.core.extensions import db

        session = db.session
    try:
        yield session
    except DomainError as exc:
        session.rollback()
        if exc.field and fields and exc.field in fields:
            exc.field = fields[exc.field]
        raise click.ClickException(reason(exc)) from None
    except BaseException:
        session.rollback()
        raise
    session.commit()


def require(found: Any, what: str) -> Any:
    """``found``, or exit 1 with ``Error: <what> not found``."""
    if found is None:
        raise click.ClickException(f"{what} not found")
    return found


def show_across_tenants(what: str, ident_text: str, load: Callable[[Any, uuid.UUID], dict]) -> dict:
    """One tenant-owned row by id, whichever tenant owns it, through the audited all-tenants read
    (``platform.read_all_tenants``, committed even when nothing is found). ``load`` returns the
    row's dict with its ``client_id`` or raises ``NotFound``; the owning client is added as
    ``client``. A malformed or unknown id exits 1 with ``Error: <what> <id> not found``."""
    from caas.core.errors import NotFound
    from caas.tenancy.models import Client
    from caas.tenancy.operations import platform_access

    ident, data = parse_uuid(ident_text), None
    if ident is not None:
        with committing() as session, platform_access(session, operator(), client_id=None,
                                                      reason=f"cli {what} show {ident}"):
            try:
                data = load(session, ident)
            except NotFound:
                pass
            else:
                client = session.get(Client, uuid.UUID(str(data["client_id"])))
                data["client"] = {"id": client.id, "slug": client.slug, "display_name": client.display_name}
    return require(data, f"{what} {ident_text}")


def show_command(group: click.Group, what: str, load: Callable[[Any, uuid.UUID], dict],
                 render: Callable[[dict], None], *, help: str) -> click.Command:
    """Add ``<group> show ID [--json]`` to ``group``: the row through ``show_across_tenants``,
    printed as JSON or by ``render``."""
    @group.command("show", cls=OperatorCommand, help=help)
    @click.argument("ident", metavar=f"{what.upper()}_ID")
    @json_option
    @with_appcontext
    def show(ident: str, as_json: bool) -> None:
        data = show_across_tenants(what, ident, load)
        if as_json:
            echo_json(data)
        else:
            render(data)

    return show


def tenant_label(data: dict) -> str:
    """``slug (Display Name)`` of the client ``show_across_tenants`` added."""
    return f"{data['client']['slug']} ({data['client']['display_name']})"


def both_or_neither(first: tuple[str, Any], second: tuple[str, Any]) -> None:
    """Options that only make sense together (``--admin-email`` with ``--admin-name``)."""
    if bool(first[1]) != bool(second[1]):
        raise click.UsageError(f"{first[0]} and {second[0]} go together")


def parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text).strip())
    except ValueError:
        return None


def split_list(text: str) -> list[str]:
    """``"a, b,c"`` → ``["a", "b", "c"]`` (options that take a comma-separated list)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def parse_currency(text: str, option: str = "--currency") -> str:
    try:
        return normalise_currency(text)
    except UnknownCurrencyError:
        raise click.UsageError(f"{option}: {text!r} is not an ISO 4217 currency we support") from None


def parse_amount(text: str, currency: str, option: str = "--amount") -> int:
    """A positive amount in major units ("50000.00") as minor units of ``currency``. More decimal
    places than the currency has are refused rather than rounded away."""
    currency = parse_currency(currency)
    try:
        value = Decimal(str(text).strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise click.UsageError(f"{option}: {text!r} is not an amount (e.g. 50000.00)") from None
    if not value.is_finite() or value <= 0:
        raise click.UsageError(f"{option}: the amount must be positive, got {text!r}")
    places = exponent(currency)
    if value.as_tuple().exponent < -places:
        raise click.UsageError(f"{option}: {currency} has {places} decimal places, got {text!r}")
    return to_minor(value, currency)


def _plain(value: Any) -> Any:
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_plain))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def table(rows: Sequence[dict], columns: Sequence[tuple[str, str]]) -> str:
    """Left-aligned columns under a header; ``columns`` are (key, header) pairs."""
    cells = [[header for _, header in columns]] + [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells)


def emit(rows: Sequence[dict], columns: Sequence[tuple[str, str]], as_json: bool, *, empty: str = "none") -> None:
    """A list: a JSON array of the rows (all their keys), or a table of ``columns``."""
    if as_json:
        echo_json(list(rows))
    elif not rows:
        click.echo(empty)
    else:
        click.echo(table(rows, columns))


def emit_record(data: dict, as_json: bool, *, labels: Sequence[tuple[str, str]] | None = None) -> None:
    """One object: JSON, or aligned ``label: value`` lines (``labels`` picks and names the keys)."""
    if as_json:
        echo_json(data)
        return
    pairs = labels or [(key, key) for key in data]
    width = max(len(label) for _, label in pairs)
    for key, label in pairs:
        click.echo(f"{label.ljust(width)}  {_cell(data.get(key))}")
