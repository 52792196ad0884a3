"""Redis connections with timeouts, so a slow or absent Redis never hangs a request."""
from __future__ import annotations

from functools import lru_cache

from redis import Redis


@lru_cache(maxsize=8)
def connect(url: str, socket_timeout: float = 2.0) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=30,
    )
