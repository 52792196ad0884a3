"""Concurrent postings on real, separately committed transactions (one connection per thread, as
the application role). The tests remove what they committed."""
from __future__ import annotations

import random
import threading
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from caas import ledger
from caas.ledger import InsufficientFunds, credit, debit
from tests.ledger import available, clearing, new_gateway, new_id, purge_owners, reserved

THREADS = 8


@pytest.fixture
def app_engine(app):
    engine = create_engine(app.config["APP_DATABASE_URL"], pool_size=THREADS + 2, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def committed(owner):
    """Owner ids whose committed ledger rows are purged after the test."""
    owners: list[str] = []
    yield owners
    purge_owners(owner, owners)


def run_at_once(work, count: int) -> list:
    """Run ``work(i)`` in ``count`` threads released together; return results or exceptions."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a posting hung (deadlock?)"
    return results


def in_transaction(engine, fn):
    """One committed transaction of the app's kind: operations flush, this boundary commits."""
    with Session(bind=engine) as session:
        try:
            result = fn(session)
            session.commit()
            return result
        except Exception:
            session.rollback()
            raise


def fund(engine, provider: str, gateway: str, amount: int) -> None:
    in_transaction(engine, lambda s: ledger.post(
        s, memo="funding", idempotency_key=f"fund-{uuid.uuid4()}",
        lines=[debit(clearing(gateway), amount), credit(available(provider), amount)]))


def read(engine, fn):
    with Session(bind=engine) as session:
        return fn(session)


def test_concurrent_reservations_never_exceed_the_funds(app_engine, committed):
    provider, gateway = new_id(), new_gateway()
    committed += [provider, gateway]
    fund(app_engine, provider, gateway, 10_000)

    results = run_at_once(lambda i: in_transaction(
        app_engine, lambda s: ledger.reserve(s, provider, 1_500, "NGN", f"loan-{provider}-{i}")), THREADS)

    won = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, InsufficientFunds) for r in refused), refused
    assert (len(won), len(refused)) == (6, 2)  # 6 x 1,500 = 9,000 fits in 10,000; a 7th would not
    funds = read(app_engine, lambda s: ledger.provider_funds(s, provider, "NGN"))
    assert (funds.available_minor, funds.reserved_minor) == (1_000, 9_000)


def test_concurrent_withdrawals_and_reservations_of_random_size(app_engine, committed):
    """Mixed operations from many connections: the total taken never exceeds the funds and the
    final balance is what the committed entries say, never below zero."""
    provider, gateway = new_id(), new_gateway()
    committed += [provider, gateway]
    funds = 50_000
    fund(app_engine, provider, gateway, funds)
    rng = random.Random(8)
    amounts = [[rng.randint(1, 6_000) for _ in range(6)] for _ in range(THREADS)]

    def worker(i: int) -> int:
        taken = 0
        for j, amount in enumerate(amounts[i]):
            try:
                if j % 2:
                    in_transaction(app_engine, lambda s: ledger.reserve(s, provider, amount, "NGN", f"l-{i}-{j}-{provider}"))
                else:  # a withdrawal back to the provider's bank account
                    in_transaction(app_engine, lambda s: ledger.post(
                        s, memo="withdrawal", idempotency_key=f"w-{i}-{j}-{provider}",
                        lines=[debit(available(provider), amount), credit(clearing(gateway), amount)]))
                taken += amount
            except InsufficientFunds:
                pass
        return taken

    results = run_at_once(worker, THREADS)

    assert not any(isinstance(r, Exception) for r in results), results
    taken = sum(results)
    assert taken <= funds
    final = read(app_engine, lambda s: ledger.provider_funds(s, provider, "NGN"))
    assert final.available_minor == funds - taken >= 0
    assert read(app_engine, lambda s: [m for m in ledger.verify_balances(s)]) == []


def test_opposite_transfers_between_two_accounts_do_not_deadlock(app_engine, committed):
    """A->B and B->A at the same time: balance rows are locked in account-id order, not line order."""
    a, b, gateway = new_id(), new_id(), new_gateway()
    committed += [a, b, gateway]
    fund(app_engine, a, gateway, 100_000)
    fund(app_engine, b, gateway, 100_000)

    def worker(i: int) -> None:
        for j in range(10):
            src, dst = (a, b) if (i + j) % 2 else (b, a)
            in_transaction(app_engine, lambda s: ledger.post(
                s, memo="move", idempotency_key=f"mv-{i}-{j}-{a}",
                lines=[debit(available(src), 10), credit(available(dst), 10)]))

    results = run_at_once(worker, THREADS)

    assert results == [None] * THREADS  # no deadlock, no serialisation error
    total = read(app_engine, lambda s: ledger.balance(s, available(a)) + ledger.balance(s, available(b)))
    assert total == 200_000


def test_the_same_event_posted_concurrently_is_one_entry(app_engine, committed):
    provider, gateway = new_id(), new_gateway()
    committed += [provider, gateway]
    fund(app_engine, provider, gateway, 5_000)

    results = run_at_once(lambda i: in_transaction(
        app_engine, lambda s: ledger.reserve(s, provider, 3_000, "NGN", f"same-loan-{provider}").id), THREADS)

    assert len(set(results)) == 1 and not isinstance(results[0], Exception), results
    funds = read(app_engine, lambda s: ledger.provider_funds(s, provider, "NGN"))
    assert (funds.available_minor, funds.reserved_minor) == (2_000, 3_000)
    with app_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM journal_entries WHERE idempotency_key = :k"),
                           {"k": f"reserve:same-loan-{provider}"}) == 1


def test_a_posting_that_must_open_an_account_holds_no_lock_until_it_has(app_engine, committed):
    """The lock step is all or nothing: with one account missing it locks none, so it cannot hold
    one balance row while it creates the other (which would take locks out of order)."""
    from caas.ledger.posting import _lock_balances

    provider, gateway = new_id(), new_gateway()
    committed += [provider, gateway]
    fund(app_engine, provider, gateway, 1_000)
    keys = {available(provider), reserved(provider)}  # reserved does not exist yet
    with Session(bind=app_engine) as holder, Session(bind=app_engine) as other:
        holder.execute(text("SET LOCAL lock_timeout = '2s'"))
        assert _lock_balances(holder, keys) == {}  # nothing locked ...
        other.execute(text("SET LOCAL lock_timeout = '2s'"))
        [(_, balance)] = _lock_balances(other, {available(provider)}).values()  # ... so this does not wait
        assert balance == 1_000
        other.rollback()
        holder.rollback()
