"""The client: ``CaaS(api_key=...)`` with one namespace per resource.

    from caas_sdk import CaaS
    caas = CaaS()                          # CAAS_API_KEY and CAAS_BASE_URL from the environment
    app = caas.applications.create(applicant={...}, consents={...}, amount="50000", currency="NGN",
                                   term_months=12, purpose="business expansion")
    for a in caas.applications.list(status="open_for_offers"):   # every page, fetched as needed
        ...
"""
from __future__ import annotations

import os
import time
import uuid
from typing import Any, Callable, Iterator
from urllib.parse import quote

import httpx

from caas_sdk import endpoints as ep
from caas_sdk import errors
from caas_sdk import models as m
from caas_sdk.endpoints import Endpoint, uses
from caas_sdk.retry import RetryPolicy, parse_retry_after

__version__ = "0.1.0"
DEFAULT_BASE_URL = "http://localhost:5000"


def new_idempotency_key() -> str:
    return f"caas-sdk-{uuid.uuid4()}"


class CaaS:
    """A client of one CaaS deployment with one API key. Thread-safe as httpx.Client is."""

    def __init__(self, api_key: str | None = None, *, base_url: str | None = None, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        api_key = api_key or os.environ.get("CAAS_API_KEY")
        if not api_key:
            raise errors.AuthenticationError(401, "missing_api_key",
                                             "No API key: pass api_key= or set CAAS_API_KEY.")
        self.base_url = (base_url or os.environ.get("CAAS_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(base_url=f"{self.base_url}/api/v1", timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json",
                                           "User-Agent": f"caas-sdk-python/{__version__}"})
        self.applications = Applications(self)
        self.offers = Offers(self)
        self.loans = Loans(self)
        self.providers = Providers(self)
        self.usage = UsageResource(self)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CaaS:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @uses(ep.PING)
    def ping(self) -> m.Ping:
        """Who this key is: the client's slug, the key's mode and scopes."""
        return self.call(ep.PING)

    def call(self, endpoint: Endpoint, *, path: dict[str, str] | None = None, query: dict | None = None,
             body: dict | None = None, idempotency_key: str | None = None) -> Any:
        """One operation, retried by the policy; returns ``endpoint.response`` built from the body."""
        url = endpoint.path.format(**{k: _segment(v) for k, v in (path or {}).items()})
        headers = {}
        if endpoint.idempotency_key:
            # One key for all attempts of this call: that is what makes retrying a POST safe.
            headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        params = {k: v for k, v in (query or {}).items() if v is not None}
        data = self._send(endpoint.method, url, params, body, headers)
        return m.parse(endpoint.response, data)

    def _send(self, method: str, url: str, params: dict, body: dict | None, headers: dict) -> Any:
        has_key = "Idempotency-Key" in headers
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, url, params=params, json=body, headers=headers)
            except httpx.TransportError as exc:
                wait = self.retry.wait(attempt, method=method, has_idempotency_key=has_key, transport_error=True)
                if wait is None:
                    raise errors.APIConnectionError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
                self._sleep(wait)
                continue
            if response.is_success:
                return response.json()
            try:
                payload = response.json()
            except ValueError:
                payload = None
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            error = errors.from_response(response.status_code, payload, response.headers.get("X-Request-ID"),
                                         retry_after)
            wait = self.retry.wait(attempt, method=method, has_idempotency_key=has_key,
                                   status=response.status_code, code=error.code, retry_after=retry_after)
            if wait is None:
                raise error
            self._sleep(wait)


def _segment(value: Any) -> str:
    """A path segment; ids are UUIDs, but never let a value add a path."""
    return quote(str(value), safe="")


class _Resource:
    def __init__(self, client: CaaS):
        self._client = client


