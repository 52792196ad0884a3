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


def identity_for(session: Session, profile, policy):
    """When the client's policy requires it, the borrower's identity check: the stored one for these
    details, or a new one from the provider (flushed). None when not required (no provider call).
    Raises ``IdentityUnavailable`` when the provider has no answer, so nothing is decided without one."""
    if not policy.require_identity_verification:
        return None
    from caas.credit import identity
    from caas.credit.identity import records

    return records.verify_profile(session, profile, identity.verifier(), identity.fingerprint_key())


def verify_identity(session: Session, application_id: uuid.UUID) -> None:
    """The scoring job's first step, which the job commits on its own: a definitive answer is kept
    even when the scoring after it fails and retries, so the provider is asked once."""
    application = session.get(Application, application_id)
    if application is not None and application.status in (S.submitted, S.screening):
        identity_for(session, profiles.get(session, application.borrower_id),
                     applications.policy_for(session, application.client_id))


def _identity_facts(row) -> rules.IdentityFacts | None:
    if row is None:
        return None
    return rules.IdentityFacts(status=row.status, provider=row.provider, reference=row.reference, id_type=row.id_type,
                               name_match_score=row.name_match_score, dob_match=row.dob_match,
                               blocked=bool(row.summary.get("blocked")))


REFER_WHY = {"SANCTIONS_POSSIBLE_MATCH": "a possible sanctions match",
             "IDENTITY_NOT_VERIFIED": "an identity the provider could not verify"}


def score(session: Session, application_id: uuid.UUID, today: date | None = None) -> str:
    """Decide one application. Returns the resulting status. Holds the application's row lock until
    the caller commits, so a second run at once waits and then finds the decision made."""
    from caas.credit import scorecard_adapter

    today = today or date.today()
    application = session.scalar(select(Application).where(Application.id == application_id)
                                 .with_for_update(of=Application).execution_options(populate_existing=True))
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
    verification = identity_for(session, profile, policy)
    identity_check = rules.identity_check(_identity_facts(verification))
    sanctions, index = lists.index_for(session)
    threshold = int(current_app.config.get("SANCTIONS_THRESHOLD", 85))
    hits = [hit.as_dict() for hit in index.search(profile.legal_name, profile.date_of_birth, threshold)] \
        if index is not None else []
    rule_results = rules.policy_rules(profile_facts, policy_facts, request, today)
    inputs = scorecard_adapter.features(application, profile, today)
    result = scorecard_adapter.predict(model.artifact, inputs)
    outcome = rules.decide(kyc_results, hits, rule_results, result.grade, result.reasons, policy_facts,
                           identity=identity_check)
    inputs_record = {"features": inputs, "request": {k: v for k, v in asdict(request).items()}}
    if verification is not None:
        inputs_record["identity"] = {"verification_id": str(verification.id), "status": verification.status,
                                     "provider": verification.provider, "reference": verification.reference}

    decision = CreditDecision(
        id=uuid.uuid4(), client_id=application.client_id, application_id=application.id, outcome=outcome.outcome,
        model_version=model.version, sanctions_list_sha256=sanctions.sha256 if sanctions else None,
        pd=result.pd, score=result.score, grade=result.grade, reasons=outcome.reasons,
        rule_results=[c.as_dict() for c in rule_results], screening_hits=hits,
        kyc_results=[c.as_dict() for c in kyc_results + ([identity_check] if identity_check else [])],
        inputs=inputs_record)
    session.add(decision)
    wanted = {"approve": S.approved, "decline": S.declined, "refer": S.referred}[outcome.outcome]
    application.decision_reasons = outcome.reasons
    applications.transition(session, application, wanted, f"{outcome.outcome} (grade {result.grade})")
    if wanted == S.referred:
        from caas.events import notify  # the admins who review referrals hear of it

        notify.send(session, "credit.application.referred", client_id=application.client_id,
                    data={"application_id": str(application.id),
                          "why": " and ".join(REFER_WHY[r["code"]] for r in outcome.reasons if r["code"] in REFER_WHY)
                          or f"grade {result.grade} is at the cut-off"},
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
