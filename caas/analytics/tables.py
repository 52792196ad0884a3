"""Tables: the rows behind every chart and list, written once and shown twice, as the page's
table (people's formatting: ``1,250.00 NGN``, ``66.7%``) and as CSV (plain numbers a spreadsheet
reads: ``1250.00`` with the currency in its own column, fractions as ``0.6667``). Pure."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from caas.money import describe, format_minor

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Amount:
    """An amount in minor units; the table has the currency in a column of its own."""
    minor: int
    currency: str


@dataclass(frozen=True)
class Rate:
    """A fraction (0.6667) shown as a percentage; None is undefined (nothing to divide by)."""
    fraction: Decimal | None


@dataclass(frozen=True)
class Percent:
    """A value already in percent (an APR of 31.25)."""
    value: Decimal | None


Cell = str | int | Decimal | date | Amount | Rate | Percent | None


@dataclass(frozen=True)
class Table:
    name: str  # the CSV's name and the ?table= value
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    numeric: tuple[bool, ...] = ()  # right-aligned columns (worked out from the rows when empty)

    def aligned_right(self) -> tuple[bool, ...]:
        if self.numeric:
            return self.numeric
        sample = self.rows[0] if self.rows else ()
        return tuple(isinstance(c, (int, Decimal, Amount, Rate, Percent)) and not isinstance(c, bool)
                     for c in sample) or tuple(False for _ in self.headers)


def show(cell: Cell) -> str:
    """For the page."""
    if cell is None:
        return "—"
    if isinstance(cell, Amount):
        return describe(cell.minor, cell.currency, with_code=False)
    if isinstance(cell, Rate):
        if cell.fraction is None:
            return "—"
        return f"{(cell.fraction * 100).quantize(Decimal('0.1'), ROUND_HALF_EVEN)}%"
    if isinstance(cell, Percent):
        return "—" if cell.value is None else f"{cell.value.quantize(Decimal('0.01'), ROUND_HALF_EVEN)}%"
    if isinstance(cell, int) and not isinstance(cell, bool):
        return f"{cell:,}"
    if isinstance(cell, Decimal):
        return f"{cell:f}"
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def plain(cell: Cell) -> str:
    """For CSV: exact, no separators, empty when undefined."""
    if cell is None:
        return ""
    if isinstance(cell, Amount):
        return format_minor(cell.minor, cell.currency)
    if isinstance(cell, Rate):
        return "" if cell.fraction is None else f"{cell.fraction:f}"
    if isinstance(cell, Percent):
        return "" if cell.value is None else f"{cell.value:f}"
    if isinstance(cell, Decimal):
        return f"{cell:f}"
    if isinstance(cell, date):
        return cell.isoformat()
    text = str(cell)
    # A name a spreadsheet would run as a formula (=, +, -, @) is quoted as text.
    return "'" + text if isinstance(cell, str) and text[:1] in FORMULA_STARTS else text


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows([plain(c) for c in row] for row in table.rows)
    return out.getvalue()


@dataclass(frozen=True)
class Section:
    """One block of a dashboard: a heading, usually a chart, and the table with its figures."""
    heading: str
    table: Table
    chart: object | None = None  # caas.analytics.charts.Chart, or a list of them (one per currency)
    note: str = ""

    @property
    def charts(self) -> list:
        if self.chart is None:
            return []
        return list(self.chart) if isinstance(self.chart, (list, tuple)) else [self.chart]


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: str
    sections: tuple[Section, ...]

    def table(self, name: str | None) -> Table | None:
        """The named table, or the first one when no name is given."""
        tables = [s.table for s in self.sections]
        if not name:
            return tables[0] if tables else None
        return next((t for t in tables if t.name == name), None)
