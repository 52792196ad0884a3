"""Paystack transfers (NGN, GHS, ZAR, KES): recipients, transfers from balance, verify by reference,
authorisation charges, and ``x-paystack-signature`` webhooks.

Amounts are already in subunits (kobo, pesewas, cents), i.e. our minor units. Our reference is
Paystack's ``reference``: lowercase letters, digits, '-' and '_' only; reusing it retries safely.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from caas.payments import signatures
from caas.payments.gateways.base import (ChargeRequest, ChargeResult, GatewayError, HttpGateway, Recipient,
                                         RecipientResult, TransferRequest, TransferResult, TransferStatus,
                                         WebhookEvent, header, loads)

REFERENCE_RE = re.compile(r"^[a-z0-9_-]{1,100}$")

# Paystack transfer statuses. "otp" means the account still requires OTP finalisation, which a
# platform integration must switch off; until then the transfer waits, so it reads as pending.
TRANSFER_STATUS = {
    "pending": TransferStatus.pending, "otp": TransferStatus.pending, "received": TransferStatus.pending,
    "queued": TransferStatus.pending, "processing": TransferStatus.pending,
    "success": TransferStatus.succeeded,
    "failed": TransferStatus.failed, "abandoned": TransferStatus.failed, "rejected": TransferStatus.failed,
    "blocked": TransferStatus.failed,
    "reversed": TransferStatus.reversed,
}
CHARGE_STATUS = {
    "success": TransferStatus.succeeded, "failed": TransferStatus.failed, "abandoned": TransferStatus.failed,
    "reversed": TransferStatus.reversed,
}
WEBHOOK_STATUS = {
    "transfer.success": TransferStatus.succeeded, "transfer.failed": TransferStatus.failed,
    "transfer.reversed": TransferStatus.reversed, "charge.success": TransferStatus.succeeded,
}


class PaystackGateway(HttpGateway):
    name = "paystack"
    currencies = frozenset({"NGN", "GHS", "ZAR", "KES"})
    default_base_url = "https://api.paystack.co"

    def classify(self, status: int, payload: Any, method: str) -> GatewayError:
        error = super().classify(status, payload, method)
        if status == 400 and "balance" in error.message.lower():
            # Our Paystack balance is short: another gateway (another balance) may pay.
            return GatewayError(self.name, "insufficient_gateway_balance", error.message, retryable=True,
                                status_code=status)
        return error

    def _data(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict) or payload.get("status") is False or not isinstance(payload.get("data"), dict):
            raise GatewayError(self.name, "rejected", str(payload.get("message") if isinstance(payload, dict) else
                                                          payload), retryable=False)
        return payload["data"]

    def create_recipient(self, recipient: Recipient) -> RecipientResult:
        body = {"type": recipient.type, "name": recipient.name, "account_number": recipient.account_number,
                "bank_code": recipient.bank_code, "currency": recipient.currency.upper()}
        data = self._data(self.request("POST", "/transferrecipient", json_body=body))
        return RecipientResult(self.name, str(data["recipient_code"]), dict(data.get("details") or {}))

    def _transfer(self, data: Mapping[str, Any], reference: str) -> TransferResult:
        raw_status = str(data.get("status", "")).lower()
        status = TRANSFER_STATUS.get(raw_status, TransferStatus.pending)
        return TransferResult(
            gateway=self.name, reference=str(data.get("reference") or reference), status=status,
            amount_minor=int(data["amount"]), currency=str(data.get("currency", "")).upper(),
            gateway_id=data.get("transfer_code"),
            failure_reason=(data.get("reason") or raw_status) if status is TransferStatus.failed else None,
            raw=dict(data))

    def initiate_transfer(self, request: TransferRequest) -> TransferResult:
        if not REFERENCE_RE.match(request.reference):
            raise GatewayError(self.name, "invalid_reference",
                               "Paystack references are lowercase letters, digits, '-' and '_'", retryable=False)
        code = request.recipient_code or self.create_recipient(request.recipient).recipient_code
        body = {"source": "balance", "amount": request.amount_minor, "recipient": code,
                "reason": request.narration or None, "currency": request.currency.upper(),
                "reference": request.reference}
        try:
            data = self._data(self.request("POST", "/transfer", json_body=body))
        except GatewayError as exc:
            if exc.status_code == 400 and "duplicate" in exc.message.lower():
                # The reference was used before: that transfer is the answer, not an error.
                return self.verify_transfer(request.reference)
            raise
        return self._transfer(data, request.reference)

    def resolve_account(self, account_number: str, bank_code: str) -> str | None:
        """GET /bank/resolve: the account holder's name. Paystack answers 400/422 "Could not resolve
        account name" for a number that does not exist at that bank."""
        try:
            payload = self.request("GET", "/bank/resolve",
                                   params={"account_number": account_number, "bank_code": bank_code})
        except GatewayError as exc:
            if exc.status_code in (400, 404, 422):
                raise GatewayError(self.name, "account_not_found", exc.message, retryable=False,
                                   status_code=exc.status_code) from exc
            raise
        return str(self._data(payload).get("account_name") or "") or None

    def verify_transfer(self, reference: str, *, gateway_id: str | None = None) -> TransferResult:
        data = self._data(self.request("GET", f"/transfer/verify/{reference}"))
        return self._transfer(data, reference)

    def charge_authorization(self, request: ChargeRequest) -> ChargeResult:
        body = {"email": request.email, "amount": request.amount_minor, "currency": request.currency.upper(),
                "authorization_code": request.authorization_code, "reference": request.reference}
        data = self._data(self.request("POST", "/transaction/charge_authorization", json_body=body))
        raw_status = str(data.get("status", "")).lower()
        status = CHARGE_STATUS.get(raw_status, TransferStatus.pending)
        return ChargeResult(self.name, str(data.get("reference") or request.reference), status,
                            int(data.get("amount", request.amount_minor)), str(data.get("currency", request.currency)),
                            gateway_id=str(data["id"]) if data.get("id") is not None else None,
                            failure_reason=data.get("gateway_response") if status is TransferStatus.failed else None,
                            raw=dict(data))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        signatures.check_paystack(body, header(headers, "x-paystack-signature"), self.secret_key)
        event = loads(body)
        data = event.get("data") or {}
        kind = str(event.get("event", ""))
        return WebhookEvent(
            gateway=self.name, event_type=kind, reference=data.get("reference"), status=WEBHOOK_STATUS.get(kind),
            amount_minor=int(data["amount"]) if data.get("amount") is not None else None,
            currency=str(data["currency"]).upper() if data.get("currency") else None,
            gateway_id=data.get("transfer_code"), raw=event)
