"""Identity verification in the scoring job (a real worker in burst mode), stored on the KYC record
under row-level security, the policy switch on the admin page, and what admins and borrowers see."""
from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from rq.job import Job
from sqlalchemy import func, select, text

from caas.core import jobs, tenant
from caas.credit import identity, profiles, scoring_models
from caas.credit.identity import PremblyVerifier, SandboxVerifier
from caas.credit.identity.models import IdentityVerification
from caas.credit.identity.records import IdentityUnavailable, verify_profile
from caas.credit.models import ApplicationStatus as S
from caas.tenancy.models import CreditPolicy
from tests import factories
from tests.credit.conftest import PREMBLY_APP, PREMBLY_KEY, TIMEOUT
from tests.credit.test_scoring_job import REFERENCE, decision_of, run_scoring, submit
from tests.helpers import field_errors, get, login, post_form

BORN = date(1990, 4, 12)


@pytest.fixture
def sandbox():
    verifier = SandboxVerifier()
    identity.use(verifier)
    yield verifier
    identity.use(None)


@pytest.fixture(scope="module")
def scorecard():
    return scoring_models.train_from_file(REFERENCE / "german_train.data", cross_validation=False)


@pytest.fixture
def world(db, scorecard):
    scoring_models.register(db, factories.SYSTEM, scorecard)
    c = factories.client(db, slug=f"kyc-{uuid.uuid4().hex[:6]}")
    key = factories.api_key(db, c)
    db.commit()
    return c, key


def require_identity(db, client_id, on: bool = True) -> None:
    with tenant.tenant_scope(client_id, db):
        db.get(CreditPolicy, client_id).require_identity_verification = on
        db.commit()


def verifications(db, client_id) -> list[IdentityVerification]:
    with tenant.tenant_scope(client_id, db):
        return list(db.scalars(select(IdentityVerification)))


def apply_with(client, key, national_id: str, **applicant) -> str:
    return submit(client, key, applicant=factories.applicant(national_id=national_id, employment_status="employed",
                                                             months_employed=96, housing="own", **applicant),
                  amount="100000", term_months=6)


def scored(app, db, client, world, national_id: str, *, required: bool = True):
    """Apply with this national id (policy switch as told), run the scoring worker; the client,
    the application id, the application and its decisions."""
    c, key = world
    if required:
        require_identity(db, c.id)
    app_id = apply_with(client, key, national_id)
    run_scoring(app)
    return (c, app_id, *decision_of(db, c.id, app_id))


def profile_for(db, c, borrower, national_id: str):
    """A saved borrower profile (tenant in scope by the caller)."""
    return profiles.save(db, borrower, c, profiles.ProfileInput(
        legal_name="Adaeze Okoro", date_of_birth=BORN, phone="+2348031234567", address="12 Marina Road",
        national_id=national_id, employment_status="employed", employer="Dangote", months_employed=12,
        monthly_net_income="450000", monthly_expenses="100000", existing_debt_payments="0", housing="rent"),
        date(2026, 11, 1))


def test_a_mismatched_identity_is_referred_with_the_reason(app, db, client, world, sandbox):
    c, app_id, application, [decision] = scored(app, db, client, world, "22345678909")
    assert application.status == S.referred and decision.outcome == "refer"
    [reason] = decision.reasons
    assert reason["code"] == "IDENTITY_NOT_VERIFIED"
    assert reason["text"].startswith("BVN does not match the sandbox record: name similarity ")
    assert "date of birth differs" in reason["text"]
    [row] = verifications(db, c.id)
    assert (row.status, row.provider, row.id_type, row.id_number_masked, row.dob_match) == (
        "mismatched", "sandbox", "BVN", "*******8909", False)
    assert row.reference.startswith("sbx_") and reason["text"].endswith(f"(ref {row.reference})")
    assert decision.inputs["identity"] == {"verification_id": str(row.id), "status": "mismatched",
                                           "provider": "sandbox", "reference": row.reference}
    [check] = [k for k in decision.kyc_results if k["code"] == "KYC_IDENTITY_VERIFIED"]
    assert check["passed"] is False
    with tenant.tenant_scope(c.id, db):  # the full BVN is nowhere in the check's row
        assert db.execute(text("SELECT count(*) FROM identity_verifications WHERE "
                               "row_to_json(identity_verifications)::text LIKE '%22345678909%'")).scalar_one() == 0
    assert sandbox.calls == 1


def test_a_matched_identity_proceeds_to_the_scorecard(app, db, client, world, sandbox):
    c, app_id, application, [decision] = scored(app, db, client, world, "22345678901")
    assert application.status == S.open_for_offers and decision.outcome == "approve"
    [row] = verifications(db, c.id)
    assert (row.status, str(row.name_match_score), row.dob_match) == ("matched", "100.00", True)
    [check] = [k for k in decision.kyc_results if k["code"] == "KYC_IDENTITY_VERIFIED"]
    assert check == {"code": "KYC_IDENTITY_VERIFIED", "passed": True,
                     "detail": f"BVN matched by sandbox (ref {row.reference})"}


