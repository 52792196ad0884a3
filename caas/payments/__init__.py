"""Payments: gateway adapters, routing by currency, the payout state machine, webhook signatures.

- ``gateways``: one adapter per gateway behind ``gateways.base.Gateway`` (sandbox, Paystack,
  Flutterwave v3, Stripe), built with ``gateway_from_config``.
- ``routing``: ``Router.transfer`` picks the gateway for a currency, fails over on retryable errors
  and returns the decision to store with the payout.
- ``states``: payout states and the transitions allowed between them (pure).
- ``signatures``: inbound webhook signature checks (pure).

Nothing here touches the database; the payout job (marketplace issue) owns the payout rows and
posts to the ledger (``caas.ledger.begin_disbursement`` / ``settle_payout`` / ``reverse``).
"""
