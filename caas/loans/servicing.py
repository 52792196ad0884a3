"""The daily servicing of active loans, as set-based SQL per tenant (no Python loop per loan):

1. days past due and the delinquency bucket of every active loan; bucket changes kept as history;
2. reminders T days before a due date (policy ``reminder_days``): an in-app notice and
   ``credit.repayment.due``, once per instalment;
3. the first missed day of an instalment: ``credit.repayment.missed``, a notice, and the policy's
   late fee charged to that instalment, once; then, at the end of each month it stays unpaid, the
   policy's penalty interest on its overdue principal, once per month (``penalty_periods``);
   both are added to the instalment's fees, so the waterfall allocates them before interest and
   principal, and both reach the ledger when they are paid (income, split with the platform's
   commission), as every fee does;
4. collections from the policy's days past due: ``credit.collection.initiated``, once per loan;
0. (first) auto-debit of what is due under the borrower's authorisation, on the due date and the
   retry days after it (``caas.loans.collections.auto_debit``; a gateway call per due loan);
5. write-off at the policy's days past due: the loan ``written_off`` and the provider's loss
   posted in the ledger (a few loans a day: done per loan).

Idempotent for a date: each step marks what it did (reminded_on, missed_on, collections_since,
status), so a second run on the same date changes nothing. Any date can be given (time travel in
tests, ``flask loans service --as-of``).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from caas.core import tenant
from caas.events import outbox
from caas.events.outbox import DISPATCH_EVENT
from caas.ledger import operations as ledger
from caas.loans import collections
from caas.loans.models import Loan, LoanInstallment, LoanStatus
from caas.money import describe, format_minor
from caas.tenancy.models import Client, CreditPolicy

BUCKET_SQL = """CASE WHEN {d} <= 0 THEN 'current' WHEN {d} <= 30 THEN '1-30' WHEN {d} <= 60 THEN '31-60'
                     WHEN {d} <= 90 THEN '61-90' ELSE '90+' END"""

# The tenant is named in every statement (client_id = app_current_client()): the reads would
# otherwise also pass through the providers' SELECT policies (an OR), which defeats the client_id
# indexes and scans every tenant's rows once per tenant. Loans whose figures did not change are
# not rewritten.
DPD = text(f"""
WITH dpd AS (
  SELECT l.id, l.bucket AS old_bucket, l.days_past_due AS old_days,
         COALESCE(CAST(:on AS date) - MIN(i.due_date) FILTER (
           WHERE i.due_date < CAST(:on AS date) AND i.paid_minor < i.total_minor + i.fees_minor), 0) AS days
  FROM loans l JOIN loan_installments i ON i.loan_id = l.id AND i.client_id = l.client_id
  WHERE l.status = 'active' AND l.client_id = app_current_client()
  GROUP BY l.id, l.bucket, l.days_past_due
), changed AS (
  UPDATE loans l SET days_past_due = dpd.days, bucket = {BUCKET_SQL.format(d='dpd.days')}, serviced_on = :on
  FROM dpd WHERE l.id = dpd.id AND l.client_id = app_current_client()
    AND (dpd.old_days, dpd.old_bucket) IS DISTINCT FROM (dpd.days, {BUCKET_SQL.format(d='dpd.days')})
  RETURNING l.id, l.client_id, dpd.old_bucket, l.bucket, l.days_past_due
), history AS (
  INSERT INTO loan_bucket_changes (id, client_id, loan_id, from_bucket, to_bucket, days_past_due, "on")
  SELECT gen_random_uuid(), client_id, id, old_bucket, bucket, days_past_due, :on FROM changed
  WHERE old_bucket <> bucket
  RETURNING 1
)
SELECT (SELECT count(*) FROM dpd), (SELECT count(*) FROM history)
""")

SERIALISE = text("SELECT pg_advisory_xact_lock(hashtext(:key))")

# Each marking step returns (loan id, borrower, instalment number, due date, amount) for the notices
# and events written below.
REMIND = text("""
UPDATE loan_installments i SET reminded_on = :on
FROM loans l, credit_policies p
WHERE l.id = i.loan_id AND p.client_id = l.client_id AND l.status = 'active' AND i.reminded_on IS NULL
  AND l.client_id = app_current_client() AND i.client_id = app_current_client()
  AND i.paid_minor < i.total_minor + i.fees_minor
  AND i.due_date BETWEEN CAST(:on AS date) AND CAST(:on AS date) + p.reminder_days
