"""The SDK against the running app with real API keys: every resource, automatic pagination,
idempotency keys, typed errors, and the whole way from applying to a loan."""
from __future__ import annotations

from decimal import Decimal

import pytest

from caas_sdk import CaaS, models
from caas_sdk.errors import AuthenticationError, NotFoundError, PermissionDeniedError, ValidationError
from tests import factories
from tests.sdk.conftest import bid, good_applicant, score

CONSENTS = {"data_processing": True, "credit_check": True}


@pytest.fixture
def sdk(world):
    with CaaS(world.key, base_url=world.url) as client:
        yield client


def apply(sdk, **overrides) -> models.Application:
    values = dict(applicant=good_applicant(), consents=CONSENTS, amount="100000", currency="NGN", term_months=6,
                  purpose="business expansion")
    values.update(overrides)
    return sdk.applications.create(**values)


def test_ping_names_the_client_and_the_keys_scopes(sdk, world):
    who = sdk.ping()
    assert who.ok is True and who.mode == "live"
    assert set(who.scopes) == {"applications:read", "applications:write", "offers:write", "loans:read", "usage:read"}


def test_create_get_and_withdraw_an_application(sdk):
    created = apply(sdk, amount="100000.00")
    assert isinstance(created, models.Application)
    assert (created.status, created.amount, created.amount_minor, created.currency, created.term_months,
            created.channel) == ("submitted", "100000.00", 100_000_00, "NGN", 6, "api")
    assert Decimal(created.indicative_monthly_payment) > Decimal("100000") / 6
    fetched = sdk.applications.get(created.id)
    assert fetched == created
    withdrawn = sdk.applications.withdraw(created.id)
    assert withdrawn.status == "withdrawn" and sdk.applications.get(created.id).status == "withdrawn"
    with pytest.raises(ValidationError) as caught:  # nothing left to withdraw
        sdk.applications.withdraw(created.id)
    assert (caught.value.status, caught.value.code) == (422, "not_withdrawable")


def test_list_follows_the_cursor_across_pages(sdk):
    made = [apply(sdk, purpose="education").id for _ in range(5)]
    first = sdk.applications.list_page(limit=2)
    assert len(first.data) == 2 and first.has_more and first.next_cursor
    every = [a.id for a in sdk.applications.list(limit=2)]  # three requests or more, one iterator
    assert len(every) == len(set(every))
    assert set(made) <= set(every)
    assert [a.id for a in sdk.applications.list(limit=100)] == every  # same order whatever the page size


def test_the_same_idempotency_key_gives_the_same_application_and_another_key_another(sdk, world):
    applicant = good_applicant()
    one = apply(sdk, applicant=applicant, idempotency_key="order-4242")
    again = apply(sdk, applicant=applicant, idempotency_key="order-4242")
    assert again.id == one.id
    other = apply(sdk, applicant=applicant)  # a generated key: a new application
    assert other.id != one.id
    with pytest.raises(ValidationError) as caught:  # same key, other parameters
        apply(sdk, applicant=applicant, amount="120000", idempotency_key="order-4242")
    assert caught.value.code == "idempotency_key_reused" and caught.value.field == "Idempotency-Key"


def test_validation_errors_are_typed_and_name_every_bad_field(sdk):
    with pytest.raises(ValidationError) as caught:
        apply(sdk, applicant=good_applicant(email="not-an-email", national_id="123"), amount="0",
              consents={"data_processing": True})
    error = caught.value
    assert (error.status, error.code) == (422, "validation_failed")
    assert {"applicant.email", "applicant.national_id", "amount", "consents.credit_check"} <= set(error.fields)
    assert error.field in error.fields and error.message == error.fields[error.field]


def test_unknown_ids_and_bad_keys_and_missing_scopes_are_typed(sdk, world):
    with pytest.raises(NotFoundError) as caught:
        sdk.applications.get("00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 404
    with pytest.raises(NotFoundError):
        sdk.loans.get("00000000-0000-0000-0000-000000000000")
    with CaaS("caas_live_aaaaaaaaaaaa_" + "0" * 48, base_url=world.url) as stranger:
        with pytest.raises(AuthenticationError) as caught:
            stranger.ping()
    assert caught.value.status == 401
    with CaaS(world.read_only_key, base_url=world.url) as reader:
        assert reader.providers.list()  # a read it may do
        with pytest.raises(PermissionDeniedError) as caught:
            apply(reader)
    assert caught.value.code == "insufficient_scope"


def test_another_clients_application_answers_404(sdk, world, live_app):
    from caas.core.extensions import db

    with live_app.app_context():
        other = factories.client(db.session)
        other_key = factories.api_key(db.session, other)
        db.session.commit()
        db.session.remove()
    mine = apply(sdk)
    with CaaS(other_key, base_url=world.url) as stranger:
        with pytest.raises(NotFoundError):
            stranger.applications.get(mine.id)
        assert mine.id not in {a.id for a in stranger.applications.list()}


def test_providers_of_the_network_and_by_country(sdk, world):
    every = sdk.providers.list()
    assert {p.id for p in every} == {str(world.lender_id), str(world.ghana_lender_id)}
    assert all(isinstance(p, models.Provider) and p.currencies == ["NGN"] for p in every)
    assert [p.id for p in sdk.providers.list(country="gh")] == [str(world.ghana_lender_id)]
    assert sdk.providers.list(country="KE") == []
    with pytest.raises(ValidationError) as caught:
        sdk.providers.list(country="Nigeria")
    assert (caught.value.code, caught.value.field) == ("invalid_country", "country")


def test_usage_counts_this_months_applications(sdk):
    before = {m.metric: m.quantity for m in sdk.usage.get().metrics}
    apply(sdk)
    report = sdk.usage.get()
    after = {m.metric: m.quantity for m in report.metrics}
    assert report.currency == "NGN" and isinstance(report.estimate_minor, int)
    assert after["application_processed"] == before.get("application_processed", 0) + 1
    with pytest.raises(ValidationError):
        sdk.usage.get(period="2026-13")


def test_apply_score_offer_accept_and_read_the_loan(sdk, world, live_app):
    created = apply(sdk, amount="250000", term_months=12)
    score(live_app)
    assert sdk.applications.get(created.id).status == "open_for_offers"
    offer_id = bid(live_app, world, created.id, rate="28")
    [offer] = sdk.offers.list(created.id)
    assert (offer.id, offer.best, offer.status, offer.provider.id) == (offer_id, True, "open", str(world.lender_id))
    # 28% a year over 12 months on 250,000.00: 24,126.50 a month (tests/credit/test_api_offers.py)
    assert (offer.amount, offer.annual_rate, offer.monthly_payment) == ("250000.00", "28.0000", "24126.50")
    agreement = sdk.offers.agreement(created.id, offer_id)
    with pytest.raises(ValidationError) as caught:  # the borrower did not consent
        sdk.offers.accept(created.id, offer_id, signature_name="Adaeze Okoro", consent=False)
    assert caught.value.field == "consent"
    loan = sdk.offers.accept(created.id, offer_id, signature_name="Adaeze Okoro", consent=True,
                             agreement_sha256=agreement.sha256,
                             bank_account={"bank_code": "058", "account_number": "0123456781",
                                           "account_name": "Adaeze Okoro"})
    assert isinstance(loan, models.Loan) and loan.status == "pending_disbursement"
    assert len(loan.schedule) == 12 and isinstance(loan.schedule[0], models.Installment)
    assert sum(Decimal(i.principal) for i in loan.schedule) == Decimal("250000.00")
    assert sdk.loans.get(loan.id) == loan
    assert sdk.applications.get(created.id).status == "offer_accepted"
