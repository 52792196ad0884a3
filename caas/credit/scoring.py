"""The scoring job's body: KYC, sanctions screening, policy rules, scorecard, decision.

Idempotent: a decision is unique per (application, model version); a second run for the same
model finds it and does nothing. Everything is written in one transaction: the decision record,
the status change, the events and the usage."""
from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime, timezone

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.billing import usage
from caas.credit import applications, profiles, rules
from caas.credit.models import Application, ApplicationStatus as S, CreditDecision, ScoringModel
from caas.credit.quotes import indicative
from caas.events import outbox
from caas.screening import lists


class ScoringUnavailable(RuntimeError):
    """Nothing to score with (no active model): the job fails, retries, and ends in scoring_failed."""


def active_model(session: Session) -> ScoringModel | None:
    return session.scalar(select(ScoringModel).where(ScoringModel.active.is_(True)))


def _facts(profile, policy, application, today):
    profile_facts = rules.ProfileFacts(
        country=profile.country, national_id=profile.national_id, date_of_birth=profile.date_of_birth,
        monthly_net_income_minor=profile.monthly_net_income_minor,
        monthly_expenses_minor=profile.monthly_expenses_minor,
        existing_debt_payments_minor=profile.existing_debt_payments_minor, currency=profile.currency)
    policy_facts = rules.PolicyFacts(
        currencies=tuple(policy.currencies), min_amount_minor=policy.min_amount_minor,
        max_amount_minor=policy.max_amount_minor, allowed_terms=tuple(policy.allowed_terms),
        max_debt_to_income=policy.max_debt_to_income, min_age=policy.min_age,
        auto_decline_below_grade=policy.auto_decline_below_grade)
    quote = indicative(application.amount_minor, application.currency, application.term_months,
                       policy.reference_annual_rate, today)
    request = rules.Request(amount_minor=application.amount_minor, currency=application.currency,
                            term_months=application.term_months, monthly_payment_minor=quote.instalment_minor)
    return profile_facts, policy_facts, request


def score(session: Session, application_id: uuid.UUID, today: date | None = None) -> str:
    """Decide one application. Returns the resulting status."""
    from caas.credit import scorecard_adapter

    today = today or date.today()
    application = session.get(Application, application_id)
    if application is None:
        return "missing"
    if application.status == S.submitted:
        applications.transition(session, application, S.screening, "screening started")
    elif application.status != S.screening:
        return application.status.value  # decided already, withdrawn, …
    model = active_model(session)
    if model is None:
        raise ScoringUnavailable("no active scoring model; train one with `flask scoring train`")
    if session.scalar(select(CreditDecision.id).where(CreditDecision.application_id == application.id,
                                                     CreditDecision.model_version == model.version)):
        return application.status.value
    profile = profiles.get(session, application.borrower_id)
    policy = applications.policy_for(session, application.client_id)
    profile_facts, policy_facts, request = _facts(profile, policy, application, today)

    kyc_results = rules.kyc_checks(profile_facts, today)
    sanctions, index = lists.index_for(session)
    threshold = int(current_app.config.get("SANCTIONS_THRESHOLD", 85))
    hits = [hit.as_dict() for hit in index.search(profile.legal_name, profile.date_of_birth, threshold)] \
        if index is not None else []
    rule_results = rules.policy_rules(profile_facts, policy_facts, request, today)
    inputs = scorecard_adapter.features(application, profile, today)
    result = scorecard_adapter.predict(model.artifact, inputs)
    outcome = rules.decide(kyc_results, hits, rule_results, result.grade, result.reasons, policy_facts)

    decision = CreditDecision(
        id=uuid.uuid4(), client_id=application.client_id, application_id=application.id, outcome=outcome.outcome,
        model_version=model.version, sanctions_list_sha256=sanctions.sha256 if sanctions else None,
        pd=result.pd, score=result.score, grade=result.grade, reasons=outcome.reasons,
        rule_results=[c.as_dict() for c in rule_results], screening_hits=hits,
        kyc_results=[c.as_dict() for c in kyc_results],
        inputs={"features": inputs, "request": {k: v for k, v in asdict(request).items()}})
    session.add(decision)
    wanted = {"approve": S.approved, "decline": S.declined, "refer": S.referred}[outcome.outcome]
    application.decision_reasons = outcome.reasons
    applications.transition(session, application, wanted, f"{outcome.outcome} (grade {result.grade})")
    if wanted == S.referred:
        from caas.events import notify  # the admins who review referrals hear of it

        notify.send(session, "credit.application.referred", client_id=application.client_id,
                    data={"application_id": str(application.id),
                          "why": "a possible sanctions match" if hits else f"grade {result.grade} is at the cut-off"},
                    key=str(application.id))
    if wanted in (S.approved, S.declined):
        event = "credit.application.approved" if wanted == S.approved else "credit.application.declined"
        outbox.record_event(session, application.client_id, event, applications.serialise(application))
    if wanted == S.approved:
        from caas.market import listings  # approved applications open for offers at once

        listings.open_for_offers(session, application, decision, datetime.now(timezone.utc))
    usage.record(session, application.client_id, "risk_assessment", f"risk_assessment:{application.id}")
    usage.record(session, application.client_id, "application_processed", f"application_processed:{application.id}")
    session.flush()
    return wanted.value