RETURNING l.id, l.borrower_id, i.number, i.due_date, i.total_minor + i.fees_minor - i.paid_minor, l.currency
""")

MISS = text("""
UPDATE loan_installments i SET missed_on = :on, fees_minor = i.fees_minor + p.late_fee_minor
FROM loans l, credit_policies p
WHERE l.id = i.loan_id AND p.client_id = l.client_id AND l.status = 'active' AND i.missed_on IS NULL
  AND l.client_id = app_current_client() AND i.client_id = app_current_client()
  AND i.paid_minor < i.total_minor + i.fees_minor AND i.due_date < CAST(:on AS date)
RETURNING l.id, l.borrower_id, i.number, i.due_date, i.total_minor + i.fees_minor - i.paid_minor, l.currency
""")

# Penalty interest: at the end of each month an instalment stays unpaid (due date + 1, 2, … months,
# Postgres' month arithmetic clamping to the month's end), the overdue principal × the policy's
# annual rate / 12, rounded half-even in exact numeric arithmetic (div/mod on integers scaled by
# 10^6, the rate's scale), is added to the instalment's fees; ``penalty_periods`` counts the months
# charged, so a second run on the same date charges nothing. One period per run: a job that did not
# run for a while catches up one month a day. ``caas.loans.maths.penalty_interest`` is the
# reference this is tested against.
PENALTY_AMOUNT_SQL = """(div({n}, 12000000) + CASE WHEN 2 * mod({n}, 12000000) > 12000000 THEN 1
       WHEN 2 * mod({n}, 12000000) = 12000000 THEN mod(div({n}, 12000000), 2) ELSE 0 END)"""

PENALTY = text(f"""
WITH due AS (
  SELECT i.loan_id, i.number,
         CAST(i.principal_minor - i.paid_principal_minor AS numeric) * CAST(p.penalty_annual_rate * 1000000 AS numeric)
           AS n
  FROM loan_installments i
  JOIN loans l ON l.id = i.loan_id AND l.client_id = i.client_id
  JOIN credit_policies p ON p.client_id = l.client_id
  WHERE l.status = 'active' AND p.penalty_annual_rate > 0 AND i.missed_on IS NOT NULL
    AND l.client_id = app_current_client() AND i.client_id = app_current_client()
    AND i.principal_minor > i.paid_principal_minor
    AND i.due_date + make_interval(months => i.penalty_periods + 1) <= CAST(:on AS date)
), charged AS (
  SELECT loan_id, number, CAST({PENALTY_AMOUNT_SQL.format(n='n')} AS bigint) AS amount FROM due
)
UPDATE loan_installments i
SET penalty_periods = i.penalty_periods + 1, penalty_minor = i.penalty_minor + c.amount,
    fees_minor = i.fees_minor + c.amount
FROM charged c
WHERE i.loan_id = c.loan_id AND i.number = c.number AND i.client_id = app_current_client()
RETURNING i.loan_id, i.number, c.amount
""")

COLLECT = text("""
UPDATE loans l SET collections_since = :on
FROM credit_policies p
WHERE p.client_id = l.client_id AND l.status = 'active' AND l.collections_since IS NULL
  AND l.client_id = app_current_client()
  AND l.days_past_due >= p.collections_days_past_due
RETURNING l.id, l.borrower_id, 0, CAST(:on AS date), l.days_past_due, l.currency
""")

WRITE_OFF_DUE = text("""
SELECT l.id FROM loans l JOIN credit_policies p ON p.client_id = l.client_id
WHERE l.status = 'active' AND l.days_past_due >= p.write_off_days_past_due AND l.client_id = app_current_client()
""")

EVENTS = text("""
INSERT INTO outbox (id, client_id, kind, queue, func, args, kwargs, job_id, timeout, event_type, payload,
                    created_at, attempts)
