"""The client API on the marketplace: an application's offers, the agreement to sign, accepting an
offer into a loan, and reading the loan. Real PostgreSQL with RLS; the application is opened for
offers and bid on through the real operations (tests/market/world.py), and the API's clock stands
one hour after the marketplace's NOW."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from blueprints.api import routes
from blueprints.api.openapi import document
from caas.audit.models import AuditEntry
from caas.core import tenant
from caas.events.models import OutboxMessage
from caas.loans.models import Loan
from caas.market import bids
from caas.market.models import Signature
from tests import factories
from tests.helpers import BASE
from tests.market.world import NOW, bid_input, lender, open_application

API_NOW = NOW + timedelta(hours=1)
SIGN = {"signature_name": "Adaeze Okoro", "consent": True}


def call(client, method, path, key, json=None, **headers):
    headers["Authorization"] = f"Bearer {key}"
    return client.open(f"/api/v1{path}", method=method, json=json, base_url=BASE, headers=headers)


def place(db, provider, listing_id, **values):
    with tenant.provider_scope(provider.id, db):
        return bids.place(db, factories.SYSTEM, provider.id, listing_id, bid_input(**values), NOW)


@pytest.fixture
def market(db, monkeypatch):
    """One client with three lenders bidding on one application of NGN 250,000.00 over 12 months:
    28% and 32% valid for days, and 25% (the cheapest) that expired before the API's now."""
    monkeypatch.setattr(routes, "utcnow", lambda: API_NOW)
    c = factories.client(db, display_name="Demo Lend")
    cheap, dear, lapsed = lender(db, c), lender(db, c), lender(db, c)
    opened = open_application(db, c)
    offers = {"cheap": place(db, cheap, opened.listing_id, rate="28"),
              "dear": place(db, dear, opened.listing_id, rate="32"),
              "lapsed": place(db, lapsed, opened.listing_id, rate="25", valid_until=NOW + timedelta(minutes=30))}
    key = factories.api_key(db, c)
    db.commit()
    return {"client": c, "key": key, "opened": opened, "app": str(opened.application_id),
            "offers": {name: str(bid.id) for name, bid in offers.items()},
            "lenders": {"cheap": cheap, "dear": dear, "lapsed": lapsed}}


def accept_path(m, offer="cheap"):
    return f"/applications/{m['app']}/offers/{m['offers'][offer]}/accept"


def count(db, client_id, model, *where):
    with tenant.tenant_scope(client_id, db):
        return db.scalar(select(func.count()).select_from(model).where(*where))


def accepted_events(db, client_id):
    with tenant.tenant_scope(client_id, db):
        return db.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "credit.offer.accepted")).all()


# --- Listing and the agreement ------------------------------------------------------------------------

def test_offers_are_ranked_by_apr_usable_first_with_the_best_marked_and_figures_to_the_cent(client, market):
    response = call(client, "GET", f"/applications/{market['app']}/offers", market["key"])
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    ids = market["offers"]
    # The expired 25% offer has the lowest APR but is not usable: it comes last and is not the best.
    assert [(o["id"], o["status"], o["best"]) for o in data] == [
        (ids["cheap"], "open", True), (ids["dear"], "open", False), (ids["lapsed"], "expired", False)]
    best = data[0]
    assert best["object"] == "offer" and best["application_id"] == market["app"]
    assert best["provider"] == {"id": str(market["lenders"]["cheap"].id),
                                "display_name": market["lenders"]["cheap"].legal_name}
    # 28% a year is 7/3% a month: the annuity on 250,000.00 over 12 months is 24,126.50 (the last
    # instalment 24,126.45 by rounding, 289,517.95 in all); the APR is 12 x the monthly IRR of 247,500.00
    # paid out (after the 2,500.00 fee) against those instalments.
    assert {k: best[k] for k in ("currency", "amount", "term_months", "annual_rate", "apr", "origination_fee",
                                 "monthly_payment", "total_repayable", "total_cost_of_credit")} == {
        "currency": "NGN", "amount": "250000.00", "term_months": 12, "annual_rate": "28.0000", "apr": "29.99",
        "origination_fee": "2500.00", "monthly_payment": "24126.50", "total_repayable": "289517.95",
        "total_cost_of_credit": "42017.95"}
    assert (data[1]["annual_rate"], data[1]["apr"], data[1]["monthly_payment"]) == ("32.0000", "34.01", "24618.38")


def test_the_agreement_is_the_exact_text_to_sign_and_its_hash(client, market):
    response = call(client, "GET", f"/applications/{market['app']}/offers/{market['offers']['cheap']}/agreement",
                    market["key"])
    assert response.status_code == 200, response.get_json()
    agreement = response.get_json()
    assert agreement["version"] == "LA-2026-11"
    assert agreement["sha256"] == hashlib.sha256(agreement["text"].encode("utf-8")).hexdigest()
    text = agreement["text"]
    assert "Borrower: Adaeze Okoro" in text and "Arranged through: Demo Lend" in text
    assert f"Lender: {market['lenders']['cheap'].legal_name}" in text
    assert "12 monthly instalments of NGN 24126.50" in text and "(APR) 29.99%" in text


