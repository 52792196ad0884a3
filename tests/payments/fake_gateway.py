"""A local fake of Paystack, Flutterwave v3 and Stripe, built from gateway_contracts.json.

It serves real HTTP on 127.0.0.1 (a random port, werkzeug in a thread) so the adapters are tested
over the wire, not with mocks. What comes from the contracts file, read at test time:
- the endpoints (method and path) of each gateway, under its base path;
- the required body fields of each request, and Paystack's recipient types;
- the status vocabularies (Paystack transfer statuses, Stripe payout statuses): a test cannot make
  the fake answer a status the documentation does not list;
- the webhook signature headers; the signing itself is written here independently of
  ``caas.payments.signatures``, following the contract's algorithm descriptions.

Endpoints the contracts file does not describe (Paystack charge_authorization, Flutterwave
``GET /transfers?reference=`` and tokenised charges, Stripe retrieve and PaymentIntents) are served
too, marked as such, in the documented shapes of those APIs.

Behaviour the tests rely on:
- ``executed[(gateway, reference)]`` counts transfers actually created per reference: a repeated
  reference (Paystack, Flutterwave) or Idempotency-Key (Stripe) never creates a second one;
- Stripe idempotency: the first answer for a key is saved (errors that happen after execution
  too) and replayed; the same key with other parameters is an ``idempotency_error``;
- faults, matched on method and path suffix: ``fail(gateway, method, path, status=…,
  when="before"|"after")`` answers an error before or after executing; ``hang(gateway, method,
  path, seconds)`` executes and then answers too late; ``stall(...)`` answers too late (a 504)
  without executing;
- ``outcome[account_number]`` sets the status a new transfer gets; ``set_status`` changes it later.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable
from urllib.parse import parse_qsl, urlparse

from werkzeug.wrappers import Request, Response

from caas.money import exponent
from tests.helpers import LoopbackServer

PREFIX = {"paystack": "paystack", "flutterwave_v3": "flutterwave", "stripe": "stripe"}


def required_fields(spec: dict[str, str]) -> tuple[set[str], dict[str, set[str]]]:
    """From the contract's field descriptions: always-required fields, and fields required only for
    some recipient types ("required for nuban/basa/mobile_money")."""
    always, conditional = set(), {}
    for field_name, description in spec.items():
        conditional_match = re.search(r"required for ([\w/]+)", description)
        if conditional_match:
            conditional[field_name] = set(conditional_match.group(1).split("/"))
        elif re.search(r"\brequired\b", description):
            always.add(field_name)
    return always, conditional


def route_of(spec: Any) -> tuple[str, str]:
    text = spec["req"] if isinstance(spec, dict) else spec
    method, path = text.split()[:2]
    return method, path.split("?")[0]


@dataclass
class Fault:
    gateway: str
    method: str
    path: str
    status: int = 500
    when: str = "before"  # before: nothing executed; after: executed, then the error; hang: executed, late;
    # stall: nothing executed, late
    seconds: float = 0.0
    remaining: int = 1


class FakeGateways(LoopbackServer):
    def __init__(self, contracts: dict[str, Any], secrets: dict[str, str]):
        self.contracts = contracts
        self.secrets = secrets
        self._lock = threading.RLock()
        self._ids = itertools.count(1000)
        self.routes: list[tuple[str, str, re.Pattern, Callable]] = []
        self._build_routes()
        self.reset()
        super().__init__()

    # --- test controls ---------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.requests: list[dict[str, Any]] = []
            self.executed: dict[tuple[str, str], int] = {}
            self.transfers: dict[tuple[str, str], dict[str, Any]] = {}  # (gateway, reference) -> object
            self.recipients: dict[str, dict[str, Any]] = {}  # Paystack account_number -> recipient
            self.idempotency: dict[str, tuple[str, int, bytes]] = {}  # Stripe key -> (fingerprint, status, body)
            self.outcome: dict[str, str] = {}
            self.balance: dict[tuple[str, str], int] = {}  # (gateway, currency) -> minor units available
            self.faults: list[Fault] = []

    def base_url(self, gateway: str) -> str:
        base_path = urlparse(self.contracts[gateway]["base_url"]).path
        return f"http://127.0.0.1:{self.port}/{PREFIX[gateway]}{base_path}"

    def fail(self, gateway: str, method: str, path: str, *, status: int = 500, when: str = "before",
             times: int = 1) -> None:
        self.faults.append(Fault(gateway, method, path, status, when, remaining=times))

    def hang(self, gateway: str, method: str, path: str, seconds: float, *, times: int = 1) -> None:
        self.faults.append(Fault(gateway, method, path, when="hang", seconds=seconds, remaining=times))

    def stall(self, gateway: str, method: str, path: str, seconds: float, *, times: int = 1) -> None:
        """Hold the request and then answer 504 without executing it: a request lost inside the
        gateway, which the caller (timing out first) cannot tell from a ``hang``."""
        self.faults.append(Fault(gateway, method, path, status=504, when="stall", seconds=seconds, remaining=times))

    def set_status(self, gateway: str, reference: str, status: str) -> None:
        self._check_status(gateway, status)
        with self._lock:
            self.transfers[(gateway, reference)]["status"] = status

    def count(self, gateway: str, reference: str) -> int:
        return self.executed.get((gateway, reference), 0)

    def _check_status(self, gateway: str, status: str) -> None:
        if gateway == "paystack":
            allowed = re.search(r"status: ([\w|]+)", self.contracts["paystack"]["endpoints"]["initiate_transfer"]["resp"])
            assert status in allowed.group(1).split("|"), f"Paystack documents no transfer status {status!r}"
        elif gateway == "stripe":
            assert status in self.contracts["stripe"]["endpoints"]["create_payout"]["status_values"], status
        elif gateway == "flutterwave_v3":
            assert status in ("NEW", "PENDING", "SUCCESSFUL", "FAILED"), status

    # --- webhooks, signed as the contracts describe ----------------------------------------------

    def paystack_webhook(self, event: str, data: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        spec = self.contracts["paystack"]["webhook"]
        assert event in spec["events"]
        body = json.dumps({"event": event, "data": data}).encode()
        signature = hmac.new(self.secrets["paystack"].encode(), body, hashlib.sha512).hexdigest()
        return {spec["signature_header"]: signature}, body

    def flutterwave_webhook(self, data: dict[str, Any], *, scheme: str = "legacy") -> tuple[dict[str, str], bytes]:
        spec = self.contracts["flutterwave_v3"]["webhook"]
        body = json.dumps({"event": "transfer.completed", "data": data}).encode()
        secret_hash = self.secrets["flutterwave_hash"]
        if scheme == "legacy":
            name = spec["signature_header_legacy"].split()[0]
            return {name: secret_hash}, body
        name = spec["signature_header_new"].split()[0]
        digest = hmac.new(secret_hash.encode(), body, hashlib.sha256).digest()
        return {name: base64.b64encode(digest).decode()}, body

    def stripe_webhook(self, event_type: str, obj: dict[str, Any], *, timestamp: int | None = None,
                       extra_v1: list[str] = ()) -> tuple[dict[str, str], bytes]:
        spec = self.contracts["stripe"]["webhook"]
        assert event_type in spec["events"]
        body = json.dumps({"id": f"evt_{uuid.uuid4().hex[:14]}", "object": "event", "type": event_type,
                           "data": {"object": obj}}).encode()
        t = int(time.time()) if timestamp is None else timestamp
        signature = hmac.new(self.secrets["stripe_webhook"].encode(), f"{t}.".encode() + body,
                             hashlib.sha256).hexdigest()
        name = spec["signature_header"].split(":")[0]
        v1 = ",".join(f"v1={s}" for s in [*extra_v1, signature])
        return {name: f"t={t},{v1}"}, body

    # --- HTTP ------------------------------------------------------------------------------------

    def _build_routes(self) -> None:
        c = self.contracts
        table: list[tuple[str, Any, Callable]] = [
            ("paystack", c["paystack"]["endpoints"]["create_recipient"], self._ps_recipient),
            ("paystack", c["paystack"]["endpoints"]["initiate_transfer"], self._ps_transfer),
            ("paystack", c["paystack"]["endpoints"]["verify_transfer"], self._ps_verify),
            ("paystack", c["paystack"]["endpoints"]["resolve_account"], self._ps_resolve),
            ("paystack", "POST /transaction/charge_authorization", self._ps_charge),  # not in the contracts
            ("flutterwave_v3", c["flutterwave_v3"]["endpoints"]["initiate_transfer"], self._fw_transfer),
            ("flutterwave_v3", c["flutterwave_v3"]["endpoints"]["get_transfer"], self._fw_get),
            ("flutterwave_v3", "GET /transfers", self._fw_list),  # ?reference=: not in the contracts
            ("flutterwave_v3", "POST /tokenized-charges", self._fw_charge),  # not in the contracts
            ("stripe", c["stripe"]["endpoints"]["create_payout"], self._st_payout),
            ("stripe", c["stripe"]["endpoints"]["create_transfer"], self._st_transfer),
            ("stripe", "GET /v1/payouts/:id", self._st_get),  # retrieve: not in the contracts
            ("stripe", "GET /v1/transfers/:id", self._st_get),
            ("stripe", "POST /v1/payment_intents", self._st_intent),  # not in the contracts
        ]
        for gateway, spec, handler in table:
            method, path = route_of(spec)
            base_path = urlparse(self.contracts[gateway]["base_url"]).path
            if base_path and path.startswith(base_path + "/"):
                path = path[len(base_path):]  # Stripe writes /v1/payouts; its base URL already ends in /v1
            full = f"/{PREFIX[gateway]}{base_path}{path}"
            pattern = re.compile("^" + re.sub(r":(\w+)", r"(?P<\1>[^/]+)", full) + "$")
            self.routes.append((gateway, method, pattern, handler))

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        for gateway, method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                break
        else:
            return self._json(404, {"message": f"no route {request.method} {request.path}"})(environ, start_response)
        with self._lock:
            self.requests.append({"gateway": gateway, "method": request.method, "path": request.path,
                                  "headers": dict(request.headers), "body": body, "query": dict(request.args)})
        if request.headers.get("Authorization") != f"Bearer {self.secrets[gateway]}":
            return self._json(401, self._error(gateway, "Invalid key"))(environ, start_response)
        fault = self._take_fault(gateway, request.method, request.path)
        if fault and fault.when == "stall":
            time.sleep(fault.seconds)
            return self._json(fault.status, self._error(gateway, "fake: gateway timeout"))(environ, start_response)
        if fault and fault.when == "before":
            return self._json(fault.status, self._error(gateway, "fake: injected failure"))(environ, start_response)
        response = handler(request, body, **match.groupdict())
        if fault and fault.when == "after":
            response = self._json(fault.status, self._error(gateway, "fake: failure after execution"))
            self._save_stripe(gateway, request, body, response)
        if fault and fault.when == "hang":
            time.sleep(fault.seconds)
        return response(environ, start_response)

    def _take_fault(self, gateway: str, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.remaining and fault.gateway == gateway and fault.method == method and path.endswith(fault.path):
                    fault.remaining -= 1
                    return fault
        return None

    @staticmethod
    def _json(status: int, payload: Any) -> Response:
        return Response(json.dumps(payload, default=str), status=status, mimetype="application/json")

    @staticmethod
    def _error(gateway: str, message: str, **extra: Any) -> dict[str, Any]:
        if gateway == "paystack":
            return {"status": False, "message": message}
        if gateway == "flutterwave_v3":
            return {"status": "error", "message": message, "data": None}
        return {"error": {"type": extra.get("type", "api_error"), "message": message, **extra}}

    def _missing(self, gateway: str, spec: dict[str, str], given: dict[str, Any], kind: str | None = None):
        always, conditional = required_fields(spec)
        missing = [f for f in always if given.get(f) in (None, "")]
        missing += [f for f, kinds in conditional.items() if kind in kinds and given.get(f) in (None, "")]
        if missing:
            return self._json(400, self._error(gateway, f"missing required field(s): {', '.join(sorted(missing))}",
                                               type="invalid_request_error"))
        return None

    def _new_transfer(self, gateway: str, reference: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.transfers[(gateway, reference)] = obj
        self.executed[(gateway, reference)] = self.executed.get((gateway, reference), 0) + 1
        return obj

    def _short(self, gateway: str, currency: str, amount_minor: int) -> bool:
        available = self.balance.get((gateway, currency))
        return available is not None and amount_minor > available

    # --- Paystack --------------------------------------------------------------------------------

    def _ps_recipient(self, request: Request, body: bytes) -> Response:
        data = json.loads(body)
        spec = self.contracts["paystack"]["endpoints"]["create_recipient"]["body"]
        types = spec["type"].split()[0].split("|")
        if data.get("type") not in types:
            return self._json(400, self._error("paystack", f"type must be one of {types}"))
        if (problem := self._missing("paystack", spec, data, data.get("type"))) is not None:
            return problem
        with self._lock:
            existing = self.recipients.get(data["account_number"])  # duplicate account: existing record
            if existing is None:
                existing = self.recipients[data["account_number"]] = {
                    "recipient_code": f"RCP_{uuid.uuid4().hex[:12]}", "type": data["type"], "name": data["name"],
                    "currency": data.get("currency", "NGN"),
                    "details": {"account_number": data["account_number"], "account_name": data["name"].upper(),
                                "bank_code": data["bank_code"], "bank_name": "Fake Bank"}}
        return self._json(201, {"status": True, "message": "Transfer recipient created successfully",
                                "data": existing})

    def _ps_resolve(self, request: Request, body: bytes) -> Response:
        number, bank = request.args.get("account_number", ""), request.args.get("bank_code", "")
        if not number or not bank:
            return self._json(400, self._error("paystack", "account_number and bank_code are required"))
        if number.endswith("0000"):  # the fake bank knows no account ending in 0000
            return self._json(422, self._error("paystack", "Could not resolve account name. Check parameters "
                                                           "or try again."))
        return self._json(200, {"status": True, "message": "Account number resolved",
                                "data": {"account_number": number, "account_name": "FAKE ACCOUNT HOLDER",
                                         "bank_id": 9}})

    def _ps_transfer(self, request: Request, body: bytes) -> Response:
        data = json.loads(body)
        spec = self.contracts["paystack"]["endpoints"]["initiate_transfer"]["body"]
        if (problem := self._missing("paystack", spec, data)) is not None:
            return problem
        if data["source"] != "balance" or not isinstance(data["amount"], int) or isinstance(data["amount"], bool):
            return self._json(400, self._error("paystack", "source must be balance and amount an int of subunits"))
        reference = data.get("reference") or f"auto_{uuid.uuid4().hex}"
        if not re.fullmatch(r"[a-z0-9_-]+", reference):
            return self._json(400, self._error("paystack", "Invalid transfer reference"))
        recipient = next((r for r in self.recipients.values() if r["recipient_code"] == data["recipient"]), None)
        if recipient is None:
            return self._json(400, self._error("paystack", "Recipient specified is invalid"))
        with self._lock:
            existing = self.transfers.get(("paystack", reference))
            if existing is None:  # a reused reference retries safely: the same transfer comes back
                currency = data.get("currency") or recipient["currency"]
                if self._short("paystack", currency, data["amount"]):
                    return self._json(400, self._error("paystack", "Your balance is not enough to fulfil this request"))
                status = self.outcome.get(recipient["details"]["account_number"], "pending")
                self._check_status("paystack", status)
                existing = self._new_transfer("paystack", reference, {
                    "transfer_code": f"TRF_{uuid.uuid4().hex[:12]}", "reference": reference, "amount": data["amount"],
                    "currency": currency, "source": "balance", "reason": data.get("reason"),
                    "recipient": data["recipient"], "status": status, "created_at": "2026-11-22T10:00:00.000Z"})
        return self._json(200, {"status": True, "message": "Transfer has been queued", "data": existing})

    def _ps_verify(self, request: Request, body: bytes, reference: str) -> Response:
        found = self.transfers.get(("paystack", reference))
        if found is None:
            return self._json(404, self._error("paystack", "Transfer not found"))
        return self._json(200, {"status": True, "message": "Transfer retrieved", "data": found})

    def _ps_charge(self, request: Request, body: bytes) -> Response:
        data = json.loads(body)
        declined = data["authorization_code"].endswith("0")
        with self._lock:
            charge = self._new_transfer("paystack", f"charge:{data['reference']}", {
                "id": next(self._ids), "reference": data["reference"], "amount": data["amount"],
                "currency": data.get("currency", "NGN"), "status": "failed" if declined else "success",
                "gateway_response": "Declined" if declined else "Approved"})
        return self._json(200, {"status": True, "message": "Charge attempted", "data": charge})

    # --- Flutterwave v3 --------------------------------------------------------------------------

    def _fw_transfer(self, request: Request, body: bytes) -> Response:
        data = json.loads(body, parse_float=Decimal)
        spec = self.contracts["flutterwave_v3"]["endpoints"]["initiate_transfer"]["body"]
        if (problem := self._missing("flutterwave_v3", spec, data)) is not None:
            return problem
        amount = Decimal(data["amount"]) if not isinstance(data["amount"], str) else None
        places = exponent(data["currency"])
        if amount is None or amount <= 0 or amount != amount.quantize(Decimal(1).scaleb(-places)):
            return self._json(400, self._error("flutterwave_v3", "amount must be a number in major units"))
        reference = data.get("reference") or f"auto-{uuid.uuid4().hex}"
        with self._lock:
            if ("flutterwave_v3", reference) in self.transfers:
                return self._json(400, self._error("flutterwave_v3", "Transfer with this reference already exists"))
            if self._short("flutterwave_v3", data["currency"], int(amount.scaleb(places))):
                return self._json(400, self._error("flutterwave_v3", "Insufficient wallet balance"))
            status = self.outcome.get(data["account_number"], "NEW")
            self._check_status("flutterwave_v3", status)
            transfer = self._new_transfer("flutterwave_v3", reference, {
                "id": next(self._ids), "account_number": data["account_number"], "bank_code": data["account_bank"],
                "full_name": data.get("beneficiary_name", ""), "currency": data["currency"],
                "debit_currency": data.get("debit_currency"), "amount": amount, "fee": Decimal("10.75"),
                "status": status, "reference": reference, "narration": data.get("narration"),
                "complete_message": "", "requires_approval": 0, "is_approved": 1, "bank_name": "FAKE BANK"})
        return self._fw_ok("Transfer Queued Successfully", transfer)

    def _fw_ok(self, message: str, data: Any) -> Response:
        # Decimal amounts go out as JSON numbers, as Flutterwave writes them.
        text = json.dumps({"status": "success", "message": message, "data": data},
                          default=lambda v: float(v) if isinstance(v, Decimal) else str(v))
        return Response(text, status=200, mimetype="application/json")

    def _fw_get(self, request: Request, body: bytes, id: str) -> Response:
        found = next((t for (g, _), t in self.transfers.items() if g == "flutterwave_v3" and str(t["id"]) == id), None)
        if found is None:
            return self._json(404, self._error("flutterwave_v3", "Transfer not found"))
        return self._fw_ok("Transfer fetched", found)

    def _fw_list(self, request: Request, body: bytes) -> Response:
        reference = request.args.get("reference")
        found = [t for (g, r), t in self.transfers.items() if g == "flutterwave_v3" and (not reference or r == reference)]
        return self._fw_ok("Transfers fetched", found)

    def _fw_charge(self, request: Request, body: bytes) -> Response:
        data = json.loads(body, parse_float=Decimal)
        declined = data["token"].endswith("0")
        with self._lock:
            charge = self._new_transfer("flutterwave_v3", f"charge:{data['tx_ref']}", {
                "id": next(self._ids), "tx_ref": data["tx_ref"], "amount": Decimal(data["amount"]),
                "currency": data["currency"], "status": "failed" if declined else "successful",
                "processor_response": "Declined" if declined else "Approved"})
        return self._fw_ok("Charge successful", charge)

    # --- Stripe ----------------------------------------------------------------------------------

    def _stripe_replay(self, request: Request, body: bytes) -> tuple[str | None, Response | None]:
        header = self.contracts["stripe"]["idempotency"]["header"]
        key = request.headers.get(header)
        if key is None:
            return None, None
        fingerprint = hashlib.sha256(request.path.encode() + b"?" + body).hexdigest()
        saved = self.idempotency.get(key)
        if saved is None:
            return key, None
        if saved[0] != fingerprint:
            return key, self._json(400, self._error(
                "stripe", "Keys for idempotent requests can only be used with the same parameters they were first "
                          "used with.", type="idempotency_error"))
        return key, Response(saved[2], status=saved[1], mimetype="application/json",
                             headers={"Idempotent-Replayed": "true"})

    def _save_stripe(self, gateway: str, request: Request, body: bytes, response: Response) -> None:
        key = request.headers.get(self.contracts["stripe"]["idempotency"]["header"])
        if gateway == "stripe" and key and request.method == "POST":
            fingerprint = hashlib.sha256(request.path.encode() + b"?" + body).hexdigest()
            self.idempotency[key] = (fingerprint, response.status_code, response.get_data())

    def _stripe_create(self, request: Request, body: bytes, endpoint: str, build) -> Response:
        params = dict(parse_qsl(body.decode()))
        with self._lock:
            key, replay = self._stripe_replay(request, body)
            if replay is not None:
                return replay
            spec = self.contracts["stripe"]["endpoints"][endpoint]["body"]
            response = self._missing("stripe", spec, params)
            if response is None:
                amount = int(params["amount"])
                if self._short("stripe", params["currency"].upper(), amount):
                    response = self._json(400, self._error("stripe", "Insufficient funds in Stripe account.",
                                                           type="invalid_request_error", code="balance_insufficient"))
                else:
                    reference = params.get("metadata[reference]") or key or uuid.uuid4().hex
                    obj = self._new_transfer("stripe", reference, build(params, amount))
                    response = self._json(200, obj)
            self._save_stripe("stripe", request, body, response)
            return response

    @staticmethod
    def _metadata(params: dict[str, str]) -> dict[str, str]:
        return {k[len("metadata["):-1]: v for k, v in params.items() if k.startswith("metadata[")}

    def _st_payout(self, request: Request, body: bytes) -> Response:
        def build(params, amount):
            status = self.outcome.get(params.get("destination") or "default", "pending")
            self._check_status("stripe", status)
            return {"id": f"po_{uuid.uuid4().hex[:14]}", "object": "payout", "amount": amount,
                    "currency": params["currency"], "status": status, "method": params.get("method", "standard"),
                    "destination": params.get("destination"), "description": params.get("description"),
                    "metadata": self._metadata(params), "failure_code": None, "failure_message": None,
                    "reconciliation_status": "not_applicable"}
        return self._stripe_create(request, body, "create_payout", build)

    def _st_transfer(self, request: Request, body: bytes) -> Response:
        def build(params, amount):
            return {"id": f"tr_{uuid.uuid4().hex[:14]}", "object": "transfer", "amount": amount,
                    "amount_reversed": 0, "currency": params["currency"], "destination": params["destination"],
                    "description": params.get("description"), "metadata": self._metadata(params), "reversed": False,
                    "transfer_group": params.get("transfer_group")}
        return self._stripe_create(request, body, "create_transfer", build)

    def _st_get(self, request: Request, body: bytes, id: str) -> Response:
        found = next((t for (g, _), t in self.transfers.items() if g == "stripe" and t["id"] == id), None)
        if found is None:
            return self._json(404, self._error("stripe", f"No such object: '{id}'", type="invalid_request_error",
                                               code="resource_missing"))
        return self._json(200, found)

    def _st_intent(self, request: Request, body: bytes) -> Response:
        params = dict(parse_qsl(body.decode()))
        if params.get("payment_method", "").endswith("0"):  # a payment method ending in 0 is declined
            return self._json(402, self._error("stripe", "Your card was declined.", type="card_error",
                                               code="card_declined"))
        with self._lock:
            key, replay = self._stripe_replay(request, body)
            if replay is not None:
                return replay
            obj = self._new_transfer("stripe", params.get("metadata[reference]") or key, {
                "id": f"pi_{uuid.uuid4().hex[:14]}", "object": "payment_intent", "amount": int(params["amount"]),
                "currency": params["currency"], "status": "succeeded", "metadata": self._metadata(params)})
            response = self._json(200, obj)
            self._save_stripe("stripe", request, body, response)
            return response
