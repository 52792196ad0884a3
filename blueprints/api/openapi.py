"""The OpenAPI 3.1 document of /api/v1, written beside the code it describes. A schemathesis test
runs it against the app with a real key, so the two cannot drift without a red test."""
from __future__ import annotations

from caas.credit.applications import PURPOSES
from caas.credit.kyc import EMPLOYMENT, HOUSING
from caas.credit.models import ApplicationStatus
from caas.loans.models import LoanStatus

ERROR = {"$ref": "#/components/schemas/Error"}
DECIMAL = "^[0-9]{1,12}(\\.[0-9]{1,4})?$"
MONEY = {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "description": "decimal, major units"}
MONTHLY_AMOUNT = {"type": "string", "pattern": DECIMAL, "description": "decimal, major units, monthly"}
EXAMPLE_APPLICATION = {
    "applicant": {"email": "adaeze.okoro@example.com", "legal_name": "Adaeze Okoro", "date_of_birth": "1990-04-12",
                  "phone": "+2348031234567", "address": "12 Marina Road, Lagos", "national_id": "22345678901",
                  "employment_status": "employed", "employer": "Dangote Cement", "months_employed": 36,
                  "monthly_net_income": "450000.00", "monthly_expenses": "150000.00",
                  "existing_debt_payments": "20000.00", "housing": "rent"},
    "consents": {"data_processing": True, "credit_check": True},
    "amount": "250000.00", "currency": "NGN", "term_months": 12, "purpose": "business expansion"}


def _responses(ok_code: str, ok_schema: dict, *extra: str) -> dict:
    responses = {ok_code: {"description": "OK", "content": {"application/json": {"schema": ok_schema}}}}
    for code in ("401", "403", "429", *extra):
        responses[code] = {"description": "Error", "content": {"application/json": {"schema": ERROR}}}
    return responses