def test_an_unknown_number_asks_bvn_then_nin_and_refers(app, db, client, world, sandbox):
    c, app_id, application, [decision] = scored(app, db, client, world, "22345678908")
    assert application.status == S.referred
    assert decision.reasons[0]["text"].startswith("sandbox found no BVN/NIN with this number")
    [row] = verifications(db, c.id)
    assert (row.status, row.id_type, row.summary["asked"]) == ("not_found", "BVN/NIN", ["BVN", "NIN"])
    assert sandbox.calls == 2


def test_policy_off_means_no_provider_call_and_no_check(app, db, client, world, sandbox):
    # would be a mismatch, but nobody asks
    c, app_id, application, [decision] = scored(app, db, client, world, "22345678909", required=False)
    assert application.status == S.open_for_offers
    assert sandbox.calls == 0 and verifications(db, c.id) == []
    assert "identity" not in decision.inputs
    assert all(k["code"] != "KYC_IDENTITY_VERIFIED" for k in decision.kyc_results)


def test_a_provider_error_retries_never_decides_and_ends_in_scoring_failed(app, db, client, world, sandbox):
    c, app_id, application, decisions = scored(app, db, client, world, "22345678907")
    assert application.status == S.screening and decisions == [] and verifications(db, c.id) == []
    assert Job.fetch(f"score-{app_id}", connection=jobs.connection()).retries_left == 2
    from caas.credit import jobs as credit_jobs  # the last attempt, as RQ runs it with no retries left
    with tenant.tenant_scope(c.id, db), pytest.raises(IdentityUnavailable, match="sandbox: sandbox_unavailable"):
        credit_jobs.score_application(app_id)
    application, decisions = decision_of(db, c.id, app_id)
    assert application.status == S.scoring_failed and decisions == []
    assert "identity check could not be completed (sandbox: sandbox_unavailable)" in application.history[-1].note
    assert sandbox.calls == 2


def test_a_second_delivery_does_not_ask_prembly_again(app, db, client, prembly_fake, scorecard):
    """The check is committed before scoring: when scoring then fails (no model yet) and the job
    runs again, the stored check is used and the provider is not called a second time."""
    c = factories.client(db, slug=f"kyc-{uuid.uuid4().hex[:6]}")
    key = factories.api_key(db, c)
    db.commit()
    require_identity(db, c.id)
    prembly_fake.person("BVN", "22345678901", "ADAEZE", "", "OKORO", BORN)
    verifier = PremblyVerifier(api_key=PREMBLY_KEY, app_id=PREMBLY_APP, base_url=prembly_fake.base_url,
                               timeout=TIMEOUT, backoff=0.01)
    identity.use(verifier)
    try:
        app_id = apply_with(client, key, "22345678901", legal_name="Adaeze Okoro", date_of_birth=BORN.isoformat())
        run_scoring(app)  # verified and committed; then no active model: the job fails
        application, decisions = decision_of(db, c.id, app_id)
        assert application.status == S.screening and decisions == []
        [row] = verifications(db, c.id)
        assert row.status == "matched" and row.provider == "prembly"
        assert prembly_fake.calls[("BVN", "22345678901")] == 1
        scoring_models.register(db, factories.SYSTEM, scorecard)
        db.commit()
        from caas.credit import jobs as credit_jobs  # the retry
        with tenant.tenant_scope(c.id, db):
            assert credit_jobs.score_application(app_id) == "approved"
            assert credit_jobs.score_application(app_id) == "open_for_offers"  # a third delivery: as it was
        application, [decision] = decision_of(db, c.id, app_id)
        assert decision.inputs["identity"]["reference"] == row.reference
        assert prembly_fake.calls[("BVN", "22345678901")] == 1
        assert len(verifications(db, c.id)) == 1
    finally:
        identity.use(None)
        verifier.close()


def test_changed_details_are_checked_again_and_the_same_details_are_not(db, sandbox):
    c = factories.client(db)
    borrower = factories.borrower(db, c)
    with tenant.tenant_scope(c.id, db):
        profile = profile_for(db, c, borrower, "22345678901")
        first = verify_profile(db, profile, sandbox, "k")
        assert verify_profile(db, profile, sandbox, "k").id == first.id
        profile.legal_name = "Adaeze Chioma Okoro"
        second = verify_profile(db, profile, sandbox, "k")
        assert second.id != first.id and sandbox.calls == 2
        assert db.scalar(select(func.count()).select_from(IdentityVerification)) == 2


