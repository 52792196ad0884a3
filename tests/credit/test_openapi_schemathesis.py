"""The OpenAPI document against the code: schemathesis generates requests for every operation of
/api/v1/openapi.json (valid and invalid ones), sends them in-process to the WSGI app with a real
API key, and checks that no response is a server error and that every response conforms to the
document (a documented status code, its content type, and a body matching its schema).

Bounded and repeatable: the document's examples plus at most 25 generated examples per operation
(valid and invalid), derandomised, no example database, no network; each operation runs in its own
test, rolled back afterwards. Schemathesis' coverage phase is off by default: on this document it
spends minutes generating boundary cases at collection time. For a deeper run, set
CAAS_SCHEMATHESIS_EXAMPLES=500 and CAAS_SCHEMATHESIS_COVERAGE=1 (CAAS_SCHEMATHESIS_RANDOM=1 to
draw new examples each run). Below the
generated run, explicit cases pin the inputs that once answered 500, and the operations that take
an id run against a real application.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from blueprints.api.openapi import document
from tests import factories
from tests.helpers import BASE

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

MAX_EXAMPLES = int(os.environ.get("CAAS_SCHEMATHESIS_EXAMPLES", "25"))
COVERAGE = os.environ.get("CAAS_SCHEMATHESIS_COVERAGE") == "1"
DERANDOMIZE = os.environ.get("CAAS_SCHEMATHESIS_RANDOM") != "1"

schema = schemathesis.openapi.from_dict(
    document(), config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": COVERAGE}}}))


@pytest.fixture
def auth_headers(db):
    """A real live key with every scope for a fresh client whose hourly quota cannot interfere."""
    tenant = factories.client(db, quota_api_calls_per_hour=1_000_000)
    key = factories.api_key(db, tenant)
    db.commit()
    return {"Authorization": f"Bearer {key}"}


def test_the_served_document_is_the_one_tested(client):
    served = client.get("/api/v1/openapi.json", base_url=BASE)
    assert served.status_code == 200 and served.mimetype == "application/json"
    assert served.get_json() == schema.raw_schema


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=DERANDOMIZE, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, app, auth_headers):
    case.call_and_validate(app=app, headers=auth_headers, checks=CHECKS)


def _call(app, auth, path, method, **case_kwargs):
    """One explicit case of an operation, sent and checked like the generated ones."""
    case = schema[path][method].Case(**case_kwargs)
    return case.call_and_validate(app=app, headers=auth, checks=CHECKS)


def test_the_documented_example_is_accepted(app, auth_headers):
    example = schema.raw_schema["paths"]["/applications"]["post"]["requestBody"]["content"]["application/json"]
    response = _call(app, auth_headers, "/applications", "POST", body=example["example"],
                     media_type="application/json")
    assert response.status_code == 201, response.text


def test_operations_on_a_real_application_conform(app, auth_headers):
    created = _call(app, auth_headers, "/applications", "POST", body=factories.application_body(),
                    media_type="application/json", headers={"Idempotency-Key": "real-1"})
    assert created.status_code == 201, created.text
    ident = created.json()["id"]
    replayed = _call(app, auth_headers, "/applications", "POST", body=factories.application_body(),
                     media_type="application/json", headers={"Idempotency-Key": "real-1"})
    assert replayed.status_code == 422 and replayed.json()["error"]["code"] == "idempotency_key_reused"
    path = {"application_id": ident}
    assert _call(app, auth_headers, "/applications/{application_id}", "GET", path_parameters=path).status_code == 200
    page = _call(app, auth_headers, "/applications", "GET", query={"limit": 1, "status": "submitted"})
    assert [a["id"] for a in page.json()["data"]] == [ident]
    assert _call(app, auth_headers, "/applications/{application_id}/offers", "GET",
                 path_parameters=path).status_code == 200
    assert _call(app, auth_headers, "/applications/{application_id}/offers/{offer_id}/accept", "POST",
                 path_parameters={**path, "offer_id": "no-such-offer"}).status_code == 404
    assert _call(app, auth_headers, "/applications/{application_id}/withdraw", "POST",
                 path_parameters=path).status_code == 200
    again = _call(app, auth_headers, "/applications/{application_id}/withdraw", "POST", path_parameters=path)
    assert again.status_code == 422 and again.json()["error"]["code"] == "not_withdrawable"


# Inputs that answered 500 before the API checked JSON types, sizes and NUL characters at the boundary.
BAD_APPLICANT = [
    ("legal_name", 123), ("date_of_birth", 19900101), ("phone", 2348031234567), ("national_id", 22345678901),
    ("address", ["12 Marina Road"]), ("employer", 5), ("legal_name", "Ada\x00 Okoro"),
    ("address", "12 Marina\x00 Road"), ("email", "ada\x00@example.com"), ("email", "a" * 300 + "@example.com"),
    ("legal_name", "A" * 201), ("monthly_net_income", "1e30"), ("monthly_net_income", "NaN"),
    ("monthly_expenses", "Infinity"), ("existing_debt_payments", {"amount": 1}), ("months_employed", [36]),
]


@pytest.mark.parametrize(("field", "value"), BAD_APPLICANT)
def test_a_badly_typed_or_sized_applicant_field_is_a_422_naming_it(app, auth_headers, field, value):
    body = factories.application_body(applicant=factories.applicant(**{field: value}))
    response = _call(app, auth_headers, "/applications", "POST", body=body, media_type="application/json")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and f"applicant.{field}" in {f["field"] for f in error["fields"]}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"consents": "yes"}, "consents"), ({"consents": [True]}, "consents"), ({"currency": 5}, "currency"),
    ({"currency": "XYZ"}, "currency"), ({"purpose": ["personal"]}, "purpose"),
])
def test_a_badly_typed_application_field_is_a_422_naming_it(app, auth_headers, overrides, field):
    response = _call(app, auth_headers, "/applications", "POST", body=factories.application_body(**overrides),
                     media_type="application/json")
    assert response.status_code == 422, response.text
    assert field in {f["field"] for f in response.json()["error"]["fields"]}


def test_bad_idempotency_key_and_limit_are_422(app, auth_headers):
    nul_key = _call(app, auth_headers, "/applications", "POST", body=factories.application_body(),
                    media_type="application/json", headers={"Idempotency-Key": "a\x00b"})
    assert nul_key.status_code == 422 and nul_key.json()["error"]["code"] == "invalid_idempotency_key"
    for limit in ("abc", "0", "101"):
        listed = _call(app, auth_headers, "/applications", "GET", query={"limit": limit})
        assert listed.status_code == 422 and listed.json()["error"]["code"] == "invalid_limit"
