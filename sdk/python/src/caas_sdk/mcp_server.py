"""The MCP server (Model Context Protocol, the official ``mcp`` package): CaaS tools for an AI
assistant, each a call of the same client API through the SDK.

Tools: credit_apply, credit_status, credit_offers, credit_accept_offer (refuses unless
``confirm`` is true), credit_providers, loan_schedule, usage_summary. Each has a JSON schema for
its input and returns structured content with an output schema; the annotations say which only
read (``readOnlyHint``) and which write, and that accepting an offer cannot be undone
(``destructiveHint``).

Authentication is a client API key, the same as the API's:
- stdio (``caas mcp serve``): the key of the command (``--api-key``, ``CAAS_API_KEY`` or
  ``caas login``); the process serves one client.
- streamable HTTP (``caas mcp serve --transport http``): every HTTP request brings its own key as
  ``Authorization: Bearer <API key>``; a request without a key the API accepts is answered 401
  before it reaches MCP, and the tools call the API with that request's key. The server holds no
  key of its own, so one process can serve several clients without mixing them.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import time
from typing import Annotated, Any, Callable, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from caas_sdk import models as m
from caas_sdk.client import CaaS
from caas_sdk.errors import APIError, AuthenticationError, CaasError, ServerError

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
INSTRUCTIONS = (
    "Credit-as-a-Service for one client (the API key's). Apply for credit for an applicant, follow the "
    "application's status (submitted, screening, then declined, referred or open_for_offers), read the "
    "lenders' offers and accept one ONLY after the borrower has read the loan agreement and said yes: "
    "credit_accept_offer needs confirm=true and signs a binding agreement in the borrower's name. "
    "Amounts are decimal strings in major units (\"50000.00\"), never floats.")


class Applicant(BaseModel):
    """The borrower; found or created by e-mail within the client."""
    email: str
    legal_name: str
    date_of_birth: str = Field(description="YYYY-MM-DD")
    phone: str = Field(description="with country code, e.g. +2348031234567")
    address: str
    national_id: str = Field(description="in the client's country's format (Nigeria: 11-digit BVN or NIN)")
    employment_status: str = Field(description="employed, self_employed, unemployed, student or retired")
    employer: str | None = Field(default=None, description="required when employed or self-employed")
    months_employed: int = Field(ge=0)
    monthly_net_income: str = Field(description="decimal string, major units")
    monthly_expenses: str = Field(description="decimal string, major units")
    existing_debt_payments: str = Field(description="decimal string, major units")
    housing: str = Field(description="own, rent, family or other")


class Consents(BaseModel):
    """Both must be true: the applicant agreed to data processing and to a credit check."""
    data_processing: bool
    credit_check: bool


class BankAccount(BaseModel):
    bank_code: str
    account_number: str
    account_name: str


ApplicationId = Annotated[str, Field(description="The application's id (UUID)")]
Amount = Annotated[str, Field(pattern=r"^[0-9]{1,12}(\.[0-9]{1,4})?$",
                              description="decimal string in major units, e.g. 50000 or 50000.00")]


def api_error_text(exc: CaasError) -> str:
    """What the assistant reads: the API's code, message and every bad field."""
    if not isinstance(exc, APIError):
        return str(exc)
    lines = [f"{exc.code}: {exc.message}" + (f" (field: {exc.field})" if exc.field else "")]
    lines += [f"- {field}: {message}" for field, message in exc.fields.items() if field != exc.field]
    return "\n".join(lines)