def test_another_tenant_sees_no_checks(db, sandbox):
    a, b = factories.client(db), factories.client(db)
    borrower = factories.borrower(db, a)
    with tenant.tenant_scope(a.id, db):
        profile = profile_for(db, a, borrower, "22345678909")
        row_id = verify_profile(db, profile, sandbox, "k").id
        assert db.scalar(select(func.count()).select_from(IdentityVerification)) == 1
    db.expunge_all()
    with tenant.tenant_scope(b.id, db):
        assert db.scalar(select(func.count()).select_from(IdentityVerification)) == 0
        assert db.get(IdentityVerification, row_id) is None
    tenant.set_tenant(None, db)
    assert db.execute(text("SELECT count(*) FROM identity_verifications")).scalar_one() == 0


def policy_form(db, client, c) -> tuple[str, dict]:
    admin = factories.client_admin(db, c)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    page = f"/admin/clients/{c.id}/policy"
    form = {"currencies": "NGN", "min_amount": "10000", "max_amount": "5000000", "allowed_terms": "3, 6, 12",
            "max_debt_to_income": "0.40", "min_age": "18", "auto_decline_below_grade": "E",
            "bidding_window_hours": "72", "acceptance_window_hours": "48", "write_off_days_past_due": "180",
            "reference_annual_rate": "24", "late_fee": "0", "penalty_annual_rate": "0", "overpayment": "refund"}
    return page, form


def ticked(response) -> bool:
    tag = re.search(r'<input[^>]*name="require_identity_verification"[^>]*>', response.get_data(as_text=True))
    assert tag, "no identity switch on the policy page"
    return re.search(r"\schecked[\s>]", tag.group(0)) is not None


def test_the_admin_policy_page_switches_verification_on_and_off(db, client):
    c = factories.client(db)
    page, form = policy_form(db, client, c)
    assert ticked(get(client, page)) is False
    assert post_form(client, page, {**form, "require_identity_verification": "y"}).status_code == 302
    with tenant.tenant_scope(c.id, db):
        db.expire_all()
        assert db.get(CreditPolicy, c.id).require_identity_verification is True
        audited = db.execute(text("SELECT before, after FROM audit_log WHERE action = 'policy.update' "
                                  "ORDER BY id DESC LIMIT 1")).one()
    assert (audited.before["require_identity_verification"], audited.after["require_identity_verification"]) == (
        False, True)
    assert ticked(get(client, page)) is True
    assert post_form(client, page, form).status_code == 302  # an unticked box is off
    with tenant.tenant_scope(c.id, db):
        db.expire_all()
        assert db.get(CreditPolicy, c.id).require_identity_verification is False


def test_a_bad_policy_field_saves_nothing_including_the_switch(db, client):
    c = factories.client(db)
    page, form = policy_form(db, client, c)
    response = post_form(client, page, {**form, "min_age": "12", "require_identity_verification": "y"})
    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True)) == {"min_age": ["The minimum age is from 18 to 100."]}
    with tenant.tenant_scope(c.id, db):
        db.expire_all()
        assert db.get(CreditPolicy, c.id).require_identity_verification is False


def test_admin_and_borrower_pages_show_the_result(app, db, client, world, sandbox):
    c, app_id, _, _ = scored(app, db, client, world, "22345678909")
    admin = factories.client_admin(db, c)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    [row] = verifications(db, c.id)
    html = get(client, f"/admin/clients/{c.id}/applications/{app_id}").get_data(as_text=True)
    assert 'data-testid="identity-status">mismatched<' in html
    assert f'data-testid="identity-reference">{row.reference}<' in html
    assert "IDENTITY_NOT_VERIFIED" in html and "BVN does not match the sandbox record" in html
    assert "*******8909" in html
    assert "IDENTITY_NOT_VERIFIED" in get(client, "/admin/applications?status=referred").get_data(as_text=True)

    # The borrower, on the profile page: the check of their present details.
    client.post("/logout", base_url="https://localhost")
    borrower = factories.borrower(db, c, email="kyc-borrower@example.com")
    db.commit()
    with tenant.tenant_scope(c.id, db):
        profile = profile_for(db, c, borrower, "22345678909")
        verify_profile(db, profile, sandbox, identity.fingerprint_key())
        db.commit()
    login(client, borrower.email, factories.PASSWORD, path=f"/c/{c.slug}/login")
    page = get(client, f"/c/{c.slug}/profile").get_data(as_text=True)
    assert "We could not verify your identity" in page and "*******8909" in page
    with tenant.tenant_scope(c.id, db):
        profile = profiles.get(db, borrower.id)
        profile.national_id = "22345678901"
        verify_profile(db, profile, sandbox, identity.fingerprint_key())
        db.commit()
    page = get(client, f"/c/{c.slug}/profile").get_data(as_text=True)
    assert "Identity verified ✓" in page and "We could not verify" not in page
