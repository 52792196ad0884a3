"""The gateway adapter interface: typed requests and results, errors that say whether to retry.

Every adapter (sandbox, Paystack, Flutterwave, Stripe) implements ``Gateway``. Amounts are always
int minor units with an ISO currency on our side; each adapter converts to what its API wants.
The ``reference`` we choose is the idempotency key at the gateway (Paystack and Flutterwave
``reference``, Stripe ``Idempotency-Key``), so retrying a call with the same reference never pays
twice.

Errors: ``GatewayError.retryable`` means another attempt, here later or at the next gateway, may
succeed; ``ambiguous`` means the gateway may nevertheless have executed the request (a timeout or a
5xx after we sent a POST). An ambiguous error must be resolved by reference (``find_transfer``)
before anyone pays the same money through another gateway.
"""
from __future__ import annotations

import enum
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

import httpx

log = logging.getLogger(__name__)


class TransferStatus(str, enum.Enum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    reversed = "reversed"


@dataclass(frozen=True)
class Recipient:
    """Who receives a payout. ``type`` follows Paystack (nuban, ghipss, mobile_money, basa);
    ``destination`` is Stripe's connected account (acct_…) or bank account (ba_…)."""

    name: str
    currency: str
    account_number: str = ""
    bank_code: str = ""
    type: str = "nuban"
    destination: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class RecipientResult:
    gateway: str
    recipient_code: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferRequest:
    reference: str  # ours; the idempotency key at the gateway
    amount_minor: int
    currency: str
    recipient: Recipient
    recipient_code: str | None = None  # Paystack RCP_… / Stripe destination, when already known
    narration: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int) or self.amount_minor <= 0:
            raise ValueError("amount_minor must be a positive int of minor units")
        if not self.reference:
            raise ValueError("a transfer needs a reference")


@dataclass(frozen=True)
class TransferResult:
    gateway: str
    reference: str
    status: TransferStatus
    amount_minor: int
    currency: str
    gateway_id: str | None = None  # TRF_… / Flutterwave id / po_… tr_…: keep it for verify calls
    failure_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ChargeRequest:
    """Charge a saved authorisation (a card or mandate the borrower approved): repayments."""

    reference: str
    amount_minor: int
    currency: str
    authorization_code: str  # Paystack AUTH_…, Flutterwave token, Stripe payment method pm_…
    email: str
    customer: str | None = None  # Stripe customer (cus_…)

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int) or self.amount_minor <= 0:
            raise ValueError("amount_minor must be a positive int of minor units")


@dataclass(frozen=True)
class ChargeResult:
    gateway: str
    reference: str
    status: TransferStatus
    amount_minor: int
    currency: str
    gateway_id: str | None = None
    failure_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class WebhookEvent:
    """A verified inbound webhook, reduced to what the payout and collection jobs need."""

    gateway: str
    event_type: str
    reference: str | None
    status: TransferStatus | None  # None for events that do not change a transfer's state
    amount_minor: int | None
    currency: str | None
    gateway_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class GatewayError(Exception):
    """A gateway call that did not give a result. See the module docstring for the two flags."""

    def __init__(self, gateway: str, code: str, message: str, *, retryable: bool, ambiguous: bool = False,
                 status_code: int | None = None):
        super().__init__(f"{gateway}: {code}: {message}")
        self.gateway = gateway
        self.code = code
        self.message = message
        self.retryable = retryable
        self.ambiguous = ambiguous
        self.status_code = status_code


class InvalidSignature(Exception):
    """An inbound webhook whose signature does not verify. Answer 400/401 and do nothing."""


