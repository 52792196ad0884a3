"""Statements: the borrower's balance chart and PDF statement (who may download it), and the
provider's monthly statement with its CSV, checked against the ledger's balances."""
from __future__ import annotations

from datetime import date, timedelta

from caas.core import tenant
from caas.ledger import operations as ledger
from caas.ledger.models import AccountKind
from caas.loans import statements
from caas.loans.models import Loan
from caas.tenancy.models import User
from tests import factories
from tests.helpers import get, login
from tests.loans.test_servicing_stories import START, due_dates, loan, pay, run_days, sandbox  # noqa: F401


def borrower_email(db, client_, loan_id) -> str:
    with tenant.tenant_scope(client_.id, db):
        return db.get(User, db.get(Loan, loan_id).borrower_id).email


def test_the_statement_shows_terms_schedule_marks_payments_and_the_balance(app, db, loan):  # noqa: F811
    from blueprints.pdf import statement_html

    client_, provider, loan_id = loan
    dues = due_dates(db, client_, loan_id)
    pay(db, client_, loan_id, dues[0])  # instalment 1 on its day: 16.25 principal + 1.00 interest
    on = dues[1] + timedelta(days=3)  # instalment 2 is 3 days late
    run_days(db, dues[1] + timedelta(days=1), on)
    with tenant.tenant_scope(client_.id, db):
        found = statements.loan_statement(db, db.get(Loan, loan_id, populate_existing=True), on)
        with app.test_request_context():
            html = statement_html(found)
    assert (found.client_legal_name, found.borrower_name) == (client_.legal_name, "Adaeze Okoro")
    assert [r.mark for r in found.rows] == ["paid", "overdue", "due", "upcoming", "upcoming", "upcoming"]
    assert found.principal_outstanding_minor == 100_00 - 16_25
    assert found.overdue_minor == 17_25 + 5_00  # instalment 2 and its late fee
    assert found.paid_total_minor == 17_25
    assert [(p.on, p.scheduled_minor, p.actual_minor) for p in found.balance[:4]] == [
        (START, 100_00, 100_00), (dues[0], 83_75, 83_75), (dues[1], 67_34, 83_75), (on, 67_34, 83_75)]
    for text in (client_.legal_name, "Adaeze Okoro", provider.legal_name, "100.00 NGN",
                 'data-field="outstanding">83.75 NGN', 'data-field="overdue">22.25 NGN', 'data-field="paid">17.25 NGN',
                 'data-mark="1">paid', 'data-mark="2">overdue', 'data-mark="3">due', on.strftime("%d %B %Y")):
        assert text in html, text
    assert html.count("<tr><td>") >= 6 + 1  # six instalments and one payment


def test_only_the_owner_and_the_clients_admins_download_the_pdf(app, client, db, loan):  # noqa: F811
    client_, _, loan_id = loan
    pay(db, client_, loan_id, START)
    base = f"/c/{client_.slug}"
    stranger = factories.borrower(db, client_)  # same tenant, not the borrower of this loan
    admin = factories.client_admin(db, client_)
    other_admin = factories.client_admin(db, factories.client(db))
    db.commit()

    login(client, borrower_email(db, client_, loan_id), factories.PASSWORD, path=f"{base}/login")
    page = get(client, f"{base}/loans/{loan_id}").get_data(as_text=True)
    assert 'data-testid="balance-chart"' in page and f"/loans/{loan_id}/statement.pdf" in page
    assert 'data-testid="balance-actual"' in page
    assert page.count('data-testid="balance-row"') >= 1 + 6  # the start and six due dates (and today)
    pdf = get(client, f"{base}/loans/{loan_id}/statement.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-") and pdf.data.rstrip().endswith(b"%%EOF")
    assert pdf.headers["Content-Disposition"].startswith('attachment; filename="loan-statement-')
    assert "no-store" in pdf.headers["Cache-Control"]

    as_stranger = app.test_client()
    login(as_stranger, stranger.email, factories.PASSWORD, path=f"{base}/login")
    assert get(as_stranger, f"{base}/loans/{loan_id}").status_code == 404
    assert get(as_stranger, f"{base}/loans/{loan_id}/statement.pdf").status_code == 404
    as_other_admin = app.test_client()
    login(as_other_admin, other_admin.email, factories.PASSWORD)
    assert get(as_other_admin, f"/admin/loans/{loan_id}/statement.pdf").status_code == 404
    as_admin = app.test_client()
    login(as_admin, admin.email, factories.PASSWORD)
    staff = get(as_admin, f"/admin/loans/{loan_id}/statement.pdf")
    assert staff.status_code == 200 and staff.data.startswith(b"%PDF-")


