"""The borrower journey on the portal: profile, consents, documents, the wizard, status, withdrawal."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, text

from caas.core import jobs, tenant, worker
from caas.credit.models import Application, ApplicationStatus, BorrowerProfile, Document
from tests import factories
from tests.helpers import field_errors, get, login, post_form

PROFILE = {"legal_name": "Ada Lovelace", "date_of_birth": "1990-04-12", "phone": "+2348031234567",
           "address": "12 Marina Road, Lagos", "national_id": "22345678901", "employment_status": "employed",
           "employer": "Analytical Engines Ltd", "months_employed": "24", "monthly_net_income": "450000",
           "monthly_expenses": "150000", "existing_debt_payments": "0", "housing": "rent"}
PDF = b"%PDF-1.4\n%test document\n"


@pytest.fixture
def borrower_session(db, client):
    c = factories.client(db, slug="journey")
    b = factories.borrower(db, c)
    db.commit()
    assert login(client, b.email, factories.PASSWORD, path="/c/journey/login").status_code == 302
    return c, b


def test_profile_validation_reports_every_bad_field_and_saves_nothing(client, db, borrower_session):
    c, b = borrower_session
    bad = post_form(client, "/c/journey/profile", {**PROFILE, "national_id": "123", "phone": "12",
                                                   "date_of_birth": "2015-01-01", "employer": ""})
    assert bad.status_code == 422
    assert field_errors(bad.get_data(as_text=True)) == {
        "date_of_birth": ["You must be at least 18 years old."],
        "phone": ["Enter a phone number with country code, e.g. +2348012345678."],
        "national_id": ["Enter your 11-digit BVN or NIN."],
        "employer": ["Enter your employer (or your business name)."]}
    with tenant.tenant_scope(c.id, db):
        assert db.get(BorrowerProfile, b.id) is None
    assert post_form(client, "/c/journey/profile", PROFILE).status_code == 302
    with tenant.tenant_scope(c.id, db):
        profile = db.get(BorrowerProfile, b.id)
        assert profile.monthly_net_income_minor == 45_000_000 and profile.currency == "NGN"


def test_consents_are_recorded_withdrawn_and_exported(client, db, borrower_session):
    c, b = borrower_session
    post_form(client, "/c/journey/consents", {"data_processing": "y", "credit_check": "y"})
    page = get(client, "/c/journey/consents").get_data(as_text=True)
    assert 'data-testid="consent-credit_check"' in page and "version 2026-11" in page and "127.0.0.1" in page
    post_form(client, "/c/journey/consents/credit_check/withdraw", {}, token_from="/c/journey/consents")
    exported = get(client, "/c/journey/export")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    data = exported.get_json()
    assert data["account"]["email"] == b.email
    kinds = {(x["kind"], x["withdrawn_at"] is not None) for x in data["consents"]}
    assert kinds == {("data_processing", False), ("credit_check", True)}


def test_documents_checked_by_content_stored_privately_and_downloads_audited(app, client, db, borrower_session):
    c, b = borrower_session
    wrong = post_form(client, "/c/journey/documents", {"kind": "identity", "file": (io.BytesIO(b"MZ\x90 exe"), "id.pdf")})
    assert field_errors(wrong.get_data(as_text=True)) == {"file": ["Upload a PDF, JPEG or PNG file."]}
    big = post_form(client, "/c/journey/documents",
                    {"kind": "identity", "file": (io.BytesIO(b"%PDF-" + b"0" * (10 * 1024 * 1024)), "big.pdf")})
    assert big.status_code in (413, 422)
    with tenant.tenant_scope(c.id, db):
        assert db.scalar(select(func.count()).select_from(Document)) == 0
    ok = post_form(client, "/c/journey/documents", {"kind": "bank_statement", "file": (io.BytesIO(PDF), "stmt.jpg")})
    assert ok.status_code == 302
    with tenant.tenant_scope(c.id, db):
        doc = db.scalar(select(Document))
    assert doc.content_type == "application/pdf" and doc.storage_path.startswith(f"documents/{c.id}/")
    assert "stmt" not in doc.storage_path and "static" not in app.config["UPLOAD_DIR"]
    download = get(client, f"/c/journey/documents/{doc.id}")
    assert download.status_code == 200 and download.data == PDF
    with tenant.tenant_scope(c.id, db):
        audited = db.execute(text("SELECT actor_id FROM audit_log WHERE action = 'document.download'")).all()
    assert [r.actor_id for r in audited] == [b.id]


def test_a_borrower_cannot_download_another_borrowers_document(client, db, borrower_session):
    c, b = borrower_session
    other = factories.borrower(db, c)
    from caas.credit import documents
    with tenant.tenant_scope(c.id, db):
        theirs = documents.upload(db, client.application.config["UPLOAD_DIR"], user_id=other.id, client_id=c.id,
                                  kind="identity", filename="x.pdf", data=PDF)
    db.commit()
    assert get(client, f"/c/journey/documents/{theirs.id}").status_code == 404


def test_client_admin_downloads_a_document_and_it_is_audited(client, db):
    c = factories.client(db)
    b = factories.borrower(db, c)
    admin = factories.client_admin(db, c)
    from caas.credit import documents
    with tenant.tenant_scope(c.id, db):
        doc = documents.upload(db, client.application.config["UPLOAD_DIR"], user_id=b.id, client_id=c.id,
                               kind="identity", filename="x.pdf", data=PDF)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    assert get(client, f"/admin/clients/{c.id}/documents/{doc.id}").data == PDF
    other = factories.client(db)
    other_admin = factories.client_admin(db, other)
    db.commit()
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
    from flask.testing import FlaskClient
    fresh: FlaskClient = client.application.test_client()
    login(fresh, other_admin.email, factories.PASSWORD)
    assert get(fresh, f"/admin/clients/{other.id}/documents/{doc.id}").status_code == 404


def _complete_borrower(client):
    post_form(client, "/c/journey/profile", PROFILE)
    post_form(client, "/c/journey/consents", {"data_processing": "y", "credit_check": "y"})


def test_wizard_enforces_policy_at_the_field_then_submits_to_scoring(app, client, db, borrower_session):
    c, b = borrower_session
    _complete_borrower(client)
    start = post_form(client, "/c/journey/apply", {}, token_from="/c/journey/")
    edit_url = start.headers["Location"]
    app_id = edit_url.split("/")[-2]
    step = f"/c/journey/applications/{app_id}/step"
    too_small = post_form(client, f"{step}/terms", {"amount": "50", "currency": "NGN", "term_months": "12",
                                                    "purpose": "education"}, token_from=edit_url)
    assert too_small.status_code == 422
    assert field_errors(too_small.get_data(as_text=True)) == {
        "amount": ["Choose an amount from 10,000.00 to 5,000,000.00 NGN."]}
    bad_term = post_form(client, f"{step}/terms", {"amount": "100000", "currency": "NGN", "term_months": "7",
                                                   "purpose": "education"}, token_from=edit_url)
    assert "term_months" in field_errors(bad_term.get_data(as_text=True))
    terms = post_form(client, f"{step}/terms", {"amount": "100000", "currency": "NGN", "term_months": "12",
                                                "purpose": "education"}, token_from=edit_url,
                      headers={"HX-Request": "true"})
    assert 'data-testid="apply-step">Your income<' in terms.get_data(as_text=True)
    unconfirmed = post_form(client, f"{step}/income", {}, token_from=edit_url)
    assert field_errors(unconfirmed.get_data(as_text=True)) == {
        "income_confirmed": ["Confirm that your income and expenses are correct."]}
    review = post_form(client, f"{step}/income", {"income_confirmed": "y"}, token_from=edit_url).get_data(as_text=True)
    assert 'data-testid="indicative-payment">9,455.96 NGN<' in review  # 100,000 at 24%/yr over 12 months
    assert 'data-testid="indicative-apr">24.00%<' in review
    done = post_form(client, f"{step}/review", {}, token_from=edit_url)
    assert done.status_code == 302 and done.headers["Location"] == f"/c/journey/applications/{app_id}"
    with tenant.tenant_scope(c.id, db):
        application = db.get(Application, __import__("uuid").UUID(app_id))
        db.refresh(application)
        assert application.status == ApplicationStatus.submitted and application.amount_minor == 10_000_000
    assert jobs.queue("scoring").job_ids == [f"score-{app_id}"]
    # Polling shows submitted, the scoring job moves it to screening; a second run changes nothing.
    poll = get(client, f"/c/journey/applications/{app_id}", headers={"HX-Request": "true"})
    assert poll.status_code == 200 and 'data-testid="application-status">submitted<' in poll.get_data(as_text=True)
    worker.run(app, ["scoring"], burst=True, with_cron=False)
    poll = get(client, f"/c/journey/applications/{app_id}", headers={"HX-Request": "true"})
    assert 'data-testid="application-status">screening<' in poll.get_data(as_text=True)
    # Withdrawal ends polling: the partial answers 286.
    post_form(client, f"/c/journey/applications/{app_id}/withdraw", {}, token_from=f"/c/journey/applications/{app_id}")
    final = get(client, f"/c/journey/applications/{app_id}", headers={"HX-Request": "true"})
    assert final.status_code == 286 and 'data-testid="application-status">withdrawn<' in final.get_data(as_text=True)
    home = get(client, "/c/journey/").get_data(as_text=True)
    assert 'data-testid="unread-badge">3<' in home  # submitted, screening, withdrawn


def test_submit_without_consents_is_refused_with_a_reason(client, db, borrower_session):
    post_form(client, "/c/journey/profile", PROFILE)
    edit_url = post_form(client, "/c/journey/apply", {}, token_from="/c/journey/").headers["Location"]
    app_id = edit_url.split("/")[-2]
    step = f"/c/journey/applications/{app_id}/step"
    post_form(client, f"{step}/terms", {"amount": "100000", "currency": "NGN", "term_months": "12",
                                        "purpose": "education"}, token_from=edit_url)
    post_form(client, f"{step}/income", {"income_confirmed": "y"}, token_from=edit_url)
    refused = post_form(client, f"{step}/review", {}, token_from=edit_url)
    assert refused.status_code == 422
    assert "Give the data-processing and credit-check consents first." in refused.get_data(as_text=True)


def test_another_borrowers_application_is_404(client, db, borrower_session):
    c, b = borrower_session
    other = factories.borrower(db, c)
    from caas.credit import applications
    with tenant.tenant_scope(c.id, db):
        theirs = applications.start(db, other.id, c.id)
    db.commit()
    assert get(client, f"/c/journey/applications/{theirs.id}").status_code == 404
    assert get(client, f"/c/journey/applications/{theirs.id}/edit").status_code == 404


def test_the_later_steps_wait_for_the_terms(client, db, borrower_session):
    """Found by the form fuzz: the review step of a draft without terms formatted a missing amount
    (a 500 on GET ?step=review, and on a refused POST of review or income). Until the terms are
    set, only the terms step opens, and a later step's POST changes nothing."""
    c, b = borrower_session
    edit_url = post_form(client, "/c/journey/apply", {}, token_from="/c/journey/").headers["Location"]
    app_id = edit_url.split("/")[-2]
    for step in ("income", "review"):
        page = get(client, f"{edit_url}?step={step}")
        assert page.status_code == 200 and 'data-testid="apply-step">Amount and term<' in page.get_data(as_text=True)
        posted = post_form(client, f"/c/journey/applications/{app_id}/step/{step}", {"income_confirmed": "y"},
                           token_from=edit_url)
        assert posted.status_code == 302 and posted.headers["Location"] == edit_url
    with tenant.tenant_scope(c.id, db):
        application = db.get(Application, __import__("uuid").UUID(app_id))
        db.refresh(application)
        assert application.status == ApplicationStatus.draft and application.income_confirmed is False