class Gateway(ABC):
    name: str = ""
    currencies: frozenset[str] = frozenset()

    def supports(self, currency: str) -> bool:
        return currency.upper() in self.currencies

    @abstractmethod
    def create_recipient(self, recipient: Recipient) -> RecipientResult:
        """Register the payee with the gateway (idempotent per account at the gateways that have it)."""

    @abstractmethod
    def initiate_transfer(self, request: TransferRequest) -> TransferResult:
        """Send money. The same reference twice is one transfer."""

    @abstractmethod
    def verify_transfer(self, reference: str, *, gateway_id: str | None = None) -> TransferResult:
        """The transfer's current state. Raises ``GatewayError(code="not_found")`` when the gateway
        has no such transfer. Safe to call any number of times."""

    @abstractmethod
    def charge_authorization(self, request: ChargeRequest) -> ChargeResult:
        """Charge a saved authorisation (used by repayments)."""

    @abstractmethod
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify the signature over the raw body (``InvalidSignature`` if it fails), then parse."""

    def resolve_account(self, account_number: str, bank_code: str) -> str | None:
        """The name on the account, where the gateway offers a lookup; None where it does not.
        Raises ``GatewayError(code="account_not_found")`` when the bank says there is no such
        account (other errors mean the gateway could not answer now)."""
        return None

    def find_transfer(self, request: TransferRequest) -> TransferResult | None:
        """After an ambiguous error: the transfer if the gateway has it, None if it certainly does
        not. Raises ``GatewayError`` when the gateway cannot say (then nobody may fail over)."""
        try:
            return self.verify_transfer(request.reference)
        except GatewayError as exc:
            if exc.code == "not_found":
                return None
            raise


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup over any mapping (werkzeug Headers, dict, httpx Headers)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def loads(body: bytes) -> Any:
    """JSON with decimals as Decimal, never float (Flutterwave sends major-unit amounts)."""
    return json.loads(body, parse_float=Decimal)


class HttpGateway(Gateway):
    """Shared HTTP plumbing: one httpx client per adapter, timeouts on every call, and the mapping
    of transport failures and HTTP statuses onto ``GatewayError``'s flags."""

    default_base_url = ""

    def __init__(self, *, secret_key: str, base_url: str | None = None, timeout: float = 15.0,
                 currencies: frozenset[str] | set[str] | None = None, client: httpx.Client | None = None):
        if not secret_key:
            raise ValueError(f"{self.name}: secret_key is required")
        self.secret_key = secret_key
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        if currencies is not None:
            self.currencies = frozenset(c.upper() for c in currencies)
        # connect: how long to reach the gateway; read: how long it may take to answer a transfer.
        self.client = client or httpx.Client(timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)))

    def close(self) -> None:
        self.client.close()

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret_key}"}

    def classify(self, status: int, payload: Any, method: str) -> GatewayError:
        """Turn an HTTP error answer into a GatewayError. Adapters refine this."""
        message = _message(payload) or f"HTTP {status}"
        if status == 404:
            return GatewayError(self.name, "not_found", message, retryable=False, status_code=status)
        if status in (401, 403):
            # Our credentials at this gateway are wrong: another gateway may still pay.
            return GatewayError(self.name, "gateway_auth", message, retryable=True, status_code=status)
        if status == 429:
            return GatewayError(self.name, "rate_limited", message, retryable=True, status_code=status)
        if status >= 500:
            return GatewayError(self.name, "gateway_unavailable", message, retryable=True,
                                ambiguous=method != "GET", status_code=status)
        return GatewayError(self.name, "rejected", message, retryable=False, status_code=status)

    def request(self, method: str, path: str, *, json_body: Any = None, content: bytes | None = None,
                form: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None) -> Any:
        """Send one request; return the parsed JSON of a 2xx answer or raise ``GatewayError``."""
        all_headers = {**self.auth_headers(), "Accept": "application/json", **(headers or {})}
        if content is not None:
            all_headers.setdefault("Content-Type", "application/json")
        try:
            response = self.client.request(method, f"{self.base_url}{path}", json=json_body, content=content,
                                           data=form, params=params, headers=all_headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # The request never reached the gateway: nothing can have been executed.
            raise GatewayError(self.name, "network", str(exc) or type(exc).__name__, retryable=True) from exc
        except httpx.TransportError as exc:
            # Sent, but the answer was lost (read timeout, dropped connection): outcome unknown.
            raise GatewayError(self.name, "timeout" if isinstance(exc, httpx.TimeoutException) else "network",
                               str(exc) or type(exc).__name__, retryable=True, ambiguous=method != "GET") from exc
        try:
            payload = loads(response.content) if response.content else {}
        except ValueError:
            payload = {"message": response.text[:200]}
        if response.status_code >= 400:
            error = self.classify(response.status_code, payload, method)
            log.info("gateway error", extra={"gateway": self.name, "path": path, "status": response.status_code,
                                             "code": error.code})
            raise error
        return payload


def _message(payload: Any) -> str:
    if isinstance(payload, dict):
        if isinstance(payload.get("error"), dict):
            return str(payload["error"].get("message") or payload["error"].get("code") or "")
        return str(payload.get("message") or "")
    return ""
