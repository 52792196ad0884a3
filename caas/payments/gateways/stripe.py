"""Stripe payouts and Connect transfers (USD, EUR, GBP), PaymentIntents for saved payment methods,
and ``Stripe-Signature`` webhooks.

Requests are form-encoded. Our reference travels as the ``Idempotency-Key`` header (Stripe saves
the first answer for a key, for at least 24 h, and replays it; the same key with other parameters
is an error) and as ``metadata[reference]`` so webhooks can be matched to the payout.

The recipient's destination decides the call: a connected account (``acct_…``) gets a transfer
(``POST /v1/transfers``), anything else a payout from the platform balance (``POST /v1/payouts``,
to ``destination`` when given, else the default bank account).

Stripe cannot look a payout up by our reference, so ``verify_transfer`` needs the Stripe id from
the first answer (``TransferResult.gateway_id``). After an ambiguous error ``find_transfer``
replays the creation with the same Idempotency-Key instead: Stripe answers with the saved result
if the first request ran, or runs it now if it never arrived; either way it pays once.
"""
from __future__ import annotations

from typing import Any, Mapping

from caas.payments import signatures
from caas.payments.gateways.base import (ChargeRequest, ChargeResult, GatewayError, HttpGateway, Recipient,
                                         RecipientResult, TransferRequest, TransferResult, TransferStatus,
                                         WebhookEvent, header, loads)

PAYOUT_STATUS = {
    "pending": TransferStatus.pending, "in_transit": TransferStatus.pending, "paid": TransferStatus.succeeded,
    "failed": TransferStatus.failed, "canceled": TransferStatus.failed,
}
INTENT_STATUS = {
    "succeeded": TransferStatus.succeeded, "processing": TransferStatus.pending,
    "requires_capture": TransferStatus.pending, "canceled": TransferStatus.failed,
    "requires_payment_method": TransferStatus.failed, "requires_action": TransferStatus.failed,
    "requires_confirmation": TransferStatus.failed,
}


def form_encode(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Stripe's bracket notation: {"metadata": {"reference": "x"}} -> {"metadata[reference]": "x"}."""
    out: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}[{key}]" if prefix else key
        if value is None:
            continue
        if isinstance(value, Mapping):
            out.update(form_encode(value, name))
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


