"""The sandbox gateway's documented rules, its idempotency, and its Redis-backed store."""
from __future__ import annotations

import threading
import uuid

import pytest
import redis

from caas.payments.gateways import (GatewayError, InvalidSignature, MemoryStore, Recipient, RedisStore,
                                    SandboxGateway, TransferRequest, TransferStatus, gateway_from_config)
from caas.payments.gateways.base import ChargeRequest


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sandbox(clock):
    return SandboxGateway(settle_after=5.0, clock=clock)


def request(account: str, reference: str | None = None, amount: int = 10_000, currency: str = "NGN"):
    return TransferRequest(reference=reference or f"sb-{uuid.uuid4().hex[:8]}", amount_minor=amount,
                           currency=currency, recipient=Recipient("Test", currency, account, "058"))


@pytest.mark.parametrize("account, status", [("0123456781", TransferStatus.succeeded),
                                             ("0123456780", TransferStatus.failed),
                                             ("0123456789", TransferStatus.pending),
                                             ("0123456787", TransferStatus.succeeded)])
def test_outcome_follows_the_last_digit(sandbox, account, status):
    result = sandbox.initiate_transfer(request(account))
    assert result.status is status
    assert (result.failure_reason is not None) is (status is TransferStatus.failed)


def test_ends_in_9_settles_on_a_verify_after_the_delay_and_stays_settled(sandbox, clock):
    sent = sandbox.initiate_transfer(request("0000000009", "sb-9"))
    clock.now += 4.9
    assert sandbox.verify_transfer("sb-9").status is TransferStatus.pending
    clock.now += 0.1
    settled = sandbox.verify_transfer("sb-9")
    assert settled.status is TransferStatus.succeeded and settled.gateway_id == sent.gateway_id
    clock.now += 3600
    assert sandbox.verify_transfer("sb-9") == settled  # verify is idempotent
    assert sandbox.initiate_transfer(request("0000000009", "sb-9")).status is TransferStatus.succeeded


def test_ends_in_7_is_reversed_later(sandbox, clock):
    sandbox.initiate_transfer(request("0000000007", "sb-7"))
    assert sandbox.verify_transfer("sb-7").status is TransferStatus.succeeded
    clock.now += 5
    assert sandbox.verify_transfer("sb-7").status is TransferStatus.reversed
    assert sandbox.verify_transfer("sb-7").status is TransferStatus.reversed


def test_ends_in_8_is_a_retryable_outage_that_records_nothing(sandbox):
    with pytest.raises(GatewayError) as error:
        sandbox.initiate_transfer(request("0000000008", "sb-8"))
    assert (error.value.retryable, error.value.ambiguous) == (True, False)
    with pytest.raises(GatewayError, match="not_found"):
        sandbox.verify_transfer("sb-8")


def test_a_reference_is_one_transfer(sandbox):
    first = sandbox.initiate_transfer(request("0000000001", "sb-once"))
    assert sandbox.initiate_transfer(request("0000000001", "sb-once")).gateway_id == first.gateway_id
    with pytest.raises(GatewayError) as error:
        sandbox.initiate_transfer(request("0000000001", "sb-once", amount=10_001))
    assert (error.value.code, error.value.retryable) == ("reference_conflict", False)


def test_every_currency_is_supported(sandbox):
    assert sandbox.supports("UGX") and sandbox.supports("usd") and not sandbox.supports("XYZ")


def test_charges(sandbox):
    assert sandbox.charge_authorization(ChargeRequest("c1", 500, "NGN", "AUTH_1", "a@b.c")).status \
        is TransferStatus.succeeded
    assert sandbox.charge_authorization(ChargeRequest("c2", 500, "NGN", "AUTH_0", "a@b.c")).status \
        is TransferStatus.failed


def test_webhook_round_trip_and_tampering(sandbox):
    sandbox.initiate_transfer(request("0000000001", "sb-wh", amount=777))
    headers, body = sandbox.build_webhook("sb-wh")
    event = sandbox.parse_webhook(headers, body)
    assert (event.reference, event.status, event.amount_minor) == ("sb-wh", TransferStatus.succeeded, 777)
    with pytest.raises(InvalidSignature):
        sandbox.parse_webhook(headers, body.replace(b"777", b"778"))


@pytest.fixture
def redis_store(found_services):
    client = redis.Redis.from_url(found_services.redis_url)
    prefix = f"test-sandbox-{uuid.uuid4().hex[:8]}:"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_redis_store_shares_state_between_instances_and_creates_once(redis_store, clock):
    client, prefix = redis_store
    one = SandboxGateway(store=RedisStore(client, prefix), clock=clock)
    other = SandboxGateway(store=RedisStore(client, prefix), clock=clock)  # e.g. the worker process

    results: list = []
    threads = [threading.Thread(target=lambda: results.append(one.initiate_transfer(request("0000000009", "sb-r"))))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.gateway_id for r in results}) == 1  # six racing initiations, one transfer
    clock.now += 5
    assert other.verify_transfer("sb-r").status is TransferStatus.succeeded
    assert one.verify_transfer("sb-r").status is TransferStatus.succeeded
    assert len(list(client.scan_iter(f"{prefix}*"))) == 1


def test_factory_builds_each_gateway_from_its_settings(found_services):
    assert isinstance(gateway_from_config("sandbox").store, MemoryStore)
    shared = gateway_from_config("sandbox", {"redis_url": found_services.redis_url, "settle_after": 2})
    assert isinstance(shared.store, RedisStore) and shared.settle_after == 2.0
    paystack = gateway_from_config("Paystack", {"secret_key": "sk", "base_url": "http://x/", "timeout": 3,
                                                "currencies": ["ngn"]})
    assert (paystack.name, paystack.base_url, paystack.currencies) == ("paystack", "http://x", frozenset({"NGN"}))
    assert gateway_from_config("stripe", {"secret_key": "sk"}).base_url == "https://api.stripe.com/v1"
    assert gateway_from_config("flutterwave", {"secret_key": "sk"}).base_url == "https://api.flutterwave.com/v3"
    with pytest.raises(ValueError, match="secret_key"):
        gateway_from_config("paystack", {})
    with pytest.raises(ValueError, match="unknown gateway"):
        gateway_from_config("paypal", {"secret_key": "sk"})
