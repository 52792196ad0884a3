"""The scoring job with a real worker in burst mode: approve, decline, refer, retry, idempotency."""
from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from rq.job import Job
from sqlalchemy import func, select, text

from caas.core import jobs, tenant, worker
from caas.credit import scoring_models
from caas.credit.models import Application, ApplicationStatus as S, CreditDecision
from caas.billing.models import UsageEvent
from caas.events.models import OutboxMessage
from caas.screening import lists
from tests import factories
from tests.helpers import BASE

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
SDN_TEXT = (REFERENCE / "ofac" / "sdn.csv").read_text(encoding="latin-1")
ALT_TEXT = (REFERENCE / "ofac" / "alt.csv").read_text(encoding="latin-1")
SDN = SDN_TEXT.splitlines()


@pytest.fixture(scope="module")
def artifact():
    return scoring_models.train_from_file(REFERENCE / "german_train.data", cross_validation=False)


@pytest.fixture
def scoring_world(db, artifact):
    scoring_models.register(db, factories.SYSTEM, artifact)
    lists.import_list(db, factories.SYSTEM, SDN_TEXT, ALT_TEXT)  # the full OFAC list, as in production
    c = factories.client(db, slug="scored")
    key = factories.api_key(db, c)
    db.commit()
    return c, key


