"""Credit fixtures: the fake Prembly IdentityPass server (one per session, reset per test) and the
Prembly adapter pointed at it over HTTP."""
from __future__ import annotations

import pytest

from caas.credit.identity import PremblyVerifier
from tests.credit.fake_prembly import FakePrembly

PREMBLY_KEY, PREMBLY_APP = "live_sk_fake_prembly", "app-fake-0001"
TIMEOUT = 0.5  # seconds; the fake's hangs last longer


@pytest.fixture(scope="session")
def prembly_server():
    server = FakePrembly(PREMBLY_KEY, PREMBLY_APP).start()
    yield server
    server.stop()


@pytest.fixture
def prembly_fake(prembly_server):
    prembly_server.reset()
    yield prembly_server
    prembly_server.reset()


@pytest.fixture
def prembly(prembly_fake):
    verifier = PremblyVerifier(api_key=PREMBLY_KEY, app_id=PREMBLY_APP, base_url=prembly_fake.base_url,
                               timeout=TIMEOUT, connect_timeout=TIMEOUT, retries=1, backoff=0.01)
    yield verifier
    verifier.close()
