"""Refusals raised by the ledger. All are DomainErrors: the boundary shows the code and message."""
from __future__ import annotations

from caas.core.errors import DomainError


class LedgerError(DomainError):
    """An entry the ledger will not post (bad lines, unknown entry, misuse)."""

    def __init__(self, message: str, code: str = "ledger_error", field: str | None = None):
        super().__init__(code, message, field)


class UnbalancedEntry(LedgerError):
    def __init__(self, message: str):
        super().__init__(message, "unbalanced_entry")


class IdempotencyConflict(LedgerError):
    """The idempotency key was used before for different lines: a bug in the caller, never a retry."""

    status = 409

    def __init__(self, key: str):
        super().__init__(f"idempotency key {key!r} was already used for a different entry", "idempotency_conflict")
        self.key = key


class InsufficientFunds(LedgerError):
    """Posting would take an account that must stay at or above zero below it."""

    def __init__(self, account_label: str, balance_minor: int, needed_minor: int, currency: str):
        super().__init__(
            f"insufficient funds in {account_label}: balance {balance_minor}, needs {needed_minor} ({currency} minor units)",
            "insufficient_funds", "amount_minor")
        self.balance_minor = balance_minor
        self.needed_minor = needed_minor
        self.currency = currency
