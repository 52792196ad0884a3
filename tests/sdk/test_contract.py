"""The SDK cannot drift from the API: its operations, parameters and models are checked against the
OpenAPI document the app serves, and the checker is shown to catch each kind of difference."""
from __future__ import annotations

import copy

import httpx
import pytest

from blueprints.api.openapi import document
from caas_sdk import contract
from caas_sdk.endpoints import GET_LOAN, uses


def test_the_sdk_matches_the_openapi_document():
    assert contract.problems(document()) == []


def test_the_served_document_is_the_one_checked(world):
    served = httpx.get(f"{world.url}/api/v1/openapi.json", timeout=30).json()
    assert served == document()
    assert contract.main([world.url]) == 0


def schemas(spec):
    return spec["components"]["schemas"]


def op(spec, path, method="get"):
    return spec["paths"][path][method]


DOCTORED = [
    ("a response field the SDK lacks",
     lambda s: schemas(s)["Offer"]["properties"].update(fee_percent={"type": "string"}),
     "OfferList.data[]: Offer: the response has 'fee_percent'"),
    ("a field the API dropped",
     lambda s: schemas(s)["Loan"]["properties"].pop("apr"),
     "Loan: the model has 'apr', the response schema does not"),
    ("a nested model's field",
     lambda s: schemas(s)["Installment"]["properties"].pop("paid"),
     "Loan.schedule[]: Installment: the model has 'paid'"),
    ("a type change",
     lambda s: schemas(s)["Offer"]["properties"].update(term_months={"type": "string"}),
     "Offer.term_months: string in the document, integer in the model"),
    ("a field that may now be null",
     lambda s: schemas(s)["Application"]["properties"].update(channel={"type": ["string", "null"]}),
     "Application.channel: may be null or absent in the document, required in the model"),
    ("a renamed query parameter",
     lambda s: op(s, "/applications")["parameters"][3].update(name="page_size"),
     "query parameters ['created_after', 'cursor', 'page_size', 'status'] in the document"),
    ("a POST without Idempotency-Key",
     lambda s: op(s, "/applications/{application_id}/withdraw", "post")["parameters"].pop(),
     "Idempotency-Key is not declared in the document but sent by the SDK"),
    ("a removed operation",
     lambda s: s["paths"].pop("/loans/{loan_id}"),
     "GET /loans/{loan_id}: not in the OpenAPI document"),
    ("a new operation",
     lambda s: s["paths"].update({"/loans/{loan_id}/payments": {"get": {"operationId": "listPayments"}}}),
     "GET /loans/{loan_id}/payments: in the OpenAPI document but not in the SDK"),
    ("a renamed operation",
     lambda s: op(s, "/loans/{loan_id}").update(operationId="fetchLoan"),
     "operationId is 'fetchLoan', the SDK says 'getLoan'"),
    ("a newly required body field",
     lambda s: schemas(s)["ApplicationCreate"]["required"].append("channel"),
     "the request schema requires 'channel', which the SDK never sends"),
    ("a changed success status",
     lambda s: op(s, "/applications", "post")["responses"].update({"200": op(s, "/applications", "post")[
         "responses"].pop("201")}),
     "POST /applications: no 201 response in the document"),
]


@pytest.mark.parametrize("label,doctor,expected", DOCTORED, ids=[d[0] for d in DOCTORED])
def test_the_checker_fails_on_a_doctored_document(label, doctor, expected):
    spec = copy.deepcopy(document())
    doctor(spec)
    found = contract.problems(spec)
    assert any(expected in line for line in found), found


def test_the_checker_fails_on_a_method_whose_parameters_the_operation_lacks():
    @uses(GET_LOAN)
    def get(self, loan_id: str, include_payments: bool = False):
        raise NotImplementedError

    def unmarked(self):
        raise NotImplementedError

    found = contract.problems(document(), methods=[get, unmarked])
    assert any("parameter 'include_payments' is not a parameter of getLoan" in line for line in found)
    assert any("unmarked: calls no declared endpoint" in line for line in found)
