"""Fault tests reuse the webhook receiver (tests/webhooks) and the fake payment gateways
(tests/payments), over real HTTP."""
from tests.payments.conftest import contracts, fake, fake_server
from tests.webhooks.conftest import receiver

__all__ = ["contracts", "fake", "fake_server", "receiver"]  # fixtures for this folder
