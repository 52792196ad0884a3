"""The time the application acts at.

Views ask here instead of calling ``date.today()`` or ``datetime.now()`` themselves, so that a test
can stand at a known moment (``frozen``) and stay true whatever day it runs on. Production never
freezes it.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Iterator

_frozen_at: datetime | None = None


def now() -> datetime:
    """The current moment, timezone-aware UTC."""
    return _frozen_at or datetime.now(timezone.utc)


def today() -> date:
    """Today's date in UTC (due dates and days past due are counted in UTC days)."""
    return now().date()


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Stand at ``at`` (aware) until the block ends. For tests and replays, never for requests."""
    global _frozen_at
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous, _frozen_at = _frozen_at, at.astimezone(timezone.utc)
    try:
        yield _frozen_at
    finally:
        _frozen_at = previous