class StripeGateway(HttpGateway):
    name = "stripe"
    currencies = frozenset({"USD", "EUR", "GBP"})
    default_base_url = "https://api.stripe.com/v1"

    def __init__(self, *, secret_key: str, webhook_secret: str = "", stripe_version: str | None = None,
                 **kwargs: Any):
        super().__init__(secret_key=secret_key, **kwargs)
        self.webhook_secret = webhook_secret
        self.stripe_version = stripe_version

    def auth_headers(self) -> dict[str, str]:
        headers = super().auth_headers()
        if self.stripe_version:
            headers["Stripe-Version"] = self.stripe_version
        return headers

    def classify(self, status: int, payload: Any, method: str) -> GatewayError:
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        code = str(error.get("code") or "")
        if status == 409:  # a request with this key is still running at Stripe: ask again later
            return GatewayError(self.name, "idempotency_key_in_use", str(error.get("message", "")), retryable=True,
                                status_code=status)
        if error.get("type") == "idempotency_error":
            return GatewayError(self.name, "idempotency_conflict", str(error.get("message", "")), retryable=False,
                                status_code=status)
        if code == "balance_insufficient":
            return GatewayError(self.name, "insufficient_gateway_balance", str(error.get("message", "")),
                                retryable=True, status_code=status)
        return super().classify(status, payload, method)

    def _post(self, path: str, params: Mapping[str, Any], key: str) -> Any:
        return self.request("POST", path, form=form_encode(params), headers={"Idempotency-Key": key})

    def create_recipient(self, recipient: Recipient) -> RecipientResult:
        # Bank accounts and connected accounts are set up through Stripe's onboarding, not here:
        # the recipient must already carry its Stripe destination.
        if not recipient.destination:
            raise GatewayError(self.name, "destination_required",
                               "Stripe payouts need a connected account (acct_…) or bank account id", retryable=False)
        return RecipientResult(self.name, recipient.destination, {"destination": recipient.destination})

    def _result(self, obj: Mapping[str, Any], reference: str) -> TransferResult:
        if obj.get("object") == "transfer":
            # A Connect transfer moves balance synchronously: it exists, so it succeeded, unless reversed.
            status = TransferStatus.reversed if obj.get("reversed") else TransferStatus.succeeded
            failure = None
        else:
            status = PAYOUT_STATUS.get(str(obj.get("status")), TransferStatus.pending)
            failure = (obj.get("failure_message") or obj.get("failure_code") or obj.get("status")) \
                if status is TransferStatus.failed else None
        metadata = obj.get("metadata") or {}
        return TransferResult(
            gateway=self.name, reference=str(metadata.get("reference") or reference), status=status,
            amount_minor=int(obj["amount"]), currency=str(obj.get("currency", "")).upper(), gateway_id=obj.get("id"),
            failure_reason=failure, raw=dict(obj))

    def _create(self, request: TransferRequest) -> TransferResult:
        destination = request.recipient_code or request.recipient.destination
        params: dict[str, Any] = {"amount": request.amount_minor, "currency": request.currency.lower(),
                                  "description": request.narration or f"Payout {request.reference}",
                                  "metadata": {"reference": request.reference}}
        if destination and destination.startswith("acct_"):
            params.update(destination=destination, transfer_group=request.reference)
            obj = self._post("/transfers", params, request.reference)
        else:
            params.update(destination=destination, method="standard")
            obj = self._post("/payouts", params, request.reference)
        return self._result(obj, request.reference)

    def initiate_transfer(self, request: TransferRequest) -> TransferResult:
        if len(request.reference) > 255:
            raise GatewayError(self.name, "invalid_reference", "Idempotency-Key is at most 255 characters",
                               retryable=False)
        return self._create(request)

    def find_transfer(self, request: TransferRequest) -> TransferResult | None:
        return self._create(request)  # same Idempotency-Key: the saved answer, or the first run

    def verify_transfer(self, reference: str, *, gateway_id: str | None = None) -> TransferResult:
        if not gateway_id:
            raise GatewayError(self.name, "gateway_id_required",
                               "Stripe looks payouts up by their id (po_…/tr_…), not by our reference",
                               retryable=False)
        path = f"/transfers/{gateway_id}" if gateway_id.startswith("tr_") else f"/payouts/{gateway_id}"
        return self._result(self.request("GET", path), reference)

    def charge_authorization(self, request: ChargeRequest) -> ChargeResult:
        params = {"amount": request.amount_minor, "currency": request.currency.lower(),
                  "customer": request.customer, "payment_method": request.authorization_code,
                  "off_session": True, "confirm": True, "receipt_email": request.email,
                  "metadata": {"reference": request.reference}}
        try:
            intent = self._post("/payment_intents", params, request.reference)
        except GatewayError as exc:
            if exc.status_code == 402:  # declined: a result (the charge failed), not a gateway fault
                return ChargeResult(self.name, request.reference, TransferStatus.failed, request.amount_minor,
                                    request.currency.upper(), failure_reason=exc.message)
            raise
        status = INTENT_STATUS.get(str(intent.get("status")), TransferStatus.pending)
        return ChargeResult(self.name, request.reference, status, int(intent["amount"]),
                            str(intent.get("currency", "")).upper(), gateway_id=intent.get("id"),
                            failure_reason=(intent.get("last_payment_error") or {}).get("message")
                            if status is TransferStatus.failed else None, raw=dict(intent))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        signatures.check_stripe(body, header(headers, "Stripe-Signature"), self.webhook_secret)
        event = loads(body)
        kind = str(event.get("type", ""))
        obj = (event.get("data") or {}).get("object") or {}
        status: TransferStatus | None
        if kind.startswith("payout."):
            status = PAYOUT_STATUS.get(str(obj.get("status")), TransferStatus.pending)
        elif kind == "transfer.reversed":
            status = TransferStatus.reversed
        elif kind == "transfer.created":
            status = TransferStatus.succeeded
        elif kind == "payment_intent.succeeded":
            status = TransferStatus.succeeded
        elif kind == "payment_intent.payment_failed":
            status = TransferStatus.failed
        else:
            status = None
        metadata = obj.get("metadata") or {}
        return WebhookEvent(
            gateway=self.name, event_type=kind, reference=metadata.get("reference"), status=status,
            amount_minor=int(obj["amount"]) if obj.get("amount") is not None else None,
            currency=str(obj["currency"]).upper() if obj.get("currency") else None, gateway_id=obj.get("id"),
            raw=event)