def submit(client, key, **overrides) -> str:
    body = factories.application_body(**overrides)
    response = client.post("/api/v1/applications", json=body, base_url=BASE, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def run_scoring(app):
    worker.run(app, ["scoring"], burst=True, with_cron=False)


def decision_of(db, client_id, application_id):
    with tenant.tenant_scope(client_id, db):
        application = db.get(Application, uuid.UUID(application_id))
        db.refresh(application)
        decisions = db.scalars(select(CreditDecision).where(CreditDecision.application_id == application.id)).all()
        return application, decisions


def test_a_good_applicant_is_approved_with_a_full_decision_record(app, db, client, scoring_world):
    c, key = scoring_world
    app_id = submit(client, key, applicant=factories.applicant(legal_name="Adaeze Okoro", employment_status="employed",
                                                               months_employed=96, housing="own"),
                    amount="100000", term_months=6)
    run_scoring(app)
    application, decisions = decision_of(db, c.id, app_id)
    assert application.status == S.open_for_offers  # approved, and opened to the marketplace at once
    assert [e.to_status for e in application.history][-2:] == ["approved", "open_for_offers"]
    [decision] = decisions
    assert decision.outcome == "approve" and decision.grade in "ABC" and 0 < decision.pd < 1
    assert decision.model_version == decision_model(db)["version"]
    assert decision.screening_hits == [] and all(r["passed"] for r in decision.rule_results)
    assert decision.inputs["features"]["A2"] == 6 and "A9" not in decision.inputs["features"]
    with tenant.tenant_scope(c.id, db):
        events = db.scalars(select(OutboxMessage.event_type).where(OutboxMessage.kind == "event")).all()
        usage = dict(db.execute(select(UsageEvent.metric, UsageEvent.quantity)).all())
    assert sorted(events) == ["credit.application.approved", "credit.application.submitted"]
    assert usage["risk_assessment"] == 1 and usage["application_processed"] == 1


def decision_model(db):
    from caas.credit.scoring import active_model
    return active_model(db).artifact


def test_policy_failure_declines_with_its_reason_code(app, db, client, scoring_world):
    c, key = scoring_world
    # 5,000,000.00 over 6 months against 450,000.00 a month: debt-to-income far above 0.40
    app_id = submit(client, key, amount="5000000", term_months=6)
    run_scoring(app)
    application, [decision] = decision_of(db, c.id, app_id)
    assert application.status == S.declined and decision.outcome == "decline"
    assert [r["code"] for r in decision.reasons] == ["POLICY_DTI"]
    assert application.decision_reasons[0]["code"] == "POLICY_DTI"


def test_a_possible_sanctions_hit_is_referred_with_the_entry(app, db, client, scoring_world):
    c, key = scoring_world
    app_id = submit(client, key, applicant=factories.applicant(legal_name="Usama bin Ladin", date_of_birth="1957-07-30"))
    run_scoring(app)
    application, [decision] = decision_of(db, c.id, app_id)
    assert application.status == S.referred and decision.outcome == "refer"
    assert decision.screening_hits[0]["ent_num"] == 6365 and decision.screening_hits[0]["score"] >= 85
    assert decision.reasons[0]["code"] == "SANCTIONS_POSSIBLE_MATCH"


def test_running_the_job_twice_gives_one_decision(app, db, client, scoring_world):
    from caas.credit import scoring

    c, key = scoring_world
    app_id = submit(client, key)
    run_scoring(app)
    with tenant.tenant_scope(c.id, db):
        assert scoring.score(db, uuid.UUID(app_id)) in ("open_for_offers", "declined", "referred")  # as it was
        db.commit()
    _, decisions = decision_of(db, c.id, app_id)
    assert len(decisions) == 1


def test_no_model_fails_retries_and_ends_in_scoring_failed_which_an_admin_retries(app, db, client):
    c = factories.client(db, slug="no-model")
    key = factories.api_key(db, c)
    db.commit()
    app_id = submit(client, key)
    run_scoring(app)  # first attempt fails; RQ schedules a retry
    application, _ = decision_of(db, c.id, app_id)
    assert application.status == S.screening
    job = Job.fetch(f"score-{app_id}", connection=jobs.connection())
    assert job.retries_left == 2
    # The last attempt: run the job body with no retries left, as RQ does after the final failure.
    from caas.credit import jobs as credit_jobs
    with tenant.tenant_scope(c.id, db), pytest.raises(Exception, match="no active scoring model"):
        credit_jobs.score_application(app_id)
    application, _ = decision_of(db, c.id, app_id)
    assert application.status == S.scoring_failed

    admin = factories.platform_admin(db)
    db.commit()
    from tests.helpers import login, post_form
    login(client, admin.email, factories.PASSWORD)
    page = f"/admin/clients/{c.id}/applications/{app_id}"
    assert post_form(client, f"{page}/retry", {}, token_from=page).status_code == 302
    application, _ = decision_of(db, c.id, app_id)
    assert application.status == S.screening
    with tenant.tenant_scope(c.id, db):
        assert db.execute(text("SELECT count(*) FROM audit_log WHERE action = 'scoring.retry'")).scalar_one() == 1


def test_admin_reviews_a_referral_with_a_note(app, db, client, scoring_world):
    c, key = scoring_world
    app_id = submit(client, key, applicant=factories.applicant(legal_name="Usama bin Ladin", date_of_birth="1957-07-30"))
    run_scoring(app)
    admin = factories.client_admin(db, c)
    db.commit()
    from tests.helpers import field_errors, get, login, post_form
    login(client, admin.email, factories.PASSWORD)
    assert app_id in get(client, "/admin/applications?status=referred").get_data(as_text=True)
    page = f"/admin/clients/{c.id}/applications/{app_id}"
    assert 'data-testid="hits"' in get(client, page).get_data(as_text=True)
    empty = post_form(client, f"{page}/review", {"outcome": "approve", "note": ""}, token_from=page)
    assert field_errors(empty.get_data(as_text=True)) == {"note": ["Write a note that explains the decision."]}
    done = post_form(client, f"{page}/review", {"outcome": "approve", "note": "Different person: DOB and nationality"},
                     token_from=page)
    assert done.status_code == 302
    application, _ = decision_of(db, c.id, app_id)
    assert application.status == S.open_for_offers
    assert "approved" in [e.to_status for e in application.history]
    with tenant.tenant_scope(c.id, db):
        audited = db.execute(text("SELECT after FROM audit_log WHERE action = 'referral.approve'")).scalar_one()
        events = db.scalars(select(OutboxMessage.event_type).where(OutboxMessage.kind == "event")).all()
    assert audited["note"] == "Different person: DOB and nationality"
    assert "credit.application.approved" in events


def test_malformed_list_is_refused_with_its_line_and_the_loaded_list_stays(app, db, scoring_world, tmp_path):
    bad = tmp_path / "sdn.csv"
    bad.write_text("\n".join(SDN[:3]) + '\nnot-a-number,"X"\n', encoding="latin-1")
    before = lists.active_list(db).sha256
    db.commit()
    result = app.test_cli_runner().invoke(args=["sanctions", "import", str(bad)])
    assert result.exit_code == 1 and "line 4" in result.output
    assert lists.active_list(db).sha256 == before


def test_model_page_shows_version_metrics_and_grades(app, db, client, scoring_world):
    c, key = scoring_world
    submit(client, key)
    run_scoring(app)
    admin = factories.platform_admin(db)
    db.commit()
    from tests.helpers import get, login
    login(client, admin.email, factories.PASSWORD)
    page = get(client, "/admin/model").get_data(as_text=True)
    from caas.credit.scoring import active_model
    assert f'data-testid="model-version">{active_model(db).version}<' in page
    assert sum(int(n) for n in __import__("re").findall(r'data-testid="grade-[A-E]">(\d+)<', page)) == 1