SELECT e.id, :client, 'event', 'events', :func, jsonb_build_array(e.id::text), '{}'::jsonb,
       'event-' || e.id::text, 60, :type, e.payload, now(), 0
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS e(id uuid, payload jsonb)
""")

NOTICES = text("""
INSERT INTO notifications (id, client_id, user_id, text, link, created_at)
SELECT gen_random_uuid(), :client, n.user_id, n.text, n.link, now()
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS n(user_id uuid, text text, link text)
""")


@dataclass
class Report:
    on: date
    clients: int = 0
    loans: int = 0  # active loans looked at
    bucket_changes: int = 0
    reminders: int = 0
    missed: int = 0
    penalties: int = 0  # instalments charged a period of penalty interest
    collections: int = 0
    written_off: int = 0
    auto_debits: int = 0
    events: list[str] = field(default_factory=list, repr=False)


def _emit(session: Session, client_id: uuid.UUID, event_type: str, rows, notice) -> int:
    """Events (and borrower notices) for the rows a step marked, in two statements."""
    import json

    if not rows:
        return 0
    events = []
    notices = []
    for loan_id, borrower_id, number, due, amount, currency in rows:
        if event_type == "credit.collection.initiated":  # (loan, borrower, 0, date, days past due, currency)
            payload = {"object": "loan_event", "loan_id": str(loan_id), "days_past_due": int(amount)}
        else:
            payload = {"object": "loan_event", "loan_id": str(loan_id), "instalment": number,
                       "due_date": due.isoformat(), "amount": format_minor(int(amount), currency),
                       "currency": currency}
        events.append({"id": str(uuid.uuid4()), "payload": payload})
        if notice:
            notices.append({"user_id": str(borrower_id), "text": notice(number, due, amount, currency)[:400],
                            "link": f"/loans/{loan_id}"})
    session.execute(EVENTS, {"client": client_id, "func": DISPATCH_EVENT, "type": event_type,
                             "rows": json.dumps(events)})
    if notices:
        session.execute(NOTICES, {"client": client_id, "rows": json.dumps(notices)})
    # push them after commit like any outbox row
    session.info.setdefault(outbox._PENDING, []).extend(uuid.UUID(e["id"]) for e in events)
    return len(rows)


def service_tenant(session: Session, on: date) -> Report:
    """One tenant's loans (the tenant is in scope). Does not commit."""
    report = Report(on)
    client_id = tenant.current_client_id()
    # Two runs at once (a duplicate delivery of the daily job) queue up here per tenant until the
    # first commits; the second then finds every step marked. Without it both computed the same
    # days past due from one snapshot and each wrote the bucket change to history.
    session.execute(SERIALISE, {"key": f"servicing:{client_id}"})
    report.loans, report.bucket_changes = session.execute(DPD, {"on": on}).one()
    reminded = session.execute(REMIND, {"on": on}).all()
    report.reminders = _emit(session, tenant.current_client_id(), "credit.repayment.due", reminded,
                             lambda n, due, amount, cur: f"Reminder: instalment {n} of {describe(int(amount), cur)} "
                                                         f"is due on {due:%d %b %Y}.")
    missed = session.execute(MISS, {"on": on}).all()  # a late fee adds to what is owed, not to DPD
    report.missed = _emit(session, tenant.current_client_id(), "credit.repayment.missed", missed,
                          lambda n, due, amount, cur: f"We did not receive instalment {n}, due on {due:%d %b %Y}. "
                                                      f"Please pay {describe(int(amount), cur)} as soon as you can.")
    rate = session.scalar(select(CreditPolicy.penalty_annual_rate).where(CreditPolicy.client_id == client_id))
    penalised = session.execute(PENALTY, {"on": on}).all() if rate else []  # off: not even the scan
    report.penalties = sum(1 for *_, amount in penalised if amount)
    collected = session.execute(COLLECT, {"on": on}).all()
    report.collections = _emit(session, tenant.current_client_id(), "credit.collection.initiated", collected, None)
    for loan_id in session.scalars(WRITE_OFF_DUE).all():
        report.written_off += _write_off(session, loan_id, on)
    return report


def _write_off(session: Session, loan_id: uuid.UUID, on: date) -> int:
    loan = session.scalar(select(Loan).where(Loan.id == loan_id).with_for_update(of=Loan)
                          .execution_options(populate_existing=True))
    if loan is None or loan.status != LoanStatus.active:
        return 0
    rows = session.scalars(select(LoanInstallment).where(LoanInstallment.loan_id == loan.id)).all()
    principal = sum(r.principal_minor - r.paid_principal_minor for r in rows)
    if principal > 0:
        ledger.write_off(session, loan_id=loan.id, provider_id=loan.provider_id, principal_minor=principal,
                         currency=loan.currency)
    loan.status = LoanStatus.written_off
    session.flush()
    return 1


def _auto_debit_settings():
    """The payment router and the retry days, from the app's configuration (none outside an app)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return None, collections.DEFAULT_RETRY_DAYS
    from caas.payments import service as payment_service

    days = tuple(int(d) for d in str(current_app.config.get("AUTO_DEBIT_RETRY_DAYS", "0,1,3,7")).split(",") if d.strip())
    return payment_service.router(), days or collections.DEFAULT_RETRY_DAYS


def service(session: Session, on: date) -> Report:
    """Every tenant, one transaction each (committed)."""
    total = Report(on)
    session.rollback()
    with tenant.all_tenants_scope(session):
        client_ids = session.scalars(select(Client.id).order_by(Client.created_at)).all()
    session.rollback()
    router, retry_days = _auto_debit_settings()
    for client_id in client_ids:
        with tenant.tenant_scope(client_id, session):
            debits = collections.auto_debit(session, router, on, retry_days) if router is not None else 0
            report = service_tenant(session, on)
            report.auto_debits = debits
            session.commit()
        total.clients += 1
        for name in ("loans", "bucket_changes", "reminders", "missed", "penalties", "collections", "written_off",
                     "auto_debits"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
    return total
