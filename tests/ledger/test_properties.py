"""Hypothesis properties of the ledger on the real database.

Random sequences of fundings, reservations, releases, withdrawals, free-form multi-currency
entries, unbalanced attempts, replays and reversals run against the ledger and against a plain
Python model of the balances. After every sequence: each entry balances per currency, every
maintained balance equals the sum of its lines and the model, no non-negative account is below
zero, the trial balance sums to zero per currency, and the database's own deferred checks pass.
Each example runs in a savepoint that is rolled back.
"""
from __future__ import annotations

import uuid
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from caas import ledger
from caas.ledger import (KINDS, AccountKind, IdempotencyConflict, InsufficientFunds, JournalLine, Line,
                         UnbalancedEntry, account_key)
from caas.ledger.models import Side

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PROVIDERS = 3
CURRENCIES = ("NGN", "USD")

amounts = st.integers(min_value=1, max_value=10_000)
provider_ix = st.integers(min_value=0, max_value=PROVIDERS - 1)
earlier = st.integers(min_value=0, max_value=10_000)  # index into what was posted so far (modulo)


@st.composite
def free_entry(draw):
    """A balanced entry over accounts with no floor, in one or two currencies."""
    legs = []
    for currency in draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=2, unique=True)):
        debits = draw(st.lists(st.tuples(st.integers(0, 3), amounts), min_size=1, max_size=3))
        total = sum(a for _, a in debits)
        cuts = sorted(draw(st.sets(st.integers(1, total - 1), max_size=2)) if total > 1 else set())
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, total])]
        credits = [(draw(st.integers(0, 3)), part) for part in parts]
        legs += [(currency, ix, amount, 0) for ix, amount in debits]
        legs += [(currency, ix, 0, amount) for ix, amount in credits]
    return ("free", legs)


operations = st.lists(st.one_of(
    st.tuples(st.just("fund"), provider_ix, amounts, st.sampled_from(CURRENCIES)),
    st.tuples(st.just("reserve"), provider_ix, amounts, st.sampled_from(CURRENCIES)),
    st.tuples(st.just("release"), provider_ix, amounts, st.sampled_from(CURRENCIES)),
    st.tuples(st.just("withdraw"), provider_ix, amounts, st.sampled_from(CURRENCIES)),
    free_entry(),
    st.tuples(st.just("unbalanced"), provider_ix, amounts),
    st.tuples(st.just("replay"), earlier),
    st.tuples(st.just("reverse"), earlier),
), min_size=1, max_size=25)


class World:
    """Names for one example (fresh owners, so examples never share accounts) and the model."""

    def __init__(self) -> None:
        self.providers = [str(uuid.uuid4()) for _ in range(PROVIDERS)]
        self.gateway = "t" + uuid.uuid4().hex[:12]
        self.client = str(uuid.uuid4())
        self.loan = str(uuid.uuid4())
        self.model: dict = defaultdict(int)
        self.posted: list[tuple[uuid.UUID, str, list[Line]]] = []  # (entry id, key, lines)
        self.reversals: dict[uuid.UUID, uuid.UUID] = {}

    def free_account(self, ix: int, currency: str):
        return [account_key(AccountKind.gateway_clearing, self.gateway, currency),
                account_key(AccountKind.platform_fee_revenue, None, currency),
                account_key(AccountKind.client_billing_receivable, self.client, currency),
                account_key(AccountKind.loan_receivable, self.loan, currency)][ix]

    def deltas(self, lines: list[Line]) -> dict:
        out: dict = defaultdict(int)
        for line in lines:
            sign = 1 if KINDS[line.account.kind].normal_side is Side.debit else -1
            out[line.account] += sign * (line.debit_minor - line.credit_minor)
        return out

    def fits(self, lines: list[Line]) -> bool:
        return all(self.model[k] + d >= 0 for k, d in self.deltas(lines).items() if KINDS[k.kind].non_negative)

    def apply(self, lines: list[Line]) -> None:
        for k, d in self.deltas(lines).items():
            self.model[k] += d


def lines_for(world: World, op) -> list[Line]:
    kind = op[0]
    if kind == "free":
        return [Line(world.free_account(ix, cur), dr, cr) for cur, ix, dr, cr in op[1]]
    _, p, amount, currency = op
    avail = account_key(AccountKind.provider_available, world.providers[p], currency)
    held = account_key(AccountKind.provider_reserved, world.providers[p], currency)
    bank = account_key(AccountKind.gateway_clearing, world.gateway, currency)
    return {
        "fund": [ledger.debit(bank, amount), ledger.credit(avail, amount)],
        "reserve": [ledger.debit(avail, amount), ledger.credit(held, amount)],
        "release": [ledger.debit(held, amount), ledger.credit(avail, amount)],
        "withdraw": [ledger.debit(avail, amount), ledger.credit(bank, amount)],
    }[kind]


