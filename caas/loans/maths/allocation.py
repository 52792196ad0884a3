"""Payment allocation: a waterfall over outstanding instalments, and early payoff quotes.

:func:`allocate` guarantees that every minor unit of a payment ends up in
exactly one place (an allocation line or the credit held), and that no line
exceeds what was outstanding. Nothing is rounded: amounts are whole minor
units throughout, so nothing can be created or lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import Enum

from caas.money import DEFAULT_ROUNDING, round_minor

from .schedule import Schedule

__all__ = [
    "Component",
    "Overpayment",
    "DEFAULT_ORDER",
    "Due",
    "AllocationLine",
    "Allocation",
    "PayoffQuote",
    "allocate",
    "dues_from_schedule",
    "payoff_quote",
]


class Component(str, Enum):
    FEES = "fees"
    PENALTIES = "penalties"
    INTEREST = "interest"
    PRINCIPAL = "principal"


DEFAULT_ORDER: tuple[Component, ...] = (
    Component.FEES,
    Component.PENALTIES,
    Component.INTEREST,
    Component.PRINCIPAL,
)


class Overpayment(str, Enum):
    """What happens to money left once everything due has been paid."""

    REDUCE_TERM = "reduce-term"  # prepay principal from the last instalment backwards
    HOLD_CREDIT = "hold-credit"  # keep it as a credit balance for later dues


@dataclass(frozen=True)
class Due:
    """What is still outstanding on one instalment, in minor units."""

    number: int
    from_date: date
    due_date: date
    principal_minor: int = 0
    interest_minor: int = 0
    fees_minor: int = 0
    penalties_minor: int = 0

    def __post_init__(self) -> None:
        for component in Component:
            if self.amount(component) < 0:
                raise ValueError(f"instalment {self.number}: {component.value} outstanding is negative")

    def amount(self, component: Component) -> int:
        return getattr(self, f"{component.value}_minor")

    @property
    def total_minor(self) -> int:
        return sum(self.amount(component) for component in Component)

    def less(self, component: Component, paid_minor: int) -> "Due":
        return replace(self, **{f"{component.value}_minor": self.amount(component) - paid_minor})


@dataclass(frozen=True)
class AllocationLine:
    number: int  # instalment number
    component: Component
    amount_minor: int
    prepayment: bool = False  # paid before it fell due (overpayment reducing the term)


@dataclass(frozen=True)
class Allocation:
    payment_minor: int
    lines: tuple[AllocationLine, ...]
    credit_minor: int  # held for later, not applied to any instalment
    remaining: tuple[Due, ...]  # the dues after this payment

    @property
    def allocated_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    def total_for(self, component: Component) -> int:
        return sum(line.amount_minor for line in self.lines if line.component is component)


def _check_order(order: Sequence[Component | str]) -> tuple[Component, ...]:
    parsed = tuple(Component(getattr(item, "value", item)) for item in order)
    if sorted(parsed, key=lambda c: c.value) != sorted(Component, key=lambda c: c.value):
        raise ValueError("allocation order must name fees, penalties, interest and principal once each")
    return parsed


def allocate(
    payment_minor: int,
    dues: Iterable[Due],
    *,
    on: date,
    order: Sequence[Component | str] = DEFAULT_ORDER,
    overpayment: Overpayment | str = Overpayment.HOLD_CREDIT,
) -> Allocation:
    """Allocate a payment received ``on`` a date to outstanding instalments.

    Instalments due on or before ``on`` are paid oldest first, each one's
    components in ``order`` before the next instalment is touched. What is left
    then follows ``overpayment``: held as credit, or applied to the principal
    of instalments not yet due, latest first, so the loan ends sooner (any
    excess beyond all principal is held as credit).
    """
    if isinstance(payment_minor, bool) or not isinstance(payment_minor, int):
        raise TypeError("payment_minor must be an int of minor units")
    if payment_minor < 0:
        raise ValueError("payment must not be negative")
    components = _check_order(order)
    policy = Overpayment(getattr(overpayment, "value", overpayment))
    outstanding = {due.number: due for due in dues}
    left = payment_minor
    lines: list[AllocationLine] = []

    def pay(due: Due, component: Component, prepayment: bool = False) -> None:
        nonlocal left
        amount = min(left, outstanding[due.number].amount(component))
        if amount:
            lines.append(AllocationLine(due.number, component, amount, prepayment))
            outstanding[due.number] = outstanding[due.number].less(component, amount)
            left -= amount

    for due in sorted(outstanding.values(), key=lambda d: (d.due_date, d.number)):
        if due.due_date > on:
            continue
        for component in components:
            pay(due, component)
    if policy is Overpayment.REDUCE_TERM:
        future = [d for d in outstanding.values() if d.due_date > on]
        for due in sorted(future, key=lambda d: (d.due_date, d.number), reverse=True):
            pay(due, Component.PRINCIPAL, prepayment=True)
    remaining = tuple(sorted(outstanding.values(), key=lambda d: (d.due_date, d.number)))
    return Allocation(payment_minor, tuple(lines), left, remaining)


def dues_from_schedule(schedule: Schedule) -> tuple[Due, ...]:
    """Every instalment of a fresh schedule as an outstanding due (nothing paid yet)."""
    return tuple(
        Due(row.number, row.from_date, row.due_date, row.principal_minor, row.interest_minor)
        for row in schedule.installments
    )


@dataclass(frozen=True)
class PayoffQuote:
    on: date
    principal_minor: int
    interest_minor: int
    fees_minor: int
    penalties_minor: int

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.interest_minor + self.fees_minor + self.penalties_minor


def payoff_quote(dues: Iterable[Due], on: date, *, rounding: str = DEFAULT_ROUNDING) -> PayoffQuote:
    """What settles the loan in full on ``on``.

    - instalments due on or before ``on``: everything outstanding;
    - the instalment whose period contains ``on``: its principal, and its
      outstanding interest pro rata to the days elapsed (rounded once, with ``rounding``);
    - later instalments: principal only; their interest is not yet earned.
    Fees and penalties of instalments not yet due are not charged.
    """
    principal = interest = fees = penalties = 0
    for due in dues:
        principal += due.principal_minor
        if due.due_date <= on:
            interest += due.interest_minor
            fees += due.fees_minor
            penalties += due.penalties_minor
        elif due.from_date < on:
            elapsed = (on - due.from_date).days
            period = (due.due_date - due.from_date).days
            interest += round_minor(Decimal(due.interest_minor) * elapsed / period, rounding)
    return PayoffQuote(on, principal, interest, fees, penalties)
