"""The analytics data functions on a small world with known numbers: the funnel, volumes and PAR,
revenue, providers and scoring, read in the platform's all-tenants scope or one client's."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from caas.analytics import funnel, providers, revenue, scoring, volumes
from caas.analytics.window import Window
from caas.billing import invoices, run
from caas.core import tenant
from caas.loans import servicing
from caas.market.models import Bid
from tests import factories
from tests.billing.world import at, billed_client, use
from tests.loans.test_servicing_stories import due_dates, pay

OCTOBER = Window(date(2026, 10, 1), date(2026, 10, 31))


def test_the_funnel_per_client_and_overall(db, world):
    with tenant.all_tenants_scope(db):
        result = funnel.funnel(db, OCTOBER)
    assert [(r.client, r.submitted, r.approved, r.offered, r.accepted, r.disbursed) for r in result.clients] == [
        ("Alpha Lend", 4, 3, 2, 1, 1), ("Beta Credit", 1, 1, 1, 1, 0)]
    overall = result.overall
    assert [overall.count(s) for s in funnel.STAGES] == [5, 4, 3, 2, 1]
    assert [overall.step_rate(s) for s in funnel.STAGES] == [
        None, Decimal("0.8000"), Decimal("0.7500"), Decimal("0.6667"), Decimal("0.5000")]
    assert overall.overall_rate("disbursed") == Decimal("0.2000")
    # one client, in the all-tenants read
    with tenant.all_tenants_scope(db):
        beta = funnel.funnel(db, OCTOBER, world.b.id)
    assert [r.client for r in beta.clients] == ["Beta Credit"] and beta.overall.submitted == 1
    # September holds only app5
    with tenant.all_tenants_scope(db):
        september = funnel.funnel(db, Window(date(2026, 9, 1), date(2026, 9, 30)))
    assert [september.overall.count(s) for s in funnel.STAGES] == [1, 1, 1, 1, 1]


def test_a_tenant_scope_sees_only_its_own_funnel(db, world):
    with tenant.tenant_scope(world.b.id, db):
        result = funnel.funnel(db, OCTOBER)
        assert [r.client for r in result.clients] == ["Beta Credit"]
        assert funnel.funnel(db, OCTOBER, world.a.id).overall.submitted == 0  # asking for Alpha: nothing
    assert funnel.funnel(db, OCTOBER).overall.submitted == 0  # no tenant at all: nothing


def test_disbursed_per_week_and_outstanding(db, world):
    window = Window(date(2026, 11, 9), date(2026, 11, 29))
    with tenant.all_tenants_scope(db):
        weeks = volumes.disbursed_by_week(db, window)
        book = volumes.outstanding(db)
        alpha_only = volumes.disbursed_by_week(db, window, world.b.id)
    # app1 (250,000.00, no fee) and app5 (250,000.00 less a 2,500.00 fee) paid out on Sunday 22 Nov
    assert [(w.week, w.currency, w.loans, w.principal_minor, w.paid_out_minor) for w in weeks] == [
        (date(2026, 11, 9), "NGN", 0, 0, 0), (date(2026, 11, 16), "NGN", 2, 500_000_00, 497_500_00),
        (date(2026, 11, 23), "NGN", 0, 0, 0)]
    assert alpha_only == []  # Beta's loan is not paid out yet
    assert [(o.bucket, o.loans, o.principal_minor) for o in book] == [
        ("current", 2, 500_000_00), ("1-30", 0, 0), ("31-60", 0, 0), ("61-90", 0, 0), ("90+", 0, 0)]


def test_par_week_by_week(db, loan):
    """The 6-month loan of 100.00 (Fineract C3154): instalment 1 paid on its due date, 2 missed."""
    client, _, loan_id = loan
    dues = due_dates(db, client, loan_id)
    pay(db, client, loan_id, dues[0])
    window = Window(date(2026, 11, 16), date(2027, 6, 6))
    with tenant.all_tenants_scope(db):
        points = {p.on: p for p in volumes.par_trend(db, window)}
    figures = {d: (points[d].loans, points[d].outstanding_minor, points[d].par30_minor, points[d].par90_minor)
               for d in points}
    assert min(points) == date(2026, 11, 22)  # paid out that Sunday: no point before
    assert figures[date(2026, 11, 22)] == (1, 100_00, 0, 0)
    assert figures[date(2026, 12, 27)] == (1, 83_75, 0, 0)  # 16.25 of principal repaid on 22 Dec
    assert figures[date(2027, 1, 24)] == (1, 83_75, 0, 0)  # 2 days late
    assert figures[date(2027, 2, 28)] == (1, 83_75, 83_75, 0)  # 37 days late
    assert points[date(2027, 2, 28)].par30 == Decimal("1.0000") and points[date(2027, 2, 28)].par90 == 0
    assert figures[date(2027, 4, 18)] == (1, 83_75, 83_75, 0)  # 86 days late
    assert figures[date(2027, 4, 25)] == (1, 83_75, 83_75, 83_75)  # 93 days late
    assert points[date(2027, 4, 25)].par90 == Decimal("1.0000")
    with tenant.all_tenants_scope(db):
        assert volumes.par_trend(db, window, factories.client(db).id) == []  # another client: no loans


def test_par_book_a_loan_leaves_when_repaid_or_written_off(db, loan):
    """Paid off on the second due date: on the book until the Sunday before. A written-off loan
    leaves on its write-off's ledger date (posted here by hand on a chosen day, as the servicing job
    does on the day it runs)."""
    from datetime import datetime, timezone

    from sqlalchemy import update

    from caas.ledger.models import AccountKind
    from caas.ledger.posting import account_key, credit, debit, post
    from caas.loans.models import Loan, LoanStatus

    client, provider, loan_id = loan
    dues = due_dates(db, client, loan_id)
    pay(db, client, loan_id, dues[0])
    pay(db, client, loan_id, dues[1] - timedelta(days=3), "payoff")  # Tuesday 19 Jan 2027
    window = Window(date(2026, 11, 16), date(2027, 2, 7))
    with tenant.all_tenants_scope(db):
        points = {p.on: (p.loans, p.outstanding_minor) for p in volumes.par_trend(db, window)}
    assert points[date(2027, 1, 17)] == (1, 83_75) and max(points) == date(2027, 1, 17)

    # the same loan, as if written off on 5 January instead of repaid
    with tenant.tenant_scope(client.id, db):
        db.execute(update(Loan).where(Loan.id == loan_id).values(status=LoanStatus.written_off, closed_at=None))
        post(db, memo="Write-off", idempotency_key=f"write-off:{loan_id}",
             occurred_at=datetime(2027, 1, 5, 10, tzinfo=timezone.utc), lines=[
                 debit(account_key(AccountKind.provider_loans, provider.id, "NGN"), 83_75),
                 credit(account_key(AccountKind.loan_receivable, loan_id, "NGN"), 83_75)])
    with tenant.all_tenants_scope(db):
        points = {p.on: (p.loans, p.outstanding_minor) for p in volumes.par_trend(db, window)}
    assert points[date(2027, 1, 3)] == (1, 83_75) and max(points) == date(2027, 1, 3)


def test_revenue_from_invoices_and_commissions(db, loan):
    client, _, loan_id = loan
    dues = due_dates(db, client, loan_id)
    pay(db, client, loan_id, dues[0])  # 17.25: 16.25 principal, 1.00 interest → 0.10 commission (10%)
    billed = billed_client(db, slug="an-billed", display_name="Gamma Pay", marketplace=False)
    draft = billed_client(db, slug="an-draft", marketplace=False)
    use(db, billed, "application_processed", at("2026-10-05"), quantity=7)
    use(db, billed, "risk_assessment", at("2026-10-06"), quantity=3)
    use(db, draft, "application_processed", at("2026-10-05"), quantity=2)
    run.execute(db, "2026-10")
    from sqlalchemy import select

    from caas.billing.models import Invoice

    with tenant.tenant_scope(billed.id, db):
        invoices.issue(db, factories.SYSTEM, db.scalar(select(Invoice.id).where(Invoice.client_id == billed.id)))
    window = Window(date(2026, 10, 1), date(2026, 12, 31))
    with tenant.all_tenants_scope(db):
        billing = revenue.billing_by_month(db, window)
        kept = revenue.commissions_by_month(db, window)
        clients = revenue.by_client(db, window)
        only_loan_client = revenue.commissions_by_month(db, window, client.id)
        only_billed = revenue.commissions_by_month(db, window, billed.id)
    assert [(b.month, b.currency, b.metric, b.amount_minor) for b in billing] == [
        ("2026-10", "NGN", "application_processed", 700_00), ("2026-10", "NGN", "risk_assessment", 150_00)]
    assert [(k.month, k.currency, k.repayments, k.commission_minor) for k in kept] == [("2026-12", "NGN", 1, 10)]
    assert only_loan_client == kept and only_billed == []
    assert [(c.client, c.currency, c.invoiced_minor, c.commission_minor) for c in clients
            if c.client in ("Gamma Pay", client.display_name)] == sorted([
                ("Gamma Pay", "NGN", 850_00, 0), (client.display_name, "NGN", 0, 10)])
    assert all(c.invoiced_minor == 0 or c.client == "Gamma Pay" for c in clients)  # the draft is not revenue


def test_providers_bids_wins_and_apr_by_grade(db, world):
    today = date.today()
    window = Window(today - timedelta(days=6), today)  # bids are made now
    with tenant.all_tenants_scope(db):
        rows = {r.provider: r for r in providers.activity(db, window)}
        grades = {g.grade: g for g in providers.apr_by_grade(db, window)}
        beta = {r.provider: r for r in providers.activity(db, window, world.b.id)}
        fee_apr = db.get(Bid, world.bids["p1-app5"].id).apr
    acme, baobab = rows[world.p1.legal_name], rows[world.p2.legal_name]
    # Acme: won app1, app5 and app6 (accepted), withdrew on app2; Baobab: lost app1, open on app2
    assert (acme.bids, acme.won, acme.lost, acme.expired, acme.open, acme.withdrawn) == (3, 3, 0, 0, 0, 1)
    assert (baobab.bids, baobab.won, baobab.lost, baobab.open) == (2, 0, 1, 1)
    assert acme.win_rate == Decimal("1.0000") and baobab.win_rate == Decimal("0.0000")
    assert baobab.average_apr == Decimal("33.00")  # 30 and 36, no fee: the APR is the nominal rate
    assert fee_apr > Decimal("26")  # a fee makes the APR dearer than the rate
    expected_b = ((Decimal("24") + Decimal("30") + fee_apr + Decimal("28")) / 4).quantize(Decimal("0.01"))
    assert grades["B"].bids == 4 and grades["B"].average_apr == expected_b
    assert (grades["C"].bids, grades["C"].average_apr, grades["C"].lowest_apr) == (1, Decimal("36.00"),
                                                                                  Decimal("36.00"))
    assert (grades["A"].bids, grades["A"].average_apr) == (0, None)
    # Beta's network is Acme only, whose one bid there won
    assert set(beta) == {world.p1.legal_name} and (beta[world.p1.legal_name].bids, beta[world.p1.legal_name].won) == (1, 1)


def test_decisions_by_grade_and_approval_rate(db, world):
    today = date.today()
    with tenant.all_tenants_scope(db):
        found = {g.grade: g for g in scoring.decisions_by_grade(db, Window(today - timedelta(days=6), today))}
        alpha = {g.grade: g for g in scoring.decisions_by_grade(db, Window(today, today), world.a.id)}
    assert (found["B"].decisions, found["B"].approve, found["B"].approved) == (3, 3, 3)
    assert (found["E"].decisions, found["E"].decline, found["E"].approved, found["E"].approval_rate) == (
        1, 1, 0, Decimal("0.0000"))
    assert (found["D"].decisions, found["D"].approval_rate) == (0, None)
    assert sum(g.decisions for g in found.values()) == 6
    assert alpha["B"].decisions == 2  # app1 and app5; Beta's app6 is not Alpha's


def test_calibration_compares_mean_pd_with_observed_defaults(db, world):
    from sqlalchemy import update

    from caas.loans.models import Loan

    # app1 (B, PD 0.04) goes 95 days past due; app5 (B, PD 0.06) is paid off; app6 (B) is not paid out
    dues = due_dates(db, world.a, world.loans["app1"])
    pay(db, world.a, world.loans["app5"], dues[0], "payoff")
    servicing.service(db, dues[0] + timedelta(days=95))
    window = Window(date(2027, 5, 1), date(2027, 6, 1))  # loans paid out by 3 Dec 2026 are aged
    with tenant.all_tenants_scope(db):
        grades = {g.grade: g for g in scoring.calibration(db, window)}
        young = {g.grade: g for g in scoring.calibration(db, Window(date(2027, 5, 1), date(2027, 5, 20)))}
    assert (grades["B"].loans, grades["B"].defaults) == (2, 1)
    assert grades["B"].expected == Decimal("0.0500") and grades["B"].observed == Decimal("0.5000")
    assert (grades["C"].loans, grades["C"].observed) == (0, None)
    assert young["B"].loans == 0  # 20 May 2027 - 180 days = 21 Nov 2026: the loans started on the 22nd
    # the default is remembered from the bucket history even after the loan is current again
    with tenant.tenant_scope(world.a.id, db):
        db.execute(update(Loan).where(Loan.id == world.loans["app1"]).values(days_past_due=0, bucket="current"))
    with tenant.all_tenants_scope(db):
        assert {g.grade: g for g in scoring.calibration(db, window)}["B"].defaults == 1