class Applications(_Resource):
    @uses(ep.CREATE_APPLICATION)
    def create(self, *, applicant: dict, consents: dict, amount: str, term_months: int, purpose: str,
               currency: str | None = None, idempotency_key: str | None = None) -> m.Application:
        """Create and submit an application (the borrower is found or created by e-mail).

        ``amount`` is a decimal string in major units (``"50000"``, ``"250000.00"``); a float is
        refused so that no rounding error reaches money. Without ``idempotency_key`` a new one is
        generated for this call (and reused by its retries); pass your own (an order id) to make a
        repeat of the same request return the same application."""
        if isinstance(amount, float):
            raise TypeError("amount: pass a decimal string or Decimal, not a float")
        body = {"applicant": applicant, "consents": consents, "amount": str(amount), "term_months": term_months,
                "purpose": purpose}
        if currency is not None:
            body["currency"] = currency
        return self._client.call(ep.CREATE_APPLICATION, body=body, idempotency_key=idempotency_key)

    @uses(ep.GET_APPLICATION)
    def get(self, application_id: str) -> m.Application:
        return self._client.call(ep.GET_APPLICATION, path={"application_id": application_id})

    @uses(ep.LIST_APPLICATIONS)
    def list_page(self, *, status: str | None = None, created_after: str | None = None, cursor: str | None = None,
                  limit: int | None = None) -> m.ApplicationPage:
        """One page, newest first; ``next_cursor`` fetches the next."""
        return self._client.call(ep.LIST_APPLICATIONS, query={"status": status, "created_after": created_after,
                                                              "cursor": cursor, "limit": limit})

    @uses(ep.LIST_APPLICATIONS)
    def list(self, *, status: str | None = None, created_after: str | None = None,
             limit: int | None = None) -> Iterator[m.Application]:
        """Every application matching, following the cursor page by page (``limit`` per page)."""
        cursor = None
        while True:
            page = self.list_page(status=status, created_after=created_after, cursor=cursor, limit=limit)
            yield from page.data
            if not page.has_more:
                return
            cursor = page.next_cursor

    @uses(ep.WITHDRAW_APPLICATION)
    def withdraw(self, application_id: str, *, idempotency_key: str | None = None) -> m.Application:
        return self._client.call(ep.WITHDRAW_APPLICATION, path={"application_id": application_id},
                                 idempotency_key=idempotency_key)


class Offers(_Resource):
    @uses(ep.LIST_OFFERS)
    def list(self, application_id: str) -> list[m.Offer]:
        """The offers ranked by APR, usable ones first; the best usable one has ``best=True``."""
        return self._client.call(ep.LIST_OFFERS, path={"application_id": application_id}).data

    @uses(ep.GET_OFFER_AGREEMENT)
    def agreement(self, application_id: str, offer_id: str) -> m.Agreement:
        """The exact loan agreement the borrower signs, and its SHA-256 to send with the acceptance."""
        return self._client.call(ep.GET_OFFER_AGREEMENT, path={"application_id": application_id,
                                                               "offer_id": offer_id})

    @uses(ep.ACCEPT_OFFER)
    def accept(self, application_id: str, offer_id: str, *, signature_name: str, consent: bool,
               agreement_sha256: str | None = None, bank_account: dict | None = None,
               idempotency_key: str | None = None) -> m.Loan:
        """Accept for the borrower, who read the agreement (``consent=True``) and typed their legal
        name (``signature_name``). Returns the loan with its schedule."""
        body: dict[str, Any] = {"signature_name": signature_name, "consent": consent}
        if agreement_sha256 is not None:
            body["agreement_sha256"] = agreement_sha256
        if bank_account is not None:
            body["bank_account"] = bank_account
        return self._client.call(ep.ACCEPT_OFFER, path={"application_id": application_id, "offer_id": offer_id},
                                 body=body, idempotency_key=idempotency_key)


class Loans(_Resource):
    @uses(ep.GET_LOAN)
    def get(self, loan_id: str) -> m.Loan:
        return self._client.call(ep.GET_LOAN, path={"loan_id": loan_id})


class Providers(_Resource):
    @uses(ep.LIST_PROVIDERS)
    def list(self, *, country: str | None = None) -> list[m.Provider]:
        """The lenders in the client's network, optionally of one country (ISO 3166 alpha-2)."""
        return self._client.call(ep.LIST_PROVIDERS, query={"country": country}).data


class UsageResource(_Resource):
    @uses(ep.GET_USAGE)
    def get(self, *, period: str | None = None) -> m.Usage:
        """Usage of a month (``"2026-10"``; default this month) against the plan, and its invoices."""
        return self._client.call(ep.GET_USAGE, query={"period": period})