def count_lines(db) -> int:
    return db.scalar(select(func.count()).select_from(JournalLine))


def run(db, world: World, ops) -> None:
    for n, op in enumerate(ops):
        before = count_lines(db)
        if op[0] == "unbalanced":
            _, p, amount = op
            try:
                ledger.post(db, memo="bad", idempotency_key=f"bad-{uuid.uuid4()}", lines=[
                    ledger.debit(account_key(AccountKind.gateway_clearing, world.gateway, "NGN"), amount + 1),
                    ledger.credit(account_key(AccountKind.provider_available, world.providers[p], "NGN"), amount)])
            except UnbalancedEntry:
                pass
            else:
                raise AssertionError("an unbalanced entry was posted")
            assert count_lines(db) == before
        elif op[0] == "replay":
            if not world.posted:
                continue
            entry_id, key, lines = world.posted[op[1] % len(world.posted)]
            assert ledger.post(db, memo="replay", idempotency_key=key, lines=lines).id == entry_id
            assert count_lines(db) == before
            try:  # the key with other (still balanced) lines is refused, not silently accepted
                ledger.post(db, memo="replay", idempotency_key=key,
                            lines=[Line(ln.account, ln.debit_minor * 2, ln.credit_minor * 2) for ln in lines])
            except IdempotencyConflict:
                assert count_lines(db) == before
            else:
                raise AssertionError("a reused key with other lines was accepted")
        elif op[0] == "reverse":
            if not world.posted:
                continue
            entry_id, _, lines = world.posted[op[1] % len(world.posted)]
            mirrored = [Line(ln.account, ln.credit_minor, ln.debit_minor) for ln in lines]
            if entry_id in world.reversals:
                assert ledger.reverse(db, entry_id).id == world.reversals[entry_id]
                assert count_lines(db) == before
            elif world.fits(mirrored):
                reversal = ledger.reverse(db, entry_id)
                world.reversals[entry_id] = reversal.id
                world.apply(mirrored)
                world.posted.append((reversal.id, reversal.idempotency_key, mirrored))
            else:
                try:
                    ledger.reverse(db, entry_id)
                except InsufficientFunds:
                    assert count_lines(db) == before
                else:
                    raise AssertionError("a reversal took an account below zero")
        else:
            lines = lines_for(world, op)
            key = f"op-{n}-{uuid.uuid4()}"
            if world.fits(lines):
                entry = ledger.post(db, memo=op[0], idempotency_key=key, lines=lines)
                world.apply(lines)
                world.posted.append((entry.id, key, lines))
            else:
                try:
                    ledger.post(db, memo=op[0], idempotency_key=key, lines=lines)
                except InsufficientFunds:
                    assert count_lines(db) == before
                else:
                    raise AssertionError(f"{op[0]} took an account below zero")


def check_invariants(db, world: World) -> None:
    entry_ids = [entry_id for entry_id, _, _ in world.posted]
    if entry_ids:
        unbalanced = db.execute(text(
            "SELECT entry_id, currency FROM journal_lines WHERE entry_id = ANY(:e) GROUP BY entry_id, currency "
            "HAVING sum(debit_minor) <> sum(credit_minor)"), {"e": entry_ids}).all()
        assert unbalanced == []
        assert db.scalar(text("SELECT count(DISTINCT entry_id) FROM journal_lines WHERE entry_id = ANY(:e)"),
                         {"e": entry_ids}) == len(entry_ids)
    for key, expected in world.model.items():
        assert ledger.balance(db, key) == expected, key
        if KINDS[key.kind].non_negative:
            assert expected >= 0
    assert ledger.verify_balances(db) == []
    assert all(tb.difference_minor == 0 for tb in ledger.trial_balance(db, include_zero=True))
    negative = db.scalar(text(
        "SELECT count(*) FROM ledger_balances WHERE kind IN ('provider_available', 'provider_reserved', "
        "'borrower_payout_clearing') AND balance_minor < 0"))
    assert negative == 0
    # The database's own commit-time checks over everything posted in this example.
    db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    db.execute(text("SET CONSTRAINTS ALL DEFERRED"))


@SETTINGS
@given(ops=operations)
def test_random_sequences_keep_the_books_sound(db, ops):
    world = World()
    savepoint = db.begin_nested()
    try:
        run(db, world, ops)
        check_invariants(db, world)
    finally:
        savepoint.rollback()
