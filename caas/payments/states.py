"""The payout state machine. Pure: no database, no gateway; every transition is checked here.

    pending ──> submitted ──> succeeded ──> reversed
       │            │  │
       │            │  └────> reversed   (a gateway can reverse a transfer that never settled)
       │            └───────> failed ──> submitted   (retried: a new attempt, same payout)
       └──────────> failed                (refused before any gateway saw it: no route)

``reversed`` is final. ``failed`` is final unless the payout job retries it. Staying in the same
state is not a transition (``transition`` refuses it); callers that receive the same gateway news
twice check ``is_change`` first.
"""
from __future__ import annotations

import enum

from caas.payments.gateways.base import TransferStatus


class PayoutState(str, enum.Enum):
    pending = "pending"
    submitted = "submitted"
    succeeded = "succeeded"
    failed = "failed"
    reversed = "reversed"


ALLOWED: dict[PayoutState, frozenset[PayoutState]] = {
    PayoutState.pending: frozenset({PayoutState.submitted, PayoutState.failed}),
    PayoutState.submitted: frozenset({PayoutState.succeeded, PayoutState.failed, PayoutState.reversed}),
    PayoutState.succeeded: frozenset({PayoutState.reversed}),
    PayoutState.failed: frozenset({PayoutState.submitted}),
    PayoutState.reversed: frozenset(),
}
FINAL = frozenset({PayoutState.reversed})


class IllegalTransition(ValueError):
    def __init__(self, current: PayoutState, target: PayoutState):
        super().__init__(f"a payout cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target


def can_transition(current: PayoutState | str, target: PayoutState | str) -> bool:
    return PayoutState(target) in ALLOWED[PayoutState(current)]


def transition(current: PayoutState | str, target: PayoutState | str) -> PayoutState:
    """The new state, or ``IllegalTransition``."""
    current, target = PayoutState(current), PayoutState(target)
    if target not in ALLOWED[current]:
        raise IllegalTransition(current, target)
    return target


def is_change(current: PayoutState | str, target: PayoutState | str) -> bool:
    return PayoutState(current) is not PayoutState(target)


# What a gateway's answer means for a submitted payout: "pending" at the gateway is our "submitted".
FROM_GATEWAY: dict[TransferStatus, PayoutState] = {
    TransferStatus.pending: PayoutState.submitted,
    TransferStatus.succeeded: PayoutState.succeeded,
    TransferStatus.failed: PayoutState.failed,
    TransferStatus.reversed: PayoutState.reversed,
}


def from_gateway(status: TransferStatus | str) -> PayoutState:
    return FROM_GATEWAY[TransferStatus(status)]