# --- Accepting --------------------------------------------------------------------------------------------

def test_accept_makes_the_loan_with_its_schedule_and_a_second_accept_is_409_not_open(client, db, market):
    c, key = market["client"], market["key"]
    agreement = call(client, "GET", f"/applications/{market['app']}/offers/{market['offers']['cheap']}/agreement",
                     key).get_json()
    response = call(client, "POST", accept_path(market), key, {**SIGN, "agreement_sha256": agreement["sha256"]})
    assert response.status_code == 201, response.get_json()
    loan = response.get_json()
    assert loan["object"] == "loan" and loan["status"] == "pending_disbursement"
    assert loan["application_id"] == market["app"] and loan["offer_id"] == market["offers"]["cheap"]
    assert (loan["principal"], loan["origination_fee"], loan["amount_paid_out"]) == ("250000.00", "2500.00",
                                                                                      "247500.00")
    assert (loan["apr"], loan["monthly_payment"], loan["total_repayable"]) == ("29.99", "24126.50", "289517.95")
    schedule = loan["schedule"]
    assert [row["number"] for row in schedule] == list(range(1, 13))
    assert sum(Decimal(row["principal"]) for row in schedule) == Decimal("250000.00")
    assert sum(Decimal(row["total"]) for row in schedule) == Decimal("289517.95")
    assert (schedule[0]["due_date"], schedule[-1]["due_date"], schedule[-1]["balance"]) == \
        ("2026-12-22", "2027-11-22", "0.00")

    fetched = call(client, "GET", f"/loans/{loan['id']}", key)
    assert fetched.status_code == 200 and fetched.get_json() == loan

    again = call(client, "POST", accept_path(market, "dear"), key, SIGN)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_open"
    assert count(db, c.id, Loan) == 1
    assert len(accepted_events(db, c.id)) == 1

    listed = call(client, "GET", f"/applications/{market['app']}/offers", key).get_json()["data"]
    assert [(o["id"], o["status"], o["best"]) for o in listed] == [(market["offers"]["cheap"], "accepted", False)]
    signed = call(client, "GET", f"/applications/{market['app']}/offers/{market['offers']['cheap']}/agreement",
                  key).get_json()
    assert signed == agreement  # the text that was signed
    with tenant.tenant_scope(c.id, db):
        signature = db.scalar(select(Signature))
        assert (signature.channel, signature.typed_name, signature.agreement_sha256) == \
            ("api", "Adaeze Okoro", agreement["sha256"])
        audit = db.scalar(select(AuditEntry).where(AuditEntry.action == "offer.accept"))
        assert audit.actor_role == "api_key" and audit.after["channel"] == "api"


