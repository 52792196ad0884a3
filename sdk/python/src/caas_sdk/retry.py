"""When to retry a call and how long to wait: pure, so it is tested without a network.

- 429 is retried for every method: the API refused before doing anything (rate limit or quota), so
  sending again cannot do a thing twice. We wait what ``Retry-After`` says; when that is longer
  than ``max_retry_after`` (an hourly quota can say 40 minutes) we give up at once and let the
  caller decide, rather than block a thread for that long.
- 5xx, a timeout or a dropped connection are retried only for idempotent calls: GET, and a POST
  carrying an ``Idempotency-Key`` (the SDK sends one with every POST). The API stores the first
  complete answer for a key and replays it, and releases the key when it answers 5xx (its
  transaction rolled back), so a retry either replays the result or does the work for the first
  time, never twice. A POST without a key could have been applied before the connection broke.
- 409 ``idempotency_key_in_use`` (the first attempt of this key is still running on the server,
  typical after a client-side timeout) is retried too: the replay comes once it finishes.
- Waits grow exponentially with "full jitter" (a random wait up to base * 2^n, capped), so many
  clients failing together do not come back together.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
IN_FLIGHT_CODE = "idempotency_key_in_use"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4          # attempts in all, the first included
    base_delay: float = 0.5        # seconds; the n-th retry waits up to base * 2^(n-1)
    max_delay: float = 8.0         # cap of one backoff wait
    max_retry_after: float = 60.0  # longer Retry-After: raise instead of waiting

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    @staticmethod
    def idempotent(method: str, has_idempotency_key: bool) -> bool:
        return method.upper() in IDEMPOTENT_METHODS or has_idempotency_key

    def wait(self, attempt: int, *, method: str, has_idempotency_key: bool, status: int | None = None,
             code: str | None = None, retry_after: float | None = None, transport_error: bool = False,
             rand=random.random) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` after attempt ``attempt`` (1-based) failed
        as described, or None when the failure is final."""
        if attempt >= self.max_attempts:
            return None
        if status == 429:
            if retry_after is not None:
                return retry_after if retry_after <= self.max_retry_after else None
            return self.backoff(attempt, rand)
        safe = self.idempotent(method, has_idempotency_key)
        if transport_error or (status is not None and status in RETRY_STATUSES):
            return self.backoff(attempt, rand) if safe else None
        if status == 409 and code == IN_FLIGHT_CODE:
            return self.backoff(attempt, rand)
        return None

    def backoff(self, attempt: int, rand=random.random) -> float:
        return rand() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
