"""The retry policy (pure) and the client applying it, over httpx.MockTransport: this tests the
client's policy, which a live server cannot be made to exercise on demand (429, 503 in a row)."""
from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from caas_sdk import CaaS, RetryPolicy
from caas_sdk.errors import APIConnectionError, RateLimitError, ServerError, ValidationError
from caas_sdk.retry import parse_retry_after

APPLICATION = {"id": "a1", "object": "application", "status": "submitted", "borrower_id": "b1", "amount": "500.00",
               "amount_minor": 50000, "currency": "NGN", "term_months": 12, "purpose": "education",
               "indicative_monthly_payment": None, "indicative_apr": None, "channel": "api",
               "submitted_at": None, "created_at": None, "decision_reasons": []}


def fail(status: int, code: str, **headers) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": f"{code}!"}}, headers=headers)


def scripted(*answers):
    """A client whose server answers ``answers`` in turn; returns it, the requests seen and the sleeps."""
    seen, sleeps = [], []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = CaaS("caas_live_test", base_url="http://api.test", transport=httpx.MockTransport(handler),
                  retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=8.0), sleep=sleeps.append)
    return client, seen, sleeps


def create(client, **kw):
    return client.applications.create(applicant={}, consents={}, amount="500", term_months=12, purpose="education", **kw)


# --- the policy ------------------------------------------------------------------------------------

@pytest.mark.parametrize("method,key,status,transport,retried", [
    ("GET", False, 503, False, True),
    ("GET", False, 500, False, True),
    ("POST", True, 502, False, True),      # the API replays or redoes: the key makes it safe
    ("POST", False, 503, False, False),    # may have been applied: never resent
    ("POST", False, None, True, False),
    ("GET", False, None, True, True),
    ("POST", False, 429, False, True),     # refused before doing anything, for any method
    ("GET", False, 404, False, False),
    ("POST", True, 422, False, False),
    ("GET", False, 501, False, False),     # not implemented will not become implemented
])
def test_which_failures_are_retried(method, key, status, transport, retried):
    wait = RetryPolicy().wait(1, method=method, has_idempotency_key=key, status=status, transport_error=transport,
                              rand=lambda: 1.0)
    assert (wait is not None) is retried


def test_backoff_is_exponential_with_full_jitter_and_capped():
    policy = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=4.0)
    assert [policy.backoff(n, rand=lambda: 1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.backoff(3, rand=lambda: 0.25) == 0.5  # a random share of the ceiling
    assert policy.wait(10, method="GET", has_idempotency_key=False, status=503) is None  # attempts used up


def test_retry_after_is_honoured_up_to_the_limit():
    policy = RetryPolicy(max_retry_after=60)
    assert policy.wait(1, method="POST", has_idempotency_key=False, status=429, retry_after=7) == 7
    assert policy.wait(1, method="GET", has_idempotency_key=False, status=429, retry_after=3600) is None


def test_retry_after_parses_seconds_and_http_dates():
    now = datetime(2026, 11, 22, 9, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Sun, 22 Nov 2026 09:00:30 GMT", now) == 30
    assert parse_retry_after("Sun, 22 Nov 2026 08:00:00 GMT", now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# --- the client applying it ---------------------------------------------------------------------------

def test_429_waits_retry_after_then_succeeds_and_the_post_keeps_its_idempotency_key():
    client, seen, sleeps = scripted(fail(429, "rate_limited", **{"Retry-After": "3"}),
                                    fail(503, "unavailable"), httpx.Response(201, json=APPLICATION))
    application = create(client)
    assert application.id == "a1" and application.amount == "500.00"
    assert sleeps[0] == 3 and 0 <= sleeps[1] <= 2.0  # Retry-After, then backoff for attempt 2
    keys = {r.headers["Idempotency-Key"] for r in seen}
    assert len(seen) == 3 and len(keys) == 1 and keys.pop().startswith("caas-sdk-")


def test_each_call_gets_its_own_generated_key_and_an_explicit_key_is_sent_as_given():
    client, seen, _ = scripted(*[httpx.Response(201, json=APPLICATION)] * 3)
    create(client)
    create(client)
    create(client, idempotency_key="order-42")
    keys = [r.headers["Idempotency-Key"] for r in seen]
    assert keys[0] != keys[1] and keys[2] == "order-42"


def test_a_long_retry_after_raises_at_once_with_the_wait():
    client, seen, sleeps = scripted(fail(429, "rate_limited", **{"Retry-After": "1800"}))
    with pytest.raises(RateLimitError) as caught:
        client.applications.get("a1")
    assert caught.value.code == "rate_limited" and caught.value.retry_after == 1800
    assert len(seen) == 1 and sleeps == []


def test_5xx_gives_up_after_max_attempts_with_a_typed_error():
    client, seen, sleeps = scripted(*[fail(503, "unavailable")] * 4)
    with pytest.raises(ServerError) as caught:
        client.applications.get("a1")
    assert caught.value.status == 503 and caught.value.code == "unavailable"
    assert len(seen) == 4 and len(sleeps) == 3


def test_a_dropped_connection_is_retried_for_a_get_and_reported_when_it_persists():
    client, seen, _ = scripted(httpx.ConnectError("refused"), httpx.Response(200, json=APPLICATION))
    assert client.applications.get("a1").status == "submitted"
    client, seen, _ = scripted(*[httpx.ReadTimeout("slow")] * 4)
    with pytest.raises(APIConnectionError):
        client.applications.get("a1")
    assert len(seen) == 4


def test_the_key_still_in_flight_is_retried_until_the_replay_comes():
    client, seen, _ = scripted(fail(409, "idempotency_key_in_use"), httpx.Response(201, json=APPLICATION))
    assert create(client, idempotency_key="k").id == "a1"
    assert [r.headers["Idempotency-Key"] for r in seen] == ["k", "k"]


def test_a_validation_error_is_not_retried_and_carries_every_field():
    body = {"error": {"code": "validation_failed", "message": "Enter a valid e-mail address.",
                      "field": "applicant.email", "fields": [
                          {"field": "applicant.email", "message": "Enter a valid e-mail address."},
                          {"field": "amount", "message": "Enter an amount."}]}}
    client, seen, _ = scripted(httpx.Response(422, json=body))
    with pytest.raises(ValidationError) as caught:
        create(client)
    error = caught.value
    assert (error.status, error.code, error.field) == (422, "validation_failed", "applicant.email")
    assert error.fields == {"applicant.email": "Enter a valid e-mail address.", "amount": "Enter an amount."}
    assert len(seen) == 1


def test_a_float_amount_is_refused_before_any_request():
    client, seen, _ = scripted()
    with pytest.raises(TypeError):
        client.applications.create(applicant={}, consents={}, amount=500.1, term_months=12, purpose="x")
    assert seen == []
