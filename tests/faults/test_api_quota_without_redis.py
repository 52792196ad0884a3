"""The API's per-key quota lives in Redis. With Redis down an API call must not fail (its jobs wait
in the outbox, tests/faults/test_redis_outage.py); the quota is then counted in the process's
memory, so it still holds."""
from __future__ import annotations

import redis

from caas.core.extensions import limiter
from tests import factories
from tests.helpers import BASE


def test_the_api_quota_is_counted_in_memory_while_redis_is_down(client, db, monkeypatch):
    c = factories.client(db, quota_api_calls_per_hour=3)
    key = factories.api_key(db, c)
    db.commit()

    def redis_down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(limiter.limiter, "hit", redis_down)  # the Redis-backed counter only
    statuses = [client.get("/api/v1/ping", base_url=BASE, headers={"Authorization": f"Bearer {key}"}).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
