"""Payments fixtures: the contracts file (read from ../shared/reference, never copied here), one
fake gateway server per session (state reset per test), and adapters pointed at it over HTTP."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from caas.payments.gateways import FlutterwaveGateway, PaystackGateway, StripeGateway
from tests.payments.fake_gateway import FakeGateways

SECRETS = {
    "paystack": "sk_test_paystack_fake",
    "flutterwave_v3": "FLWSECK_TEST-fake",
    "flutterwave_hash": "my-dashboard-secret-hash",
    "stripe": "sk_test_stripe_fake",
    "stripe_webhook": "whsec_fake_endpoint_secret",
}
TIMEOUT = 0.5  # seconds; the fake's "hang" faults wait longer than this


def reference_dir() -> Path:
    override = os.environ.get("CAAS_REFERENCE_DIR")
    if override:
        return Path(override)
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "reference").resolve()


@pytest.fixture(scope="session")
def contracts() -> dict:
    path = reference_dir() / "gateway_contracts.json"
    if not path.is_file():  # an error, not a skip: contract tests must not pass vacuously
        raise FileNotFoundError(f"{path} not found; set CAAS_REFERENCE_DIR to the shared reference directory")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def fake_server(contracts):
    server = FakeGateways(contracts, SECRETS).start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server):
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture
def paystack(fake):
    gateway = PaystackGateway(secret_key=SECRETS["paystack"], base_url=fake.base_url("paystack"), timeout=TIMEOUT)
    yield gateway
    gateway.close()


@pytest.fixture
def flutterwave(fake):
    gateway = FlutterwaveGateway(secret_key=SECRETS["flutterwave_v3"], secret_hash=SECRETS["flutterwave_hash"],
                                 base_url=fake.base_url("flutterwave_v3"), timeout=TIMEOUT)
    yield gateway
    gateway.close()


@pytest.fixture
def stripe(fake):
    gateway = StripeGateway(secret_key=SECRETS["stripe"], webhook_secret=SECRETS["stripe_webhook"],
                            base_url=fake.base_url("stripe"), timeout=TIMEOUT)
    yield gateway
    gateway.close()
