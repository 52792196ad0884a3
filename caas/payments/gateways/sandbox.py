"""The built-in sandbox gateway: the default in development and tests. No network, every currency.

Outcomes follow the LAST DIGIT of the recipient's account number, so a developer picks one:

    ends in 0   the transfer fails at once ("account rejected")
    ends in 8   the gateway is "down": a retryable error, nothing recorded (exercises failover)
    ends in 9   pending; a verify at least ``settle_after`` seconds (default 5) after initiation
                finds it succeeded
    ends in 7   succeeds at once; a verify ``settle_after`` seconds later finds it reversed
    otherwise   succeeds at once

Account lookup (``resolve_account``): a number ending in 99 does not exist.

Charges: an authorisation code ending in 0 is declined; any other succeeds.

State: one record per reference in a store. ``MemoryStore`` (default) lives in the process, which
suits tests and a single worker; ``RedisStore`` shares it between the web workers and the job
worker (``gateway_from_config("sandbox", {"redis_url": ...})``). A reference is created once
(atomically: a lock, or Redis SET NX): initiating it again returns the same transfer, and once a
verify has settled a transfer the stored outcome is what every later verify returns. Reusing a
reference for a different amount, currency or account is refused.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from typing import Any, Callable, Mapping, Protocol

from caas.money import CURRENCY_EXPONENTS
from caas.payments.gateways.base import (ChargeRequest, ChargeResult, Gateway, GatewayError, InvalidSignature,
                                         Recipient, RecipientResult, TransferRequest, TransferResult, TransferStatus,
                                         WebhookEvent, header)

SIGNATURE_HEADER = "x-sandbox-signature"


class Store(Protocol):
    def create(self, reference: str, record: dict[str, Any]) -> tuple[dict[str, Any], bool]: ...
    def get(self, reference: str) -> dict[str, Any] | None: ...
    def put(self, reference: str, record: dict[str, Any]) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def create(self, reference: str, record: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        with self._lock:
            if reference in self._records:
                return dict(self._records[reference]), False
            self._records[reference] = dict(record)
            return dict(record), True

    def get(self, reference: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._records.get(reference)
            return dict(found) if found else None

    def put(self, reference: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._records[reference] = dict(record)


class RedisStore:
    """Records as JSON under ``<prefix><reference>``, kept for ``ttl`` seconds (default 30 days)."""

    def __init__(self, redis_client, prefix: str = "caas:sandbox:", ttl: int = 30 * 24 * 3600) -> None:
        self.redis = redis_client
        self.prefix = prefix
        self.ttl = ttl

    def create(self, reference: str, record: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        if self.redis.set(self.prefix + reference, json.dumps(record), nx=True, ex=self.ttl):
            return dict(record), True
        return self.get(reference) or dict(record), False

    def get(self, reference: str) -> dict[str, Any] | None:
        raw = self.redis.get(self.prefix + reference)
        return json.loads(raw) if raw else None

    def put(self, reference: str, record: dict[str, Any]) -> None:
        self.redis.set(self.prefix + reference, json.dumps(record), ex=self.ttl)


class SandboxGateway(Gateway):
    name = "sandbox"
    currencies = frozenset(CURRENCY_EXPONENTS)

    def __init__(self, *, store: Store | None = None, settle_after: float = 5.0,
                 webhook_secret: str = "sandbox-webhook-secret", clock: Callable[[], float] = time.time):
        self.store = store or MemoryStore()
        self.settle_after = settle_after
        self.webhook_secret = webhook_secret
        self.clock = clock

    def create_recipient(self, recipient: Recipient) -> RecipientResult:
        if not recipient.account_number:
            raise GatewayError(self.name, "rejected", "account_number is required", retryable=False)
        digest = hashlib.sha256(f"{recipient.bank_code}:{recipient.account_number}".encode()).hexdigest()[:12]
        return RecipientResult(self.name, f"RCP_sandbox_{digest}", {"account_number": recipient.account_number,
                                                                     "bank_code": recipient.bank_code,
                                                                     "account_name": recipient.name})

    def _result(self, record: Mapping[str, Any]) -> TransferResult:
        status = TransferStatus(record["status"])
        return TransferResult(self.name, record["reference"], status, int(record["amount_minor"]),
                              record["currency"], gateway_id=record["gateway_id"],
                              failure_reason=record.get("failure_reason"), raw=dict(record))

    def initiate_transfer(self, request: TransferRequest) -> TransferResult:
        account = request.recipient.account_number
        if not account:
            raise GatewayError(self.name, "rejected", "account_number is required", retryable=False)
        last = account[-1]
        if last == "8":
            raise GatewayError(self.name, "gateway_unavailable", "sandbox: simulated outage (account ends in 8)",
                               retryable=True)
        status = {"0": TransferStatus.failed, "9": TransferStatus.pending}.get(last, TransferStatus.succeeded)
        record = {"reference": request.reference, "amount_minor": request.amount_minor,
                  "currency": request.currency.upper(), "account_number": account, "status": status.value,
                  "gateway_id": f"TRF_sandbox_{uuid.uuid4().hex[:12]}", "initiated_at": self.clock(),
                  "rule": last if last in "079" else "ok",
                  "failure_reason": "sandbox: account rejected (ends in 0)" if status is TransferStatus.failed else None}
        stored, created = self.store.create(request.reference, record)
        if not created and (stored["amount_minor"], stored["currency"], stored["account_number"]) != (
                request.amount_minor, request.currency.upper(), account):
            raise GatewayError(self.name, "reference_conflict",
                               f"reference {request.reference} was used for another transfer", retryable=False)
        return self._result(stored)

    def resolve_account(self, account_number: str, bank_code: str) -> str | None:
        """Accounts ending in 99 do not exist; every other one belongs to "SANDBOX ACCOUNT HOLDER"."""
        if account_number.endswith("99"):
            raise GatewayError(self.name, "account_not_found", "sandbox: no such account (ends in 99)",
                               retryable=False)
        return "SANDBOX ACCOUNT HOLDER"

    def verify_transfer(self, reference: str, *, gateway_id: str | None = None) -> TransferResult:
        record = self.store.get(reference)
        if record is None:
            raise GatewayError(self.name, "not_found", f"no transfer with reference {reference}", retryable=False)
        due = self.clock() - record["initiated_at"] >= self.settle_after
        if due and record["rule"] == "9" and record["status"] == TransferStatus.pending.value:
            record["status"] = TransferStatus.succeeded.value
            self.store.put(reference, record)
        elif due and record["rule"] == "7" and record["status"] == TransferStatus.succeeded.value:
            record["status"] = TransferStatus.reversed.value
            self.store.put(reference, record)
        return self._result(record)

    def charge_authorization(self, request: ChargeRequest) -> ChargeResult:
        declined = request.authorization_code.endswith("0")
        record = {"reference": request.reference, "amount_minor": request.amount_minor,
                  "currency": request.currency.upper(), "account_number": request.authorization_code,
                  "status": (TransferStatus.failed if declined else TransferStatus.succeeded).value,
                  "gateway_id": f"CHG_sandbox_{uuid.uuid4().hex[:12]}", "initiated_at": self.clock(), "rule": "charge",
                  "failure_reason": "sandbox: authorisation declined (ends in 0)" if declined else None}
        stored, _ = self.store.create(f"charge:{request.reference}", record)
        return ChargeResult(self.name, request.reference, TransferStatus(stored["status"]), stored["amount_minor"],
                            stored["currency"], gateway_id=stored["gateway_id"],
                            failure_reason=stored.get("failure_reason"))

    # --- webhooks: the sandbox signs like Paystack but with SHA-256 and its own header ------------

    def sign(self, body: bytes) -> str:
        return hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()

    def build_webhook(self, reference: str) -> tuple[dict[str, str], bytes]:
        """A signed webhook for the transfer's current state (development tools and tests)."""
        result = self.verify_transfer(reference)
        body = json.dumps({"event": f"transfer.{result.status.value}", "data": {
            "reference": result.reference, "status": result.status.value, "amount": result.amount_minor,
            "currency": result.currency, "id": result.gateway_id}}).encode()
        return {SIGNATURE_HEADER: self.sign(body)}, body

    def build_charge_webhook(self, reference: str) -> tuple[dict[str, str], bytes]:
        """A signed ``charge.*`` webhook for a charge made with ``charge_authorization``."""
        record = self.store.get(f"charge:{reference}")
        if record is None:
            raise GatewayError(self.name, "not_found", f"no charge with reference {reference}", retryable=False)
        body = json.dumps({"event": f"charge.{record['status']}", "data": {
            "reference": reference, "status": record["status"], "amount": record["amount_minor"],
            "currency": record["currency"], "id": record["gateway_id"]}}).encode()
        return {SIGNATURE_HEADER: self.sign(body)}, body

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        signature = header(headers, SIGNATURE_HEADER) or ""
        if not hmac.compare_digest(self.sign(body).encode(), signature.strip().lower().encode()):
            raise InvalidSignature(f"{SIGNATURE_HEADER} does not match the body")
        event = json.loads(body)
        data = event.get("data") or {}
        return WebhookEvent(self.name, str(event.get("event", "")), data.get("reference"),
                            TransferStatus(data["status"]) if data.get("status") else None,
                            data.get("amount"), data.get("currency"), data.get("id"), raw=event)
