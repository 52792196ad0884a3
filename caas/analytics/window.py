"""The period an analytics page covers: a range of whole days in UTC, both ends included. Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal

from caas.core.errors import DomainError

DEFAULT_DAYS = 90
MAX_DAYS = 731  # two years: the weekly series stay readable and the queries bounded
EARLIEST = date(2000, 1, 1)
RATIO_PLACES = Decimal("0.0001")


def ratio(part: int, whole: int) -> Decimal | None:
    """``part / whole`` as a Decimal fraction to 4 places, half-even; None when ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATIO_PLACES, ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # included

    @classmethod
    def between(cls, start: date | None, end: date | None, today: date) -> "Window":
        """The window from ``start`` to ``end``; a missing end is today, a missing start the
        ``DEFAULT_DAYS`` days up to the end. Refusals name the field (``date_from``/``date_to``)."""
        end = end or today
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start < EARLIEST:
            raise DomainError("invalid_period", f"Start on or after {EARLIEST.isoformat()}.", "date_from")
        if end < start:
            raise DomainError("invalid_period", "The end must be on or after the start.", "date_to")
        if (end - start).days + 1 > MAX_DAYS:
            raise DomainError("invalid_period", f"Choose at most {MAX_DAYS} days.", "date_to")
        return cls(start, end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.utc)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the window (exclusive)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone.utc)

    def weeks(self) -> list[date]:
        """The Mondays of the ISO weeks the window touches (the first may start before it)."""
        monday = self.start - timedelta(days=self.start.weekday())
        out = []
        while monday <= self.end:
            out.append(monday)
            monday += timedelta(days=7)
        return out

    def week_ends(self) -> list[date]:
        """One "as of" day per week: its Sunday, or the window's last day for the last week."""
        return [min(monday + timedelta(days=6), self.end) for monday in self.weeks()]

    def months(self) -> list[str]:
        """``YYYY-MM`` of every calendar month the window touches."""
        out, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def label(self) -> str:
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"
