"""The analytics pages: every dashboard renders its charts and tables, every table downloads as
CSV, a bad period is refused at its field, client admins see only their tenant's funnel and
volumes, and a platform admin's read is audited."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from caas.audit.models import AuditEntry
from caas.core import tenant
from tests import factories
from tests.helpers import field_errors, get, login

OCTOBER = "date_from=2026-10-01&date_to=2026-10-31"


@pytest.fixture
def admins(db, world):
    platform = factories.platform_admin(db)
    alpha = factories.client_admin(db, world.a)
    db.commit()
    return {"platform": platform.email, "alpha": alpha.email}


def rows_of(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


@pytest.mark.parametrize("name, tables", [
    ("funnel", ["stages", "funnel"]), ("volumes", ["disbursed", "outstanding", "par"]),
    ("revenue", ["billing", "commissions", "clients"]), ("providers", ["summary", "providers", "apr"]),
    ("scoring", ["decisions", "calibration"]),
])
def test_every_dashboard_shows_charts_and_tables_with_csv_links(client, db, admins, name, tables):
    login(client, admins["platform"], factories.PASSWORD)
    page = get(client, f"/admin/analytics/{name}?{OCTOBER}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'role="img"' in html and "<title id=" in html
    for table in tables:
        assert f'data-testid="table-{table}"' in html
        assert f'/admin/analytics/{name}.csv?table={table}&amp;date_from=2026-10-01&amp;date_to=2026-10-31' in html
    assert 'style="' not in html.split('<main')[1]  # a strict CSP would block inline styles


def test_the_funnel_page_and_its_csv(client, db, admins):
    login(client, admins["platform"], factories.PASSWORD)
    html = get(client, f"/admin/analytics/funnel?{OCTOBER}").get_data(as_text=True)
    assert "Applications at each stage of the funnel" in html
    assert '<th scope="row" class="fw-normal">Beta Credit</th><td class="text-end">1</td>' in html
    response = get(client, f"/admin/analytics/funnel.csv?table=funnel&{OCTOBER}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="funnel-funnel-all-2026-10-01-2026-10-31.csv"'
    rows = rows_of(response.data)
    assert rows[0][:4] == ["Client", "Submitted", "Approved", "Approved ÷ previous"]
    assert rows[1][:6] == ["Alpha Lend", "4", "3", "0.7500", "0.7500", "2"]
    assert rows[-1] == ["All clients", "5", "4", "0.8000", "0.8000", "3", "0.7500", "0.6000", "2", "0.6667",
                        "0.4000", "1", "0.5000", "0.2000"]
    # ?format=csv gives the first table, the overall stages
    stages = rows_of(get(client, f"/admin/analytics/funnel?format=csv&{OCTOBER}").data)
    assert stages[0] == ["Stage", "Applications", "÷ previous stage", "÷ submitted"]
    assert stages[1:3] == [["Submitted", "5", "", "1.0000"], ["Approved", "4", "0.8000", "0.8000"]]
    assert get(client, f"/admin/analytics/funnel.csv?table=nope&{OCTOBER}").status_code == 404


def test_volumes_csv_has_amounts_in_major_units(client, db, admins):
    login(client, admins["platform"], factories.PASSWORD)
    rows = rows_of(get(client, "/admin/analytics/volumes.csv?table=disbursed&date_from=2026-11-16"
                               "&date_to=2026-11-22").data)
    assert rows == [["Week of", "Currency", "Loans", "Principal", "Paid out"],
                    ["2026-11-16", "NGN", "2", "500000.00", "497500.00"]]


def test_one_client_and_an_unknown_client(client, db, admins, world):
    login(client, admins["platform"], factories.PASSWORD)
    rows = rows_of(get(client, f"/admin/analytics/funnel.csv?table=funnel&client={world.b.slug}&{OCTOBER}").data)
    assert [r[0] for r in rows[1:]] == ["Beta Credit", "All clients"]
    refused = get(client, f"/admin/analytics/funnel?client=no-such-client&{OCTOBER}")
    assert refused.status_code == 400 and field_errors(refused.get_data(as_text=True)) == {
        "client": ["Not a valid choice."]}


@pytest.mark.parametrize("query, errors", [
    ("date_from=2026-11-02&date_to=2026-11-01", {"date_to": ["The end must be on or after the start."]}),
    ("date_from=2024-01-01&date_to=2026-11-01", {"date_to": ["Choose at most 731 days."]}),
    ("date_from=yesterday", {"date_from": ["Not a valid date value."]}),
])
def test_a_bad_period_is_refused_at_its_field(client, db, admins, query, errors):
    login(client, admins["platform"], factories.PASSWORD)
    for path in ("/admin/analytics", "/admin/analytics/volumes"):
        page = get(client, f"{path}?{query}")
        assert page.status_code == 400 and field_errors(page.get_data(as_text=True)) == errors
    csv_answer = get(client, f"/admin/analytics/volumes.csv?{query}")
    assert csv_answer.status_code == 400 and csv_answer.mimetype == "text/plain"
    # over HTMX the form comes back alone, with 422 so htmx swaps it in
    partial = get(client, f"/admin/analytics/volumes?{query}", headers={"HX-Request": "true"})
    assert partial.status_code == 422 and "<nav" not in partial.get_data(as_text=True)
    assert field_errors(partial.get_data(as_text=True)) == errors


def test_htmx_gets_the_region_alone(client, db, admins):
    login(client, admins["platform"], factories.PASSWORD)
    partial = get(client, f"/admin/analytics/funnel?{OCTOBER}", headers={"HX-Request": "true"})
    html = partial.get_data(as_text=True)
    assert partial.status_code == 200 and html.lstrip().startswith('<div id="analytics">')
    assert 'data-testid="table-funnel"' in html and "<nav" not in html
    assert "HX-Request" in partial.headers["Vary"]


def test_a_platform_read_is_audited(client, db, admins):
    login(client, admins["platform"], factories.PASSWORD)
    get(client, f"/admin/analytics/scoring?{OCTOBER}")
    with tenant.all_tenants_scope(db):
        reasons = [e.after.get("reason") for e in db.scalars(select(AuditEntry).where(
            AuditEntry.action == "platform.read_all_tenants"))]
    assert "analytics:scoring:all:2026-10-01:2026-10-31" in reasons


def test_a_client_admin_sees_their_own_funnel_and_volumes_only(client, db, admins, world):
    login(client, admins["alpha"], factories.PASSWORD)
    home = get(client, "/admin/analytics").get_data(as_text=True)
    assert "Funnel" in home and "Volumes" in home and ">Revenue<" not in home
    rows = rows_of(get(client, f"/admin/analytics/funnel.csv?table=funnel&{OCTOBER}").data)
    assert [r[0] for r in rows[1:]] == ["Alpha Lend", "All clients"]
    # asking for another client changes nothing: there is no client filter for a client admin
    rows = rows_of(get(client, f"/admin/analytics/funnel.csv?table=funnel&client={world.b.slug}&{OCTOBER}").data)
    assert [r[0] for r in rows[1:]] == ["Alpha Lend", "All clients"]
    for name in ("revenue", "providers", "scoring"):
        assert get(client, f"/admin/analytics/{name}").status_code == 403
        assert get(client, f"/admin/analytics/{name}.csv").status_code == 403
    assert get(client, "/admin/analytics/nothing").status_code == 404


def test_borrowers_and_lenders_are_kept_out(client, db, world):
    borrower = factories.borrower(db, world.a)
    lender_user = factories.provider_user(db, world.p1)
    db.commit()
    login(client, lender_user.email, factories.PASSWORD)
    assert get(client, "/admin/analytics/funnel").status_code == 403
    other = client.application.test_client()
    login(other, borrower.email, factories.PASSWORD, path=f"/c/{world.a.slug}/login")
    assert get(other, "/admin/analytics/funnel").status_code == 403
