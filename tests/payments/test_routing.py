"""Routing by currency with failover, against the fake gateways over HTTP and the sandbox."""
from __future__ import annotations

import json

import pytest

from caas.payments.gateways import Recipient, SandboxGateway, TransferRequest, TransferStatus
from caas.payments.routing import NoRoute, OutcomeUnknown, Router, RoutingFailed, router_from_config

ADA = Recipient(name="Ada Obi", currency="NGN", account_number="0123456789", bank_code="058")


def ngn(reference="rt-1", recipient=ADA):
    return TransferRequest(reference=reference, amount_minor=150_000, currency="NGN", recipient=recipient)


@pytest.fixture
def router(paystack, flutterwave, stripe):
    return Router({"paystack": paystack, "flutterwave": flutterwave, "stripe": stripe})


def attempts(decision):
    return [(a.gateway, a.outcome, a.error_code) for a in decision.attempts]


def test_ngn_goes_to_paystack_first_and_the_decision_says_so(router, fake):
    routed = router.transfer(ngn())
    assert routed.result.gateway == "paystack" and routed.result.status is TransferStatus.pending
    assert (routed.decision.currency, routed.decision.candidates, routed.decision.chosen) == (
        "NGN", ("paystack", "flutterwave"), "paystack")
    assert attempts(routed.decision) == [("paystack", "pending", None)]
    assert json.loads(json.dumps(routed.decision.as_dict()))["chosen"] == "paystack"  # storable as JSON


@pytest.mark.parametrize("currency", ["USD", "EUR", "GBP"])
def test_usd_eur_gbp_go_to_stripe(router, currency):
    request = TransferRequest("rt-s", 5_000, currency, Recipient("C", currency, destination="ba_1"))
    assert router.transfer(request).decision.chosen == "stripe"


def test_retryable_refusal_fails_over_to_the_next_gateway(router, fake):
    fake.balance[("paystack", "NGN")] = 0  # our Paystack balance is empty
    routed = router.transfer(ngn("rt-fo"))
    assert routed.decision.chosen == "flutterwave"
    assert attempts(routed.decision) == [("paystack", "error", "insufficient_gateway_balance"),
                                         ("flutterwave", "pending", None)]
    assert (fake.count("paystack", "rt-fo"), fake.count("flutterwave_v3", "rt-fo")) == (0, 1)


def test_ambiguous_error_that_did_not_execute_is_checked_then_fails_over(router, fake):
    fake.fail("paystack", "POST", "/transfer", status=503)  # answered before executing
    routed = router.transfer(ngn("rt-503"))
    assert routed.decision.chosen == "flutterwave"
    assert attempts(routed.decision) == [("paystack", "error", "gateway_unavailable"), ("paystack", "not_found", None),
                                         ("flutterwave", "pending", None)]
    assert (fake.count("paystack", "rt-503"), fake.count("flutterwave_v3", "rt-503")) == (0, 1)


def test_ambiguous_error_that_did_execute_never_pays_twice(router, fake):
    fake.hang("paystack", "POST", "/transfer", seconds=1.0)  # Paystack paid, but the answer was lost
    routed = router.transfer(ngn("rt-lost"))
    assert routed.decision.chosen == "paystack"
    assert attempts(routed.decision) == [("paystack", "error", "timeout"), ("paystack", "pending", None)]
    assert (fake.count("paystack", "rt-lost"), fake.count("flutterwave_v3", "rt-lost")) == (1, 0)


def test_unresolvable_ambiguity_stops_routing(router, fake):
    fake.fail("paystack", "POST", "/transfer", status=500, when="after")
    fake.fail("paystack", "GET", "/transfer/verify/rt-unk", status=503)
    with pytest.raises(OutcomeUnknown) as unknown:
        router.transfer(ngn("rt-unk"))
    assert unknown.value.gateway == "paystack" and unknown.value.retryable
    assert fake.count("flutterwave_v3", "rt-unk") == 0  # never paid elsewhere while Paystack may have paid


