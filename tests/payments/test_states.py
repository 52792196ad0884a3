"""The payout state machine, over every pair of states."""
from __future__ import annotations

import itertools

import pytest

from caas.payments.gateways import TransferStatus
from caas.payments.states import (IllegalTransition, PayoutState, can_transition, from_gateway, is_change,
                                  transition)

S = PayoutState
LEGAL = {
    (S.pending, S.submitted), (S.pending, S.failed),
    (S.submitted, S.succeeded), (S.submitted, S.failed), (S.submitted, S.reversed),
    (S.succeeded, S.reversed),
    (S.failed, S.submitted),  # retried
}


@pytest.mark.parametrize("current, target", list(itertools.product(PayoutState, PayoutState)),
                         ids=lambda s: s.value)
def test_every_pair(current, target):
    assert can_transition(current, target) is ((current, target) in LEGAL)
    if (current, target) in LEGAL:
        assert transition(current, target) is target
        assert transition(current.value, target.value) is target  # plain strings from a database row
    else:
        with pytest.raises(IllegalTransition, match=f"from {current.value} to {target.value}"):
            transition(current, target)


def test_reversed_is_final_and_nothing_returns_to_pending():
    assert not any(can_transition(S.reversed, target) for target in PayoutState)
    assert not any(can_transition(source, S.pending) for source in PayoutState)


def test_is_change():
    assert not is_change(S.submitted, "submitted")
    assert is_change(S.submitted, S.succeeded)


@pytest.mark.parametrize("status, state", [(TransferStatus.pending, S.submitted),
                                           (TransferStatus.succeeded, S.succeeded),
                                           (TransferStatus.failed, S.failed),
                                           (TransferStatus.reversed, S.reversed)])
def test_gateway_status_maps_to_a_payout_state(status, state):
    assert from_gateway(status) is state
    assert from_gateway(status.value) is state


def test_unknown_state_is_refused():
    with pytest.raises(ValueError):
        transition("pending", "paid")
