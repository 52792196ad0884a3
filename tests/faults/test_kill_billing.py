"""A billing run killed with SIGKILL in the middle, then run again by RQ's abandoned-job retry.

The kill point is deterministic: the test holds a SHARE lock on ``invoice_lines``, so the run (a
real `flask worker -q billing` subprocess) blocks on its INSERT of the lines, after it has taken
its block of invoice numbers from the gap-free sequence and written its invoices, and before it
commits. The worker is killed there; PostgreSQL rolls its transaction back. The retried job must
then bill every client exactly once, with the numbers the dead run had taken (no gap, no
duplicate), the exact lines and totals, and the ledger posted once per invoice when issued.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from caas.billing import invoices, jobs as billing_jobs, run
from caas.billing.periods import Period
from caas.core import jobs
from tests import factories
from tests.billing.test_run import invoices_of, october_usage
from tests.billing.world import billed_client
from tests.worker_procs import WorkerProcesses, retry_abandoned_jobs, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

OCT = Period(2026, 10)
CLIENTS = 3

# What test_run.test_a_month_of_known_usage_gives_the_exact_invoice proves for this usage at 7.5% tax.
NGN_LINES = [
    ("application_processed", "usage", 12, 0, 12, 120_000, 9_000),
    ("risk_assessment", "usage", 10, 0, 10, 50_000, 3_750),
    ("provider_network_access", "usage", 1, 0, 1, 50_000, 3_750),
    ("payment_transaction", "usage", 2, 0, 2, 525_100, 39_382),
    ("api_call", "usage", 112_345, 100_000, 12_345, 123, 9),
]
NGN_TOTALS = (745_223, 55_891, 801_114)
USD_LINES = [("payment_transaction", "usage", 1, 0, 1, 1_550, 116)]
USD_TOTALS = (1_550, 116, 1_666)


@pytest.fixture
def workers(app, tmp_path):
    made = WorkerProcesses(app, tmp_path, ("billing",))
    yield made
    made.stop_all()


def _blocked_run(owner) -> dict | None:
    """The run's backend once it waits for the lines' table lock (after its invoices are written)."""
    with owner.connect() as conn:
        row = conn.execute(text(
            "SELECT pid, wait_event_type FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE '%INSERT INTO invoice_lines%' AND state = 'active' AND pid <> pg_backend_pid()"
        )).mappings().first()
    return dict(row) if row and row["wait_event_type"] == "Lock" else None


def _backend_gone(owner, pid: int) -> bool:
    with owner.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar() == 0


def test_a_billing_run_killed_after_writing_its_invoices_bills_every_client_once_when_retried(
        app, committed, owner, workers):
    clients = []
    for _ in range(CLIENTS):
        client = billed_client(committed, tax="0.075")
        october_usage(committed, client)  # also one September application, billed in September
        clients.append(client)
    committed.commit()
    september = run.execute(committed, "2026-09", triggered_by="test")
    assert september.invoices_created == CLIENTS  # numbers INV-2026-000001 … 000003 are taken

    billing_jobs.queue_run(committed, OCT)  # the admin's "run October": through the outbox
    committed.commit()
    queue = jobs.queue("billing")
    assert queue.job_ids == [billing_jobs.job_id(OCT)]

    blocker = owner.connect()
    gate = blocker.begin()
    blocker.execute(text("LOCK TABLE invoice_lines IN SHARE MODE"))  # the run's INSERT of lines waits here
    try:
        worker = workers.start()
        blocked = wait_for(lambda: _blocked_run(owner), 60, "the run to wait on its INSERT of invoice lines")
        # The run holds the year's sequence row: it has taken its block of numbers, uncommitted.
        with pytest.raises(Exception, match="could not obtain lock"):
            blocker.execute(text("SELECT 1 FROM invoice_sequences WHERE year = 2026 FOR UPDATE NOWAIT"))
        workers.kill(worker)
    finally:
        gate.rollback()  # the FOR UPDATE NOWAIT failure aborted it anyway
        blocker.close()
    wait_for(lambda: _backend_gone(owner, blocked["pid"]), 30, "PostgreSQL to end the dead worker's session")

    with owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM invoices WHERE period = '2026-10'")).scalar() == 0
        assert conn.execute(text("SELECT last_number FROM invoice_sequences WHERE year = 2026")).scalar() == CLIENTS
        runs = conn.execute(text("SELECT status FROM billing_runs WHERE period = '2026-10'")).scalars().all()
    assert runs == ["running"]  # the killed run's row: it never got to record an end

    assert retry_abandoned_jobs(queue) == 1
    workers.burst()

    with owner.connect() as conn:
        numbers = conn.execute(text("SELECT number, sequence FROM invoices ORDER BY sequence")).all()
        last = conn.execute(text("SELECT last_number FROM invoice_sequences WHERE year = 2026")).scalar()
        runs = conn.execute(text("SELECT status, invoices_created FROM billing_runs WHERE period = '2026-10' "
                                 "ORDER BY started_at")).all()
        posted = conn.execute(text("SELECT count(*) FROM journal_entries WHERE idempotency_key LIKE 'invoice-%'")
                              ).scalar()
    # Gap-free: September's 1-3, then October's 4-9 (two invoices per client: NGN and USD), each once.
    assert [s for _, s in numbers] == list(range(1, 3 * CLIENTS + 1)) and last == 3 * CLIENTS
    assert [n for n, _ in numbers] == [f"INV-2026-{s:06d}" for s in range(1, 3 * CLIENTS + 1)]
    # The killed run's row no longer says "running": the next run of the period, holding its lock, ended it.
    assert [tuple(r) for r in runs] == [("abandoned", 0), ("completed", 2 * CLIENTS)]
    assert posted == 0  # a run makes drafts; nothing reaches the ledger before an invoice is issued

    for client in clients:
        october = [(i.currency, (i.subtotal_minor, i.tax_minor, i.total_minor),
                    [(line.metric, line.kind, line.quantity, line.included_units, line.billable_units,
                      line.amount_minor, line.tax_minor) for line in lines])
                   for i, lines in invoices_of(committed, client) if i.period == "2026-10"]
        committed.rollback()
        assert october == [("NGN", NGN_TOTALS, NGN_LINES), ("USD", USD_TOTALS, USD_LINES)]

    # A third delivery of the job (RQ at least once) changes nothing.
    again = billing_jobs.run_billing(str(OCT))
    assert (again["invoices_created"], again["invoices_existing"]) == (0, 2 * CLIENTS)

    # Issued (twice: a repeated click), each invoice is posted to the ledger once.
    assert invoices.issue_period(committed, factories.SYSTEM, str(OCT)) == 2 * CLIENTS
    assert invoices.issue_period(committed, factories.SYSTEM, str(OCT)) == 0
    with owner.connect() as conn:
        entries = conn.execute(text(
            "SELECT i.total_minor, count(DISTINCT j.id), coalesce(sum(l.debit_minor), 0), coalesce(sum(l.credit_minor), 0) "
            "FROM invoices i LEFT JOIN journal_entries j ON j.idempotency_key = 'invoice-issue:' || i.id "
            "LEFT JOIN journal_lines l ON l.entry_id = j.id "
            "WHERE i.period = '2026-10' GROUP BY i.id, i.number ORDER BY i.number")).all()
    assert [tuple(e) for e in entries] == [(total, 1, total, total) for total in [NGN_TOTALS[2], USD_TOTALS[2]] * CLIENTS]
