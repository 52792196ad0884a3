"""The OpenAPI 3.1 document of /api/v1, written beside the code it describes. A schemathesis test
runs it against the app with a real key, so the two cannot drift without a red test."""
from __future__ import annotations

from caas.credit.applications import PURPOSES
from caas.credit.kyc import EMPLOYMENT, HOUSING
from caas.credit.models import ApplicationStatus

ERROR = {"$ref": "#/components/schemas/Error"}
DECIMAL = "^[0-9]{1,12}(\\.[0-9]{1,4})?$"
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
            "/providers": {"get": {"operationId": "listProviders", "responses": _responses("200", {
                "type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": {
                    "type": "object", "required": ["id", "legal_name", "country", "currencies"],
                    "properties": {"id": {"type": "string"}, "legal_name": {"type": "string"},
                                   "country": {"type": "string"},
                                   "currencies": {"type": "array", "items": {"type": "string"}}}}}}})}},
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
                "responses": _responses("200", {"type": "object", "required": ["data"],
                                                "properties": {"data": {"type": "array", "items": {"type": "object"}}}},
                                        "404")}},
            "/applications/{application_id}/offers/{offer_id}/accept": {"post": {
                "operationId": "acceptOffer",
                "parameters": [id_param, {"name": "offer_id", "in": "path", "required": True, "schema": {"type": "string"}},
                               idem],
                "responses": _responses("200", {"type": "object"}, "404", "409", "422")}},
            "/loans/{loan_id}": {"get": {
                "operationId": "getLoan",
                "parameters": [{"name": "loan_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": _responses("200", {"type": "object"}, "404")}},
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
            },
        },
    }
