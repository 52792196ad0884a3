"""Billing periods: calendar months in UTC, written ``YYYY-MM``. Pure."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from caas.core.errors import DomainError

_PERIOD_RE = re.compile(r"^(2\d{3})-(0[1-9]|1[0-2])$")  # years 2000-2999: billing has no other


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, value: str, field: str = "period") -> "Period":
        match = _PERIOD_RE.match((value or "").strip())
        if not match:
            raise DomainError("invalid_period", "Give the month as YYYY-MM, for example 2026-10.", field)
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: date | datetime) -> "Period":
        if isinstance(moment, datetime):
            moment = moment.astimezone(timezone.utc).date() if moment.tzinfo else moment.date()
        return cls(moment.year, moment.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """The first day of the next period (exclusive end)."""
        return self.next().start

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.utc)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.end, time.min, tzinfo=timezone.utc)

    def next(self) -> "Period":
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    def previous(self) -> "Period":
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def back(self, months: int) -> "Period":
        """The period ``months`` before this one (``back(11)`` starts a 12-month window ending here)."""
        index = self.year * 12 + self.month - 1 - months
        return Period(index // 12, index % 12 + 1)

    def require_over(self, now: datetime) -> None:
        """Refuse to bill a month that has not ended."""
        if self.ends_at > now:
            raise DomainError("period_not_over", f"{self} is not over yet; bill it from {self.end.isoformat()}.",
                              "period")

    def label(self) -> str:
        return self.start.strftime("%B %Y")