def build(open_client: Callable[[Context], contextlib.AbstractContextManager[CaaS]]) -> MCPServer:
    """The server with its tools; ``open_client(ctx)`` gives the SDK client of the request's caller."""
    # WARNING: at INFO the package logs every HTTP call and every tool's refusal text to stderr.
    server = MCPServer("caas", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING")

    def call(ctx: Context, fn: Callable[[CaaS], Any]) -> Any:
        try:
            with open_client(ctx) as client:
                return fn(client)
        except CaasError as exc:
            raise ToolError(api_error_text(exc)) from exc

    @server.tool(annotations=ToolAnnotations(title="Apply for credit", read_only_hint=False, destructive_hint=False,
                                             idempotent_hint=False, open_world_hint=False))
    def credit_apply(applicant: Applicant, consents: Consents, amount: Amount,
                     term_months: Annotated[int, Field(ge=1, description="one of the client's allowed terms")],
                     purpose: Annotated[str, Field(description='e.g. "business expansion", "working capital"')],
                     ctx: Context, currency: Annotated[str | None, Field(
                         description="ISO 4217; the client's default if omitted")] = None,
                     idempotency_key: Annotated[str | None, Field(
                         description="Send the same key again to get the same application instead of a "
                                     "second one (e.g. when retrying).")] = None) -> m.Application:
        """Create and submit a credit application; it is screened and scored in the background.
        Follow it with credit_status."""
        return call(ctx, lambda c: c.applications.create(
            applicant=applicant.model_dump(), consents=consents.model_dump(), amount=amount, currency=currency,
            term_months=term_months, purpose=purpose, idempotency_key=idempotency_key))

    @server.tool(annotations=ToolAnnotations(title="Application status", **_read()))
    def credit_status(application_id: ApplicationId, ctx: Context) -> m.Application:
        """An application's status, terms, indicative payment and APR, and decline reasons if any."""
        return call(ctx, lambda c: c.applications.get(application_id))

    @server.tool(annotations=ToolAnnotations(title="Offers on an application", **_read()))
    def credit_offers(application_id: ApplicationId, ctx: Context) -> m.OfferList:
        """The lenders' offers, ranked by APR, usable ones first; best=true marks the cheapest usable one."""
        return call(ctx, lambda c: m.OfferList(c.offers.list(application_id)))

    @server.tool(annotations=ToolAnnotations(title="Accept an offer (signs the loan agreement)", read_only_hint=False,
                                             destructive_hint=True, idempotent_hint=False, open_world_hint=False))
    def credit_accept_offer(application_id: ApplicationId,
                            offer_id: Annotated[str, Field(description="The offer's id (from credit_offers)")],
                            signature_name: Annotated[str, Field(
                                description="the borrower's full legal name, typed by the borrower: their signature")],
                            confirm: Annotated[bool, Field(
                                description="true only if the borrower has read the loan agreement and explicitly "
                                            "accepted it. Anything else refuses and returns the agreement to show.")],
                            ctx: Context,
                            agreement_sha256: Annotated[str | None, Field(
                                description="the sha256 of the agreement the borrower read; refused if the terms "
                                            "changed since")] = None,
                            bank_account: Annotated[BankAccount | None, Field(
                                description="where the payout goes, unless the borrower saved one")] = None) -> m.Loan:
        """Accept an offer for the borrower. This signs a binding loan agreement in their name, creates
        the loan and rejects every other offer; it cannot be undone."""
        if confirm is not True:
            agreement = call(ctx, lambda c: c.offers.agreement(application_id, offer_id))
            raise ToolError(
                "Not accepted: accepting signs a binding loan agreement for the borrower. Show them the agreement "
                "below; only if they accept it, call credit_accept_offer again with confirm=true and "
                f"agreement_sha256=\"{agreement.sha256}\".\n\n{agreement.text}")
        return call(ctx, lambda c: c.offers.accept(
            application_id, offer_id, signature_name=signature_name, consent=True, agreement_sha256=agreement_sha256,
            bank_account=bank_account.model_dump() if bank_account else None))

    @server.tool(annotations=ToolAnnotations(title="Provider network", **_read()))
    def credit_providers(ctx: Context, country: Annotated[str | None, Field(
            pattern=r"^[A-Za-z]{2}$", description="only lenders of this country, ISO 3166 alpha-2")] = None
    ) -> m.ProviderList:
        """The lenders in the client's provider network (who may bid on its applications)."""
        return call(ctx, lambda c: m.ProviderList(c.providers.list(country=country)))

    @server.tool(annotations=ToolAnnotations(title="Loan and schedule", **_read()))
    def loan_schedule(loan_id: Annotated[str, Field(description="The loan's id")], ctx: Context) -> m.Loan:
        """A loan with its repayment schedule: due dates, principal, interest, balance and what is paid."""
        return call(ctx, lambda c: c.loans.get(loan_id))

    @server.tool(annotations=ToolAnnotations(title="Usage this month", **_read()))
    def usage_summary(ctx: Context, period: Annotated[str | None, Field(
            pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM; default this month")] = None) -> m.Usage:
        """The client's usage of a month against its plan, priced so far, and that month's invoices."""
        return call(ctx, lambda c: c.usage.get(period=period))

    return server


def _read() -> dict:
    return {"read_only_hint": True, "destructive_hint": False, "idempotent_hint": True, "open_world_hint": False}


# --- transports -----------------------------------------------------------------------------------

def serve_stdio(api_key: str, base_url: str) -> None:
    client = CaaS(api_key, base_url=base_url)
    client.ping()  # a wrong key fails here, with the API's message, not at the first tool call
    build(lambda ctx: contextlib.nullcontext(client)).run("stdio")


def bearer(headers: Any) -> str | None:
    scheme, _, token = ((headers or {}).get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class KeyCheck:
    """ASGI middleware for the HTTP transport: the request's bearer key must be one the API accepts
    (asked with GET /ping, remembered by its SHA-256 for ``ttl`` seconds)."""

    def __init__(self, app, base_url: str, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.app, self.base_url, self.ttl, self.clock = app, base_url, ttl, clock
        self._good: dict[str, float] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        key = bearer(headers)
        problem = await self._check(key)
        if problem is None:
            return await self.app(scope, receive, send)
        body = json.dumps({"error": {"code": problem.code, "message": problem.message}}).encode()
        headers = [(b"content-type", b"application/json")]
        if problem.status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="caas"'))
        await send({"type": "http.response.start", "status": problem.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _check(self, key: str | None) -> APIError | None:
        import anyio.to_thread

        if not key:
            return AuthenticationError(401, "missing_api_key", "Send your CaaS API key: Authorization: Bearer <key>.")
        digest = hashlib.sha256(key.encode()).hexdigest()
        if self._good.get(digest, 0) > self.clock():
            return None
        try:
            await anyio.to_thread.run_sync(lambda: _ping(key, self.base_url))
        except APIError as exc:
            if exc.status in (401, 403, 429):  # the API's own answer about this key
                return exc
            return ServerError(503, "api_unavailable", f"The key could not be checked: {exc.message}")
        except CaasError as exc:
            return ServerError(503, "api_unavailable", f"The key could not be checked: {exc}")
        self._good[digest] = self.clock() + self.ttl
        return None


def _ping(key: str, base_url: str) -> None:
    with CaaS(key, base_url=base_url) as client:
        client.ping()


def http_app(base_url: str, *, path: str = "/mcp"):
    """The streamable HTTP app (an ASGI app): each tool call uses its HTTP request's key."""
    def open_client(ctx: Context) -> CaaS:
        key = bearer(ctx.headers)
        if not key:  # KeyCheck answered before this; a transport without headers cannot get here
            raise AuthenticationError(401, "missing_api_key", "No API key on this request.")
        return CaaS(key, base_url=base_url)  # closed after the call: a client is a context manager

    server = build(open_client)
    # Stateless: each request stands alone and is checked alone; no session outlives its key.
    app = server.streamable_http_app(streamable_http_path=path, stateless_http=True, json_response=True)
    return KeyCheck(app, base_url), server


def serve_http(base_url: str, *, host: str = "127.0.0.1", port: int = 8765,
               log_level: Literal["info", "warning"] = "info") -> None:
    import uvicorn

    app, server = http_app(base_url)
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on")