def test_a_platform_admins_download_is_audited(client, db, loan):  # noqa: F811
    from sqlalchemy import select

    from caas.audit.models import AuditEntry

    _, _, loan_id = loan
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    assert get(client, f"/admin/loans/{loan_id}/statement.pdf").data.startswith(b"%PDF-")
    with tenant.all_tenants_scope(db):
        reasons = db.scalars(select(AuditEntry.after).where(AuditEntry.action == "platform.act_for_tenant")).all()
    assert any("loan statement" in str(r) for r in reasons)


def test_provider_statement_by_month_matches_the_ledger(app, client, db, loan):  # noqa: F811
    client_, provider, loan_id = loan
    dues = due_dates(db, client_, loan_id)
    late = dues[1] + timedelta(days=10)  # instalment 2 paid 10 days late, with the 5.00 late fee
    plan = {d: (client_, loan_id, "instalment") for d in dues if d != dues[1]}
    plan[late] = (client_, loan_id, "instalment")
    run_days(db, START + timedelta(days=1), dues[-1] + timedelta(days=1), plan)
    with tenant.provider_scope(provider.id, db):
        months = statements.provider_months(db, provider.id)
    # Fineract C3154 interest per instalment: 1.00, 0.84, 0.67, 0.51, 0.34, 0.17. Commission: 10% of the
    # interest and fees of each repayment, half-even: 10, (84 + 500) → 58.4 → 58, 6.7 → 7, 5.1 → 5, 3.4 → 3, 1.7 → 2
    assert [(m.month, m.repayments, m.principal_minor, m.interest_minor, m.fees_minor, m.commission_minor)
            for m in months] == [
        ("2027-05", 1, 17_11, 17, 0, 2),
        ("2027-04", 1, 16_91, 34, 0, 3),
        ("2027-03", 1, 16_74, 51, 0, 5),
        ("2027-02", 2, 16_41 + 16_58, 84 + 67, 5_00, 58 + 7),  # 2 on 1 Feb (late), 3 on 22 Feb
        ("2026-12", 1, 16_25, 1_00, 0, 10),
    ]
    feb = months[3]
    assert (feb.received_minor, feb.net_minor) == (17_25 + 5_00 + 17_25, 39_50 - 65)
    # the ledger agrees: the provider's available funds grew by the net (funded 1,000.00, lent 100.00),
    # and platform revenue is the commission
    net = sum(m.net_minor for m in months)
    assert net == 100_00 + 3_53 + 5_00 - 85
    assert ledger.provider_funds(db, provider.id, "NGN").available_minor == 1_000_00 - 100_00 + net
    assert ledger.balance_of(db, AccountKind.platform_fee_revenue, "platform", "NGN") == sum(
        m.commission_minor for m in months) == 85

    user = factories.provider_user(db, provider)
    other = factories.provider_user(db, factories.provider(db))
    db.commit()
    login(client, user.email, factories.PASSWORD)
    page = get(client, "/provider/statements").get_data(as_text=True)
    assert page.count('data-testid="statement-month"') == 5
    assert 'data-testid="net-NGN">107.68 NGN' in page and 'data-testid="commission-NGN">0.85 NGN' in page
    csv = get(client, "/provider/statements.csv")
    assert csv.mimetype == "text/csv" and "attachment" in csv.headers["Content-Disposition"]
    assert csv.get_data(as_text=True).splitlines() == [
        "month,currency,repayments,principal,interest,fees,received,commission,net",
        "2027-05,NGN,1,17.11,0.17,0.00,17.28,0.02,17.26",
        "2027-04,NGN,1,16.91,0.34,0.00,17.25,0.03,17.22",
        "2027-03,NGN,1,16.74,0.51,0.00,17.25,0.05,17.20",
        "2027-02,NGN,2,32.99,1.51,5.00,39.50,0.65,38.85",
        "2026-12,NGN,1,16.25,1.00,0.00,17.25,0.10,17.15",
    ]
    as_other = app.test_client()
    login(as_other, other.email, factories.PASSWORD)  # another provider: nothing of this one's
    assert get(as_other, "/provider/statements.csv").get_data(as_text=True).splitlines() == [
        "month,currency,repayments,principal,interest,fees,received,commission,net"]
    with tenant.provider_scope(other.provider_id, db):
        assert statements.provider_months(db, other.provider_id) == []
    assert date(2027, 2, 1) == late  # the late payment falls in February