def document() -> dict:
    app_ref = {"$ref": "#/components/schemas/Application"}
    id_param = {"name": "application_id", "in": "path", "required": True, "schema": {"type": "string"}}
    offer_param = {"name": "offer_id", "in": "path", "required": True, "schema": {"type": "string"}}
    offer_ref = {"$ref": "#/components/schemas/Offer"}
    loan_ref = {"$ref": "#/components/schemas/Loan"}
    idem = {"name": "Idempotency-Key", "in": "header", "required": False,
            "description": "Replays the first response for 24 hours (Stripe's semantics); the same key with "
                           "other parameters answers 422, a duplicate still running 409.",
            "schema": {"type": "string", "pattern": "^[\\x20-\\x7e]{1,255}$"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "CaaS client API", "version": "1.0.0",
                 "description": "Credit-as-a-Service API for client systems. Authenticate with "
                                "'Authorization: Bearer <API key>'."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/ping": {"get": {"operationId": "ping", "responses": _responses("200", {
                "type": "object", "required": ["ok", "client", "mode", "scopes"],
                "properties": {"ok": {"type": "boolean"}, "client": {"type": "string"},
                               "mode": {"type": "string", "enum": ["sandbox", "live"]},
                               "scopes": {"type": "array", "items": {"type": "string"}}}})}},
            "/providers": {"get": {"operationId": "listProviders", "parameters": [
                {"name": "country", "in": "query", "description": "only the lenders of this country (ISO 3166 "
                 "alpha-2, any case)", "schema": {"type": "string", "pattern": "^[A-Za-z]{2}$"}}],
                "responses": _responses("200", {
                "type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": {
                    "type": "object", "required": ["id", "legal_name", "country", "currencies"],
                    "properties": {"id": {"type": "string"}, "legal_name": {"type": "string"},
                                   "country": {"type": "string"},
                                   "currencies": {"type": "array", "items": {"type": "string"}}}}}}},
                "422")}},
            "/usage": {"get": {
                "operationId": "getUsage",
                "description": "Usage of a month (default: this one) per metric against the plan's included units, "
                               "priced so far before tax, and that month's issued invoices.",
                "parameters": [{"name": "period", "in": "query",
                                "schema": {"type": "string", "pattern": "^2[0-9]{3}-(0[1-9]|1[0-2])$"}}],
                "responses": _responses("200", {
                    "type": "object", "required": ["period", "currency", "metrics", "estimate_minor", "invoices"],
                    "properties": {
                        "period": {"type": "string"}, "currency": {"type": "string"},
                        "estimate_minor": {"type": "integer"},
                        "metrics": {"type": "array", "items": {
                            "type": "object",
                            "required": ["metric", "quantity", "included_units", "billable_units", "amount_minor",
                                         "amount", "price"],
                            "properties": {"metric": {"type": "string"}, "quantity": {"type": "integer"},
                                           "included_units": {"type": "integer"},
                                           "billable_units": {"type": "integer"},
                                           "amount_minor": {"type": "integer"}, "amount": MONEY,
                                           "price": {"type": "string"}}}},
                        "invoices": {"type": "array", "items": {"type": "object", "required": [
                            "id", "number", "period", "status", "currency", "total_minor"]}}}}, "422")}},
            "/applications": {
                "post": {"operationId": "createApplication", "parameters": [idem],
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/ApplicationCreate"},
                             "example": EXAMPLE_APPLICATION}}},
                         "responses": _responses("201", app_ref, "404", "409", "422")},
                "get": {"operationId": "listApplications", "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string",
                                                                 "enum": [s.value for s in ApplicationStatus]}},
                    {"name": "created_after", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}}],
                    "responses": _responses("200", {
                        "type": "object", "required": ["data", "has_more", "next_cursor"],
                        "properties": {"data": {"type": "array", "items": app_ref}, "has_more": {"type": "boolean"},
                                       "next_cursor": {"type": ["string", "null"]}}}, "422")},
            },
            "/applications/{application_id}": {"get": {"operationId": "getApplication", "parameters": [id_param],
                                                        "responses": _responses("200", app_ref, "404")}},
            "/applications/{application_id}/withdraw": {"post": {
                "operationId": "withdrawApplication", "parameters": [id_param, idem],
                "responses": _responses("200", app_ref, "404", "409", "422")}},
            "/applications/{application_id}/offers": {"get": {
                "operationId": "listOffers", "parameters": [id_param],
                "description": "The lenders' offers, ranked by APR with the usable ones (open and still valid) "
                               "first; the lowest-APR usable offer has best: true. An offer whose valid_until has "
                               "passed shows status expired.",
                "responses": _responses("200", {"type": "object", "required": ["data"],
                                                "properties": {"data": {"type": "array", "items": offer_ref}}},
                                        "404")}},
            "/applications/{application_id}/offers/{offer_id}/agreement": {"get": {
                "operationId": "getOfferAgreement", "parameters": [id_param, offer_param],
                "description": "The exact loan agreement the borrower signs by accepting this offer (for an "
                               "accepted offer, the text that was signed). Show the text; send its sha256 with "
                               "the acceptance so that the terms cannot change under the signature.",
                "responses": _responses("200", {"$ref": "#/components/schemas/Agreement"}, "404")}},
            "/applications/{application_id}/offers/{offer_id}/accept": {"post": {
                "operationId": "acceptOffer", "parameters": [id_param, offer_param, idem],
                "description": "Accept an offer for the borrower, who signs by typing their full legal name. "
                               "One transaction makes the loan (pending disbursement) with its schedule and "
                               "sends the credit.offer.accepted event. 409 not_open: an offer on this "
                               "application was accepted already (or it is no longer open). 422: "
                               "consent_required, signature_mismatch, agreement_changed, offer_expired, "
                               "offer_unavailable, acceptance_closed, offer_unfunded, validation_failed.",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/AcceptOffer"},
                    "example": {"signature_name": "Adaeze Okoro", "consent": True}}}},
                "responses": _responses("201", loan_ref, "404", "409", "422")}},
            "/loans/{loan_id}": {"get": {
                "operationId": "getLoan",
                "parameters": [{"name": "loan_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": _responses("200", loan_ref, "404")}},
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                   "field": {"type": "string"},
                                   "fields": {"type": "array", "items": {
                                       "type": "object", "required": ["field", "message"],
                                       "properties": {"field": {"type": "string"},
                                                      "message": {"type": "string"}}}}}}}},
                "Applicant": {"type": "object", "required": [
                    "email", "legal_name", "date_of_birth", "phone", "address", "national_id", "employment_status",
                    "months_employed", "monthly_net_income", "monthly_expenses", "existing_debt_payments", "housing"],
                    "description": "The borrower, found or created by e-mail within the client. Text may not "
                                   "contain NUL characters.",
                    "properties": {
                        "email": {"type": "string", "format": "email", "maxLength": 254},
                        "legal_name": {"type": "string", "minLength": 2, "maxLength": 200},
                        "date_of_birth": {"type": "string", "format": "date",
                                          "description": "YYYY-MM-DD; the applicant is 18 to 120 years old"},
                        "phone": {"type": "string", "maxLength": 32, "description": "with country code, "
                                  "e.g. +2348031234567"},
                        "address": {"type": "string", "minLength": 5, "maxLength": 400},
                        "national_id": {"type": "string", "maxLength": 40,
                                        "description": "in the client's country's format: NG an 11-digit BVN or "
                                                       "NIN, GH GHA-123456789-0, KE 7 or 8 digits, ZA 13 digits, "
                                                       "elsewhere 5 to 20 letters, digits or hyphens"},
                        "employment_status": {"type": "string", "enum": list(EMPLOYMENT)},
                        "employer": {"type": ["string", "null"], "maxLength": 200,
                                     "description": "required when employed or self-employed"},
                        "months_employed": {"type": "integer", "minimum": 0, "maximum": 720},
                        "monthly_net_income": MONTHLY_AMOUNT, "monthly_expenses": MONTHLY_AMOUNT,
                        "existing_debt_payments": MONTHLY_AMOUNT,
                        "housing": {"type": "string", "enum": list(HOUSING)}}},
                "ApplicationCreate": {"type": "object", "required": ["applicant", "consents", "amount", "term_months",
                                                                     "purpose"],
                                      "properties": {
                                          "applicant": {"$ref": "#/components/schemas/Applicant"},
                                          "consents": {"type": "object",
                                                       "required": ["data_processing", "credit_check"],
                                                       "description": "both must be given (true)",
                                                       "properties": {
                                                           "data_processing": {"type": "boolean", "const": True},
                                                           "credit_check": {"type": "boolean", "const": True}}},
                                          "amount": {"type": "string", "pattern": DECIMAL,
                                                     "description": "decimal, major units, within the client's "
                                                                    "credit policy"},
                                          "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$",
                                                       "description": "ISO 4217, one of the client's policy "
                                                                      "currencies; the client's default if omitted"},
                                          "term_months": {"type": "integer", "minimum": 1,
                                                          "description": "one of the policy's allowed terms"},
                                          "purpose": {"type": "string", "enum": list(PURPOSES)}}},
                "Application": {"type": "object", "required": [
                    "id", "object", "status", "borrower_id", "amount", "amount_minor", "currency", "term_months",
                    "purpose", "indicative_monthly_payment", "indicative_apr", "channel", "submitted_at", "created_at",
                    "decision_reasons"],
                                "properties": {
                                    "id": {"type": "string", "format": "uuid"}, "object": {"const": "application"},
                                    "status": {"type": "string", "enum": [s.value for s in ApplicationStatus]},
                                    "borrower_id": {"type": "string", "format": "uuid"},
                                    "amount": {"type": ["string", "null"]}, "amount_minor": {"type": ["integer", "null"]},
                                    "currency": {"type": ["string", "null"]},
                                    "term_months": {"type": ["integer", "null"]},
                                    "purpose": {"type": ["string", "null"]},
                                    "indicative_monthly_payment": {"type": ["string", "null"]},
                                    "indicative_apr": {"type": ["string", "null"]},
                                    "channel": {"type": "string", "enum": ["portal", "api"]},
                                    "submitted_at": {"type": ["string", "null"], "format": "date-time"},
                                    "updated_at": {"type": ["string", "null"]},
                                    "created_at": {"type": ["string", "null"], "format": "date-time"},
                                    "decision_reasons": {"type": "array"}}},
                "Provider": {"type": "object", "required": ["id", "display_name"],
                             "properties": {"id": {"type": "string", "format": "uuid"},
                                            "display_name": {"type": "string"}}},
                "Offer": {"type": "object", "required": [
                    "id", "object", "application_id", "status", "provider", "currency", "amount", "term_months",
                    "annual_rate", "apr", "origination_fee", "monthly_payment", "total_repayable",
                    "total_cost_of_credit", "valid_until", "best"],
                    "description": "Amounts are decimal strings in major units; rates are percent strings.",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"}, "object": {"const": "offer"},
                        "application_id": {"type": "string", "format": "uuid"},
                        "status": {"type": "string", "enum": ["open", "expired", "accepted"],
                                   "description": "expired: valid_until has passed; accepted: the borrower "
                                                  "accepted it"},
                        "provider": {"$ref": "#/components/schemas/Provider"},
                        "currency": {"type": "string"}, "amount": MONEY, "term_months": {"type": "integer"},
                        "annual_rate": {"type": "string", "description": "nominal yearly rate, percent, 4 places"},
                        "apr": {"type": "string", "description": "annual percentage rate, percent, 2 places"},
                        "origination_fee": MONEY, "monthly_payment": MONEY, "total_repayable": MONEY,
                        "total_cost_of_credit": MONEY,
                        "valid_until": {"type": "string", "format": "date-time"},
                        "best": {"type": "boolean", "description": "the lowest APR among the usable offers"}}},
                "Agreement": {"type": "object", "required": ["version", "sha256", "text"],
                              "properties": {"version": {"type": "string"},
                                             "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                                                        "description": "SHA-256 of the UTF-8 text, hex"},
                                             "text": {"type": "string"}}},
                "AcceptOffer": {"type": "object", "required": ["signature_name", "consent"],
                                "properties": {
                                    "signature_name": {"type": "string", "maxLength": 200,
                                                       "description": "the borrower's full legal name as typed "
                                                                      "by them: their signature"},
                                    "consent": {"type": "boolean", "const": True,
                                                "description": "the borrower accepts the agreement"},
                                    "agreement_sha256": {"type": ["string", "null"],
                                                         "description": "the sha256 of the agreement shown; "
                                                                        "refused (agreement_changed) if the "
                                                                        "terms changed since"},
                                    "bank_account": {"type": "object",
                                                     "description": "where the payout goes, in the offer's "
                                                                    "currency; needed unless the borrower "
                                                                    "saved one in the portal",
                                                     "required": ["bank_code", "account_number", "account_name"],
                                                     "properties": {"bank_code": {"type": "string"},
                                                                    "account_number": {"type": "string"},
                                                                    "account_name": {"type": "string"}}}}},
                "Loan": {"type": "object", "required": [
                    "id", "object", "status", "application_id", "offer_id", "provider", "currency", "principal",
                    "origination_fee", "amount_paid_out", "annual_rate", "apr", "term_months", "monthly_payment",
                    "total_interest", "total_repayable", "start_date", "maturity_date", "schedule", "created_at"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"}, "object": {"const": "loan"},
                        "status": {"type": "string", "enum": [s.value for s in LoanStatus]},
                        "application_id": {"type": "string", "format": "uuid"},
                        "offer_id": {"type": "string", "format": "uuid"},
                        "provider": {"$ref": "#/components/schemas/Provider"},
                        "currency": {"type": "string"}, "principal": MONEY, "origination_fee": MONEY,
                        "amount_paid_out": MONEY, "annual_rate": {"type": "string"}, "apr": {"type": "string"},
                        "term_months": {"type": "integer"}, "monthly_payment": MONEY, "total_interest": MONEY,
                        "total_repayable": MONEY,
                        "start_date": {"type": "string", "format": "date"},
                        "maturity_date": {"type": "string", "format": "date"},
                        "schedule": {"type": "array", "items": {"$ref": "#/components/schemas/Installment"}},
                        "created_at": {"type": ["string", "null"], "format": "date-time"}}},
                "Installment": {"type": "object", "required": ["number", "due_date", "principal", "interest",
                                                               "total", "balance", "paid"],
                                "properties": {"number": {"type": "integer", "minimum": 1},
                                               "due_date": {"type": "string", "format": "date"},
                                               "principal": MONEY, "interest": MONEY, "total": MONEY,
                                               "balance": MONEY, "paid": MONEY}},
            },
        },
    }
