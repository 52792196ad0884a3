"""The OpenAPI 3.1 document of /api/v1, written beside the code it describes. A schemathesis test
runs it against the app with a real key, so the two cannot drift without a red test."""
from __future__ import annotations

from caas.credit.applications import PURPOSES
from caas.credit.models import ApplicationStatus

ERROR = {"$ref": "#/components/schemas/Error"}


def _responses(ok_code: str, ok_schema: dict, *extra: str) -> dict:
    responses = {ok_code: {"description": "OK", "content": {"application/json": {"schema": ok_schema}}}}
    for code in ("401", "403", "429", *extra):
        responses[code] = {"description": "Error", "content": {"application/json": {"schema": ERROR}}}
    return responses


def document() -> dict:
    app_ref = {"$ref": "#/components/schemas/Application"}
    id_param = {"name": "application_id", "in": "path", "required": True, "schema": {"type": "string"}}
    idem = {"name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
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
                             "schema": {"$ref": "#/components/schemas/ApplicationCreate"}}}},
                         "responses": _responses("201", app_ref, "404", "409", "422")},
                "get": {"operationId": "listApplications", "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string",
                                                                 "enum": [s.value for s in ApplicationStatus]}},
                    {"name": "created_after", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
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
                    "properties": {
                        "email": {"type": "string", "format": "email"}, "legal_name": {"type": "string"},
                        "date_of_birth": {"type": "string", "format": "date"}, "phone": {"type": "string"},
                        "address": {"type": "string"}, "national_id": {"type": "string"},
                        "employment_status": {"type": "string", "enum": ["employed", "self_employed", "unemployed",
                                                                         "student", "retired"]},
                        "employer": {"type": ["string", "null"]}, "months_employed": {"type": "integer"},
                        "monthly_net_income": {"type": "string", "description": "decimal, major units"},
                        "monthly_expenses": {"type": "string"}, "existing_debt_payments": {"type": "string"},
                        "housing": {"type": "string", "enum": ["own", "rent", "free"]}}},
                "ApplicationCreate": {"type": "object", "required": ["applicant", "consents", "amount", "term_months",
                                                                     "purpose"],
                                      "properties": {
                                          "applicant": {"$ref": "#/components/schemas/Applicant"},
                                          "consents": {"type": "object", "properties": {
                                              "data_processing": {"type": "boolean"},
                                              "credit_check": {"type": "boolean"}}},
                                          "amount": {"type": "string", "description": "decimal, major units"},
                                          "currency": {"type": "string", "minLength": 3, "maxLength": 3},
                                          "term_months": {"type": "integer"},
                                          "purpose": {"type": "string", "enum": list(PURPOSES)}}},
                "Application": {"type": "object", "required": ["id", "object", "status", "currency", "amount"],
                                "properties": {
                                    "id": {"type": "string"}, "object": {"const": "application"},
                                    "status": {"type": "string", "enum": [s.value for s in ApplicationStatus]},
                                    "borrower_id": {"type": "string"},
                                    "amount": {"type": ["string", "null"]}, "amount_minor": {"type": ["integer", "null"]},
                                    "currency": {"type": ["string", "null"]},
                                    "term_months": {"type": ["integer", "null"]},
                                    "purpose": {"type": ["string", "null"]},
                                    "indicative_monthly_payment": {"type": ["string", "null"]},
                                    "indicative_apr": {"type": ["string", "null"]},
                                    "channel": {"type": "string"},
                                    "submitted_at": {"type": ["string", "null"]},
                                    "created_at": {"type": ["string", "null"]},
                                    "decision_reasons": {"type": "array"}}},
            },
        },
    }
