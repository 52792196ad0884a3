"""The application lifecycle as a pure state machine (ARCHITECTURE.md). Transitions are checked
here and nowhere else; an illegal one raises."""
from __future__ import annotations

from caas.core.errors import DomainError
from caas.credit.models import ApplicationStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.draft: frozenset({S.submitted, S.withdrawn}),
    S.submitted: frozenset({S.screening, S.withdrawn, S.scoring_failed}),
    S.screening: frozenset({S.approved, S.declined, S.referred, S.scoring_failed, S.withdrawn}),
    S.scoring_failed: frozenset({S.screening, S.withdrawn}),
    S.referred: frozenset({S.approved, S.declined, S.withdrawn}),
    S.approved: frozenset({S.open_for_offers, S.withdrawn}),
    S.open_for_offers: frozenset({S.offer_accepted, S.expired, S.withdrawn}),
    S.offer_accepted: frozenset({S.disbursing}),
    S.disbursing: frozenset({S.active}),
    S.active: frozenset({S.closed}),
    S.declined: frozenset(),
    S.withdrawn: frozenset(),
    S.expired: frozenset(),
    S.closed: frozenset(),
}
FINAL = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)
WITHDRAWABLE = frozenset(state for state, nexts in TRANSITIONS.items() if S.withdrawn in nexts)
# The timeline a borrower sees, in order; side exits are shown where they happen.
MAIN_PATH = (S.submitted, S.screening, S.approved, S.open_for_offers, S.offer_accepted, S.disbursing, S.active,
             S.closed)


class IllegalTransition(DomainError):
    status = 409

    def __init__(self, current: S, wanted: S):
        super().__init__("illegal_transition", f"An application that is {current.value} cannot become {wanted.value}.")


def check(current: S, wanted: S) -> None:
    if wanted not in TRANSITIONS[current]:
        raise IllegalTransition(current, wanted)
