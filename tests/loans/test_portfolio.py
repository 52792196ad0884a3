"""The provider's portfolio: outstanding principal, interest received, PAR30, cash flow; its own
loans only."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from caas.core import tenant
from caas.loans import portfolio
from tests import factories
from tests.helpers import get, login
from tests.loans.test_servicing_stories import START, due_dates, loan, run_days, sandbox  # noqa: F401


def test_portfolio_after_one_paid_and_one_missed_instalment(client, db, loan):  # noqa: F811
    client_, provider, loan_id = loan
    dues = due_dates(db, client_, loan_id)
    run_days(db, START + timedelta(days=1), dues[1] + timedelta(days=35), {dues[0]: (client_, loan_id, "instalment")})
    with tenant.provider_scope(provider.id, db):
        [ngn] = portfolio.summary(db, provider.id, dues[1] + timedelta(days=35))
        flows = {m.month: m for m in portfolio.cash_flow(db, provider.id)}
    assert ngn.outstanding_principal_minor == 100_00 - 16_25  # Fineract C3154: row 1 repaid 16.25
    assert ngn.interest_received_minor == 1_00 and ngn.par30 == Decimal("1.0000") and ngn.par90 == Decimal("0.0000")
    assert ngn.interest_scheduled_to_date_minor == 1_00 + 84 + 67  # rows 1 to 3 fell due (Fineract C3154)
    assert flows["2026-12"].expected_minor == 17_25 and flows["2026-12"].received_minor == 17_25
    assert flows["2027-01"].expected_minor == 17_25 + 5_00 and flows["2027-01"].received_minor == 0  # + late fee
    user = factories.provider_user(db, provider)
    other = factories.provider_user(db, factories.provider(db))
    db.commit()
    login(client, user.email, factories.PASSWORD)
    page = get(client, "/provider/portfolio").get_data(as_text=True)
    assert 'data-testid="outstanding-NGN">83.75 NGN' in page and page.count('data-testid="portfolio-loan"') == 1
    with tenant.provider_scope(other.provider_id, db):  # another provider: row-level security shows nothing
        assert portfolio.summary(db, other.provider_id, dues[1]) == []
        from sqlalchemy import func, select

        from caas.loans.models import Loan, LoanInstallment, Repayment

        assert [db.scalar(select(func.count()).select_from(m)) for m in (Loan, LoanInstallment, Repayment)] == [0, 0, 0]