def test_an_idempotent_retry_replays_the_same_loan_and_makes_one_loan_and_one_event(client, db, market):
    c, key = market["client"], market["key"]
    first = call(client, "POST", accept_path(market), key, SIGN, **{"Idempotency-Key": "accept-1"})
    again = call(client, "POST", accept_path(market), key, SIGN, **{"Idempotency-Key": "accept-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json()["id"] == first.get_json()["id"]
    assert count(db, c.id, Loan) == 1
    events = accepted_events(db, c.id)
    assert [e.payload["loan_id"] for e in events] == [first.get_json()["id"]]


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"signature_name": "Ada Okoro", "consent": True}, "signature_mismatch", "signature_name"),
    ({"consent": True}, "signature_mismatch", "signature_name"),
    ({"signature_name": "Adaeze Okoro"}, "consent_required", "consent"),
    ({"signature_name": "Adaeze Okoro", "consent": "yes"}, "consent_required", "consent"),
    ({**SIGN, "agreement_sha256": "0" * 64}, "agreement_changed", "agreement_sha256"),
    ({**SIGN, "signature_name": 42}, "validation_failed", "signature_name"),
    ({**SIGN, "signature_name": "Adaeze" + " " * 300 + "Okoro"}, "validation_failed", "signature_name"),
    ({**SIGN, "agreement_sha256": ["x"]}, "validation_failed", "agreement_sha256"),
])
def test_a_refused_acceptance_names_the_field_and_makes_nothing(client, db, market, body, code, field):
    response = call(client, "POST", accept_path(market), market["key"], body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert count(db, market["client"].id, Loan) == 0 and accepted_events(db, market["client"].id) == []


def test_a_name_typed_in_other_case_and_spacing_still_signs(client, market):
    response = call(client, "POST", accept_path(market), market["key"],
                    {"signature_name": "  adaeze   OKORO ", "consent": True})
    assert response.status_code == 201, response.get_json()


def test_an_expired_offer_cannot_be_accepted(client, market):
    response = call(client, "POST", accept_path(market, "lapsed"), market["key"], SIGN)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "offer_expired"


def test_a_body_that_is_not_a_json_object_is_a_clear_error(client, market):
    response = client.post(f"/api/v1{accept_path(market)}", data="x=1", base_url=BASE,
                           headers={"Authorization": f"Bearer {market['key']}"})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_json"


# --- Isolation, ids and scopes ------------------------------------------------------------------------

def test_another_clients_key_gets_404_for_the_offers_the_agreement_the_accept_and_the_loan(client, db, market):
    loan = call(client, "POST", accept_path(market, "dear"), market["key"], SIGN).get_json()
    other = factories.client(db)
    key_b = factories.api_key(db, other)
    db.commit()
    base = f"/applications/{market['app']}/offers"
    assert call(client, "GET", base, key_b).status_code == 404
    assert call(client, "GET", f"{base}/{market['offers']['cheap']}/agreement", key_b).status_code == 404
    refused = call(client, "POST", accept_path(market), key_b, SIGN)
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "not_found"
    assert call(client, "GET", f"/loans/{loan['id']}", key_b).status_code == 404
    assert count(db, market["client"].id, Loan) == 1


@pytest.mark.parametrize("path", [
    "/applications/not-a-uuid/offers", "/applications/{app}/offers/not-a-uuid/agreement",
    "/applications/{app}/offers/00000000-0000-0000-0000-000000000000/agreement", "/loans/not-a-uuid",
    "/loans/00000000-0000-0000-0000-000000000000",
])
def test_malformed_or_unknown_ids_are_404(client, market, path):
    response = call(client, "GET", path.format(app=market["app"]), market["key"])
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("offer", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_accepting_a_malformed_or_unknown_offer_is_404(client, db, market, offer):
    response = call(client, "POST", f"/applications/{market['app']}/offers/{offer}/accept", market["key"], SIGN)
    assert response.status_code == 404
    assert count(db, market["client"].id, Loan) == 0


def test_each_endpoint_needs_its_scope(client, db, market):
    read_only = factories.api_key(db, market["client"], scopes=["applications:read"])
    db.commit()
    refused = call(client, "POST", accept_path(market), read_only, SIGN)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "insufficient_scope"
    assert call(client, "GET", "/loans/00000000-0000-0000-0000-000000000000", read_only).status_code == 403
    assert call(client, "GET", f"/applications/{market['app']}/offers", read_only).status_code == 200


# --- The OpenAPI document on real offers and a real loan -----------------------------------------------

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SCHEMA = schemathesis.openapi.from_dict(document())


def test_real_offers_agreements_and_loans_conform_to_the_document(app, market):
    auth = {"Authorization": f"Bearer {market['key']}"}
    ids = {"application_id": market["app"], "offer_id": market["offers"]["cheap"]}

    def check(path, method, **kwargs):
        return SCHEMA[path][method].Case(**kwargs).call_and_validate(app=app, headers=auth, checks=CHECKS)

    assert check("/applications/{application_id}/offers", "GET", path_parameters=ids).status_code == 200
    assert check("/applications/{application_id}/offers/{offer_id}/agreement", "GET",
                 path_parameters=ids).status_code == 200
    example = SCHEMA.raw_schema["paths"]["/applications/{application_id}/offers/{offer_id}/accept"]["post"][
        "requestBody"]["content"]["application/json"]["example"]
    accepted = check("/applications/{application_id}/offers/{offer_id}/accept", "POST", path_parameters=ids,
                     body=example, media_type="application/json")
    assert accepted.status_code == 201, accepted.text
    assert check("/applications/{application_id}/offers/{offer_id}/accept", "POST", path_parameters=ids,
                 body=example, media_type="application/json").status_code == 409
    assert check("/loans/{loan_id}", "GET", path_parameters={"loan_id": accepted.json()["id"]}).status_code == 200


def test_accept_saves_the_bank_account_sent_with_it_and_refuses_a_bad_one(db, client):
    from caas.market import bids as bid_ops
    from tests.market.world import bid_input as make_bid

    c = factories.client(db)
    provider = lender(db, c)
    opened = open_application(db, c, bank_account=None)
    with tenant.provider_scope(provider.id, db):
        offer = bid_ops.place(db, factories.SYSTEM, provider.id, opened.listing_id, make_bid(), NOW)
    key = factories.api_key(db, c)
    db.commit()
    path = f"/api/v1/applications/{opened.application_id}/offers/{offer.id}/accept"
    headers = {"Authorization": f"Bearer {key}"}
    missing = client.post(path, json={"signature_name": "Adaeze Okoro", "consent": True}, headers=headers,
                          base_url=BASE)
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "bank_account_required"
    bad = client.post(path, json={"signature_name": "Adaeze Okoro", "consent": True, "bank_account": {
        "bank_code": "058", "account_number": "123", "account_name": "Adaeze Okoro"}}, headers=headers, base_url=BASE)
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "bank_account.account_number"
    good = client.post(path, json={"signature_name": "Adaeze Okoro", "consent": True, "bank_account": {
        "bank_code": "058", "account_number": "0123456781", "account_name": "Adaeze Okoro"}}, headers=headers,
        base_url=BASE)
    assert good.status_code == 201, good.get_json()
