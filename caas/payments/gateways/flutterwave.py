"""Flutterwave v3 transfers (NGN, KES, GHS, UGX, TZS, ZAR and more): bank transfers, verify, tokenised
charges, and ``verif-hash`` / ``flutterwave-signature`` webhooks.

Flutterwave takes and returns amounts in MAJOR units (5500 NGN, not 550000 kobo). We convert with
``caas.money`` and write the number into the JSON exactly (no float on the way). Our reference is
Flutterwave's ``reference``.

Verify by reference uses ``GET /transfers?reference=…``; when the transfer's Flutterwave id is known
(``TransferResult.gateway_id``) ``GET /transfers/:id`` is used instead, which is the endpoint the
contracts file documents.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Mapping

from caas.money import from_minor, to_minor
from caas.payments import signatures
from caas.payments.gateways.base import (ChargeRequest, ChargeResult, GatewayError, HttpGateway, Recipient,
                                         RecipientResult, TransferRequest, TransferResult, TransferStatus,
                                         WebhookEvent, loads)

TRANSFER_STATUS = {
    "NEW": TransferStatus.pending, "PENDING": TransferStatus.pending, "QUEUED": TransferStatus.pending,
    "SUCCESSFUL": TransferStatus.succeeded, "FAILED": TransferStatus.failed,
}
CHARGE_STATUS = {"SUCCESSFUL": TransferStatus.succeeded, "FAILED": TransferStatus.failed}


def exact_json(body: Any) -> bytes:
    """JSON where Decimal values are written as exact number literals ("5500.25", never a float)."""
    literals: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            token = f"__decimal_{len(literals)}__"
            literals[f'"{token}"'] = format(value, "f")
            return token
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(body))
    for token, literal in literals.items():
        text = text.replace(token, literal)
    return text.encode()


def _minor(amount: Any, currency: str) -> int:
    return to_minor(amount if isinstance(amount, (Decimal, int)) else str(amount), currency)


class FlutterwaveGateway(HttpGateway):
    name = "flutterwave"
    currencies = frozenset({"NGN", "KES", "GHS", "UGX", "TZS", "ZAR", "RWF", "ZMW", "XAF", "XOF", "MWK", "EGP",
                            "USD", "EUR", "GBP"})
    default_base_url = "https://api.flutterwave.com/v3"

    def __init__(self, *, secret_key: str, secret_hash: str = "", **kwargs: Any):
        super().__init__(secret_key=secret_key, **kwargs)
        self.secret_hash = secret_hash  # the dashboard "secret hash" webhooks are checked against

    def classify(self, status: int, payload: Any, method: str) -> GatewayError:
        error = super().classify(status, payload, method)
        if status == 400 and "insufficient" in error.message.lower():
            # Our Flutterwave wallet is short: another gateway (another balance) may pay.
            return GatewayError(self.name, "insufficient_gateway_balance", error.message, retryable=True,
                                status_code=status)
        return error

    def _data(self, payload: Any) -> Any:
        if not isinstance(payload, dict) or str(payload.get("status", "")).lower() != "success":
            message = payload.get("message") if isinstance(payload, dict) else payload
            raise GatewayError(self.name, "rejected", str(message), retryable=False)
        return payload.get("data")

    def create_recipient(self, recipient: Recipient) -> RecipientResult:
        # Flutterwave transfers take the bank details on every call; a beneficiary record is optional.
        # Nothing to register, so the "code" is the account itself.
        return RecipientResult(self.name, f"{recipient.bank_code}:{recipient.account_number}",
                               {"account_bank": recipient.bank_code, "account_number": recipient.account_number})

    def _transfer(self, data: Mapping[str, Any], reference: str) -> TransferResult:
        raw_status = str(data.get("status", "")).upper()
        status = TRANSFER_STATUS.get(raw_status, TransferStatus.pending)
        currency = str(data.get("currency", "")).upper()
        return TransferResult(
            gateway=self.name, reference=str(data.get("reference") or reference), status=status,
            amount_minor=_minor(data["amount"], currency), currency=currency,
            gateway_id=str(data["id"]) if data.get("id") is not None else None,
            failure_reason=(data.get("complete_message") or raw_status) if status is TransferStatus.failed else None,
            raw=dict(data))

    def initiate_transfer(self, request: TransferRequest) -> TransferResult:
        currency = request.currency.upper()
        recipient = request.recipient
        body = {"account_bank": recipient.bank_code, "account_number": recipient.account_number,
                "amount": from_minor(request.amount_minor, currency), "currency": currency,
                "narration": request.narration or f"Payout {request.reference}", "reference": request.reference,
                "beneficiary_name": recipient.name, "debit_currency": currency}
        try:
            data = self._data(self.request("POST", "/transfers", content=exact_json(body)))
        except GatewayError as exc:
            if exc.status_code == 400 and "reference" in exc.message.lower() and (
                    "exist" in exc.message.lower() or "duplicate" in exc.message.lower()):
                return self.verify_transfer(request.reference)
            raise
        return self._transfer(data, request.reference)

    def verify_transfer(self, reference: str, *, gateway_id: str | None = None) -> TransferResult:
        if gateway_id:
            return self._transfer(self._data(self.request("GET", f"/transfers/{gateway_id}")), reference)
        found = self._data(self.request("GET", "/transfers", params={"reference": reference})) or []
        matches = [t for t in found if str(t.get("reference")) == reference]
        if not matches:
            raise GatewayError(self.name, "not_found", f"no transfer with reference {reference}", retryable=False)
        return self._transfer(matches[0], reference)

    def charge_authorization(self, request: ChargeRequest) -> ChargeResult:
        currency = request.currency.upper()
        body = {"token": request.authorization_code, "currency": currency, "email": request.email,
                "amount": from_minor(request.amount_minor, currency), "tx_ref": request.reference}
        data = self._data(self.request("POST", "/tokenized-charges", content=exact_json(body))) or {}
        status = CHARGE_STATUS.get(str(data.get("status", "")).upper(), TransferStatus.pending)
        return ChargeResult(self.name, str(data.get("tx_ref") or request.reference), status,
                            _minor(data.get("amount", from_minor(request.amount_minor, currency)), currency), currency,
                            gateway_id=str(data["id"]) if data.get("id") is not None else None,
                            failure_reason=data.get("processor_response") if status is TransferStatus.failed else None,
                            raw=dict(data))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        signatures.check_flutterwave(headers, body, self.secret_hash)
        event = loads(body)
        data = event.get("data") or {}
        kind = str(event.get("event", ""))
        currency = str(data["currency"]).upper() if data.get("currency") else None
        status = None
        if kind in ("transfer.completed", "charge.completed"):
            status = (TRANSFER_STATUS if kind == "transfer.completed" else CHARGE_STATUS).get(
                str(data.get("status", "")).upper(), TransferStatus.pending)
        return WebhookEvent(
            gateway=self.name, event_type=kind, reference=data.get("reference") or data.get("tx_ref"), status=status,
            amount_minor=_minor(data["amount"], currency) if data.get("amount") is not None and currency else None,
            currency=currency, gateway_id=str(data["id"]) if data.get("id") is not None else None, raw=event)