def test_non_retryable_refusal_does_not_fail_over(router, fake):
    no_bank = Recipient("No Bank", "NGN", "0123456789", "")
    with pytest.raises(RoutingFailed) as failed:
        router.transfer(ngn("rt-bad", recipient=no_bank))
    assert failed.value.retryable is False
    assert [a.gateway for a in failed.value.decision.attempts] == ["paystack"]
    assert fake.count("flutterwave_v3", "rt-bad") == 0


def test_every_gateway_failing_retryably_is_a_retryable_routing_failure(router, fake):
    fake.balance[("paystack", "NGN")] = 0
    fake.balance[("flutterwave_v3", "NGN")] = 0
    with pytest.raises(RoutingFailed) as failed:
        router.transfer(ngn("rt-none"))
    assert failed.value.retryable is True
    assert attempts(failed.value.decision) == [("paystack", "error", "insufficient_gateway_balance"),
                                               ("flutterwave", "error", "insufficient_gateway_balance")]


def test_exclude_skips_a_gateway(router):
    assert router.transfer(ngn("rt-ex"), exclude=["paystack"]).decision.chosen == "flutterwave"


def test_configured_order_overrides_the_default(paystack, flutterwave):
    router = Router({"paystack": paystack, "flutterwave": flutterwave}, {"ngn": ["flutterwave", "paystack"]})
    assert router.candidates("NGN") == ["flutterwave", "paystack"]
    assert router.candidates("GHS") == ["paystack", "flutterwave"]  # untouched default


@pytest.mark.parametrize("currency", ["XYZ", "JPY", "", "naira"])
def test_a_currency_no_configured_gateway_handles_is_refused(router, fake, currency):
    with pytest.raises(NoRoute) as refused:
        router.transfer(TransferRequest("rt-x", 100, currency, Recipient("X", currency, "0000000001", "1")))
    assert refused.value.code == "no_gateway_for_currency"
    assert fake.requests == []  # refused before any gateway was called


def test_sandbox_handles_everything_in_development():
    router = router_from_config({"CAAS_ENV": "development"})
    assert list(router.gateways) == ["sandbox"]
    for currency in ("NGN", "USD", "JPY", "UGX"):
        assert router.candidates(currency) == ["sandbox"]
    routed = router.transfer(TransferRequest("dev-1", 100, "JPY", Recipient("X", "JPY", "0000000001", "1")))
    assert (routed.decision.chosen, routed.result.status) == ("sandbox", TransferStatus.succeeded)


def test_production_without_configuration_routes_nothing():
    router = router_from_config({"CAAS_ENV": "production"})
    with pytest.raises(NoRoute):
        router.transfer(ngn())


def test_sandbox_outage_fails_over_to_the_next_sandbox_like_gateway():
    """Failover with the sandbox's documented outage rule (account ends in 8)."""
    down, up = SandboxGateway(), SandboxGateway()
    router = Router({"a": down, "b": up}, {"*": ["a", "b"]})
    outage = Recipient("X", "NGN", "0000000008", "1")
    with pytest.raises(RoutingFailed) as failed:  # both sandboxes follow the same rule
        router.transfer(ngn("sb-out", recipient=outage))
    assert [a.error_code for a in failed.value.decision.attempts] == ["gateway_unavailable", "gateway_unavailable"]


def test_router_from_config_builds_configured_gateways(fake):
    from tests.payments.conftest import SECRETS

    router = router_from_config({
        "PAYMENT_GATEWAYS": {"paystack": {"secret_key": SECRETS["paystack"], "base_url": fake.base_url("paystack")},
                             "sandbox": {}},
        "PAYMENT_ROUTES": {"*": ["sandbox"]}})
    assert router.candidates("NGN") == ["paystack"]
    assert router.candidates("USD") == ["sandbox"]  # stripe is not configured: the fallback route
    assert router.transfer(ngn("cfg-1")).decision.chosen == "paystack"
