"""The MCP server driven by the `mcp` package's own client: over stdio (`caas mcp serve` spawned as
a subprocess with a real API key) through apply → status → scoring → a lender bids → offers →
accept, and over streamable HTTP, where each request must bring a key the API accepts."""
from __future__ import annotations

import subprocess
import threading
import time

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from caas_sdk import mcp_server
from tests.sdk.conftest import CAAS, bid, good_applicant, score

TOOLS = {"credit_apply", "credit_status", "credit_offers", "credit_accept_offer", "credit_providers",
         "loan_schedule", "usage_summary"}
READS = TOOLS - {"credit_apply", "credit_accept_offer"}
ACCOUNT = {"bank_code": "058", "account_number": "0123456781", "account_name": "Adaeze Okoro"}


def stdio_params(world, cli_env, key=None) -> StdioServerParameters:
    env = {**cli_env, "CAAS_API_KEY": key or world.key}
    return StdioServerParameters(command=CAAS, args=["mcp", "serve", "--transport", "stdio"], env=env)


def test_the_tools_their_schemas_and_annotations_and_a_full_credit_flow_over_stdio(world, cli_env, live_app):
    async def flow():
        async with stdio_client(stdio_params(world, cli_env)) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = {t.name: t for t in (await session.list_tools()).tools}
                assert set(tools) == TOOLS
                for name, tool in tools.items():
                    assert tool.input_schema["type"] == "object" and tool.output_schema["type"] == "object"
                    assert tool.description and tool.annotations.title
                    assert tool.annotations.read_only_hint is (name in READS), name
                apply_tool, accept_tool = tools["credit_apply"], tools["credit_accept_offer"]
                assert apply_tool.annotations.destructive_hint is False
                assert set(apply_tool.input_schema["required"]) == {"applicant", "consents", "amount",
                                                                     "term_months", "purpose"}
                assert accept_tool.annotations.destructive_hint is True
                assert accept_tool.annotations.idempotent_hint is False
                assert "confirm" in accept_tool.input_schema["required"]
                assert set(tools["credit_offers"].output_schema["properties"]) == {"data"}

                applied = await session.call_tool("credit_apply", {
                    "applicant": good_applicant(), "consents": {"data_processing": True, "credit_check": True},
                    "amount": "250000", "currency": "NGN", "term_months": 12, "purpose": "business expansion"})
                assert not applied.is_error, applied.content
                application = applied.structured_content
                assert (application["status"], application["amount"]) == ("submitted", "250000.00")
                status = await session.call_tool("credit_status", {"application_id": application["id"]})
                assert status.structured_content["status"] == "submitted"

                score(live_app)
                status = await session.call_tool("credit_status", {"application_id": application["id"]})
                assert status.structured_content["status"] == "open_for_offers"
                offer_id = bid(live_app, world, application["id"], rate="28")
                offers = (await session.call_tool("credit_offers", {"application_id": application["id"]}))
                [offer] = offers.structured_content["data"]
                assert (offer["id"], offer["best"], offer["monthly_payment"]) == (offer_id, True, "24126.50")

                accept = {"application_id": application["id"], "offer_id": offer_id,
                          "signature_name": "Adaeze Okoro", "bank_account": ACCOUNT}
                refused = await session.call_tool("credit_accept_offer", {**accept, "confirm": False})
                assert refused.is_error and refused.structured_content is None
                text = refused.content[0].text
                assert "Not accepted" in text and "LOAN AGREEMENT" in text and "agreement_sha256=" in text
                still = await session.call_tool("credit_status", {"application_id": application["id"]})
                assert still.structured_content["status"] == "open_for_offers"  # nothing was accepted

                accepted = await session.call_tool("credit_accept_offer", {**accept, "confirm": True})
                assert not accepted.is_error, accepted.content
                loan = accepted.structured_content
                assert loan["status"] == "pending_disbursement" and loan["offer_id"] == offer_id
                schedule = await session.call_tool("loan_schedule", {"loan_id": loan["id"]})
                assert [row["number"] for row in schedule.structured_content["schedule"]] == list(range(1, 13))

                providers = await session.call_tool("credit_providers", {"country": "GH"})
                assert [p["id"] for p in providers.structured_content["data"]] == [str(world.ghana_lender_id)]
                usage = await session.call_tool("usage_summary", {})
                assert usage.structured_content["currency"] == "NGN"

                missing = await session.call_tool("credit_status",
                                                  {"application_id": "00000000-0000-0000-0000-000000000000"})
                assert missing.is_error and "not_found: application not found" in missing.content[0].text
                bad = await session.call_tool("credit_apply", {
                    "applicant": good_applicant(national_id="123"),
                    "consents": {"data_processing": True, "credit_check": True},
                    "amount": "250000", "term_months": 12, "purpose": "business expansion"})
                assert bad.is_error and "validation_failed" in bad.content[0].text
                assert "applicant.national_id" in bad.content[0].text

    anyio.run(flow)


def test_stdio_refuses_to_start_with_a_key_the_api_refuses(world, cli_env):
    done = subprocess.run([CAAS, "mcp", "serve"], env={**cli_env, "CAAS_API_KEY": "caas_live_x"},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "HTTP 401" in done.stderr


@pytest.fixture
def mcp_http(world):
    """The streamable HTTP server in a thread, as `caas mcp serve --transport http` runs it."""
    app, _ = mcp_server.http_app(world.url)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the MCP HTTP server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(timeout=10)


def test_over_http_every_request_needs_a_key_the_api_accepts_and_the_tools_use_it(world, mcp_http):
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    missing = httpx.post(mcp_http, json=hello, headers=headers)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "missing_api_key"
    forged = httpx.post(mcp_http, json=hello, headers={**headers, "Authorization": "Bearer caas_live_forged"})
    assert forged.status_code == 401 and forged.headers["WWW-Authenticate"].startswith("Bearer")

    async def flow():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {world.read_only_key}"}) as http:
            async with streamable_http_client(mcp_http, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    assert {t.name for t in (await session.list_tools()).tools} == TOOLS
                    listed = await session.call_tool("credit_providers", {})
                    assert {p["id"] for p in listed.structured_content["data"]} == {
                        str(world.lender_id), str(world.ghana_lender_id)}
                    # the tools act with the caller's key: this one may read, not apply
                    refused = await session.call_tool("credit_apply", {
                        "applicant": good_applicant(), "consents": {"data_processing": True, "credit_check": True},
                        "amount": "1000", "term_months": 12, "purpose": "education"})
                    assert refused.is_error and "insufficient_scope: " in refused.content[0].text

    anyio.run(flow)
