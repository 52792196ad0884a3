"""The provider portal and the borrower's offers through the test client: criteria, marketplace,
preview, bid, my bids; offers ranked on the status page; signing; the loan page."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from caas.core import tenant
from caas.loans.models import Loan
from caas.market.models import Bid, LendingCriteria
from tests import factories
from tests.helpers import field_errors, get, login, post_form
from tests.market.world import lender, open_application


@pytest.fixture
def market(db):
    client = factories.client(db)
    provider = lender(db, client)
    user = factories.provider_user(db, provider)
    now = datetime.now(timezone.utc)
    opened = open_application(db, client, now=now, grade="B")
    db.commit()
    return client, provider, user, opened


def test_a_provider_sets_criteria_with_messages_at_the_fields(client, db, market):
    _, provider, user, _ = market
    login(client, user.email, factories.PASSWORD)
    bad = post_form(client, "/provider/criteria", {"name": "Tiny", "currencies": "NGN", "min_amount": "5000",
                                                    "max_amount": "100", "min_term_months": "3",
                                                    "max_term_months": "12", "worst_grade": "C"})
    assert bad.status_code == 422
    assert field_errors(bad.get_data(as_text=True)) == {"max_amount": ["The maximum must be at least the minimum."]}
    good = post_form(client, "/provider/criteria", {"name": "SME", "currencies": "ngn", "min_amount": "50000",
                                                     "max_amount": "2000000", "min_term_months": "3",
                                                     "max_term_months": "12", "worst_grade": "C",
                                                     "purposes": ["business expansion", "working capital"]})
    assert good.status_code == 302
    with tenant.provider_scope(provider.id, db):
        row = db.scalar(select(LendingCriteria).where(LendingCriteria.name == "SME"))
        assert (row.currencies, row.min_amount_minor, row.max_amount_minor) == (["NGN"], 50_000_00, 2_000_000_00)
        assert row.purposes == ["business expansion", "working capital"]


def test_the_marketplace_shows_anonymised_rows_and_the_bid_flow_works(client, db, market):
    client_, provider, user, opened = market
    login(client, user.email, factories.PASSWORD)
    page = get(client, "/provider/market").get_data(as_text=True)
    assert page.count('data-testid="listing-row"') == 1
    assert "Adaeze" not in page and str(opened.application_id) not in page  # never the borrower or the id
    listing_url = f"/provider/market/{opened.listing_id}"
    detail = get(client, listing_url).get_data(as_text=True)
    assert "250,000.00 NGN" in detail and "Adaeze" not in detail
    valid_until = (datetime.now(timezone.utc) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    form = {"annual_rate": "30", "fee_kind": "percent", "fee": "1", "term_months": "12", "valid_until": valid_until}
    preview = post_form(client, f"{listing_url}/preview", form, token_from=listing_url, headers={"HX-Request": "true"})
    html = preview.get_data(as_text=True)
    instalment = re.search(r'data-testid="preview-instalment">([^<]+)<', html).group(1)
    with tenant.tenant_scope(client_.id, db):
        assert db.scalar(select(func.count()).select_from(Bid)) == 0  # a preview saves nothing
    bad = post_form(client, listing_url, form | {"annual_rate": "0"})
    assert bad.status_code == 422
    assert field_errors(bad.get_data(as_text=True))["annual_rate"] == ["Offer a yearly rate above 0% and at most 100%."]
    saved = post_form(client, listing_url, form)
    assert saved.status_code == 302
    with tenant.tenant_scope(client_.id, db):
        bid = db.scalar(select(Bid))
        assert bid.fee_minor == 2_500_00 and bid.term_months == 12
        assert f"{bid.instalment_minor // 100:,}.{bid.instalment_minor % 100:02d} NGN" == instalment.strip()
    mine = get(client, "/provider/bids?status=open").get_data(as_text=True)
    assert mine.count('data-testid="bid-row"') == 1
    assert get(client, "/provider/bids?status=nonsense").status_code == 404


def test_a_provider_outside_the_network_gets_404_for_the_listing(client, db, market):
    _, _, _, opened = market
    other = factories.provider(db)
    outsider = factories.provider_user(db, other)
    db.commit()
    login(client, outsider.email, factories.PASSWORD)
    assert get(client, f"/provider/market/{opened.listing_id}").status_code == 404
    assert 'data-testid="listing-row"' not in get(client, "/provider/market").get_data(as_text=True)


def test_new_since_you_looked_poll(client, db, market):
    client_, provider, user, _ = market
    login(client, user.email, factories.PASSWORD)
    get(client, "/provider/market")
    assert "new since you looked" not in get(client, "/provider/market/new").get_data(as_text=True)
    open_application(db, client_, now=datetime.now(timezone.utc) + timedelta(seconds=1))
    db.commit()
    assert "1 new since you looked" in get(client, "/provider/market/new").get_data(as_text=True)


def test_the_borrower_sees_offers_signs_and_gets_the_loan_page(client, db, market):
    client_, provider, _, opened = market
    from caas.market import bids
    from tests.market.world import bid_input

    second = lender(db, client_)
    now = datetime.now(timezone.utc)
    with tenant.provider_scope(provider.id, db):
        dear = bids.place(db, factories.SYSTEM, provider.id, opened.listing_id,
                          bid_input(rate="34", valid_until=now + timedelta(days=2)), now)
    with tenant.provider_scope(second.id, db):
        cheap = bids.place(db, factories.SYSTEM, second.id, opened.listing_id,
                           bid_input(rate="24", valid_until=now + timedelta(days=2)), now)
    db.commit()
    with tenant.tenant_scope(client_.id, db):
        from caas.tenancy.models import User

        borrower = db.get(User, opened.borrower_id)
    login(client, borrower.email, factories.PASSWORD, path=f"/c/{client_.slug}/login")
    status = get(client, f"/c/{client_.slug}/applications/{opened.application_id}").get_data(as_text=True)
    assert status.count('data-testid="offer-row"') == 2
    assert status.index(second.legal_name) < status.index(provider.legal_name)  # ranked by APR
    assert status.count('data-testid="best-offer"') == 1
    offer_url = f"/c/{client_.slug}/applications/{opened.application_id}/offers/{cheap.id}"
    unsigned = post_form(client, offer_url, {"typed_name": "Adaeze Okoro"})
    assert field_errors(unsigned.get_data(as_text=True)) == {"consent": ["Tick the box to accept the loan agreement."]}
    wrong = post_form(client, offer_url, {"typed_name": "Someone Else", "consent": "y"})
    assert "typed_name" in field_errors(wrong.get_data(as_text=True))
    signed = post_form(client, offer_url, {"typed_name": "adaeze  okoro", "consent": "y"})
    assert signed.status_code == 302
    loan_page = get(client, signed.headers["Location"]).get_data(as_text=True)
    assert loan_page.count('data-testid="schedule-row"') == 12
    with tenant.tenant_scope(client_.id, db):
        loan = db.scalar(select(Loan))
        assert loan.bid_id == cheap.id and db.get(Bid, dear.id).status.value == "rejected"
    # another borrower of the same client cannot open this loan
    other = factories.borrower(db, client_)
    db.commit()
    client.post("/logout", base_url="https://localhost")
    login(client, other.email, factories.PASSWORD, path=f"/c/{client_.slug}/login")
    assert get(client, f"/c/{client_.slug}/loans/{loan.id}").status_code == 404


def test_accepting_without_a_bank_account_sends_the_borrower_to_add_one(client, db):
    from caas.market import bids
    from tests.market.world import bid_input

    client_ = factories.client(db)
    provider = lender(db, client_)
    now = datetime.now(timezone.utc)
    opened = open_application(db, client_, now=now, bank_account=None)
    with tenant.provider_scope(provider.id, db):
        bid = bids.place(db, factories.SYSTEM, provider.id, opened.listing_id,
                         bid_input(valid_until=now + timedelta(days=2)), now)
    db.commit()
    with tenant.tenant_scope(client_.id, db):
        from caas.tenancy.models import User

        borrower = db.get(User, opened.borrower_id)
    base = f"/c/{client_.slug}"
    login(client, borrower.email, factories.PASSWORD, path=f"{base}/login")
    offer_url = f"{base}/applications/{opened.application_id}/offers/{bid.id}"
    assert 'data-testid="bank-account-missing"' in get(client, offer_url).get_data(as_text=True)
    refused = post_form(client, offer_url, {"typed_name": "Adaeze Okoro", "consent": "y"})
    assert refused.status_code == 302 and "/bank-account" in refused.headers["Location"]
    bad = post_form(client, f"{base}/bank-account", {"bank_code": "058", "account_number": "12345",
                                                     "account_name": "Adaeze Okoro"})
    assert field_errors(bad.get_data(as_text=True)) == {"account_number": ["A Nigerian account number (NUBAN) has 10 digits."]}
    saved = post_form(client, f"{base}/bank-account?next={offer_url}", {"bank_code": "058", "account_number": "0123456781",
                                                                       "account_name": "Adaeze Okoro"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(offer_url)
    signed = post_form(client, offer_url, {"typed_name": "Adaeze Okoro", "consent": "y"})
    assert signed.status_code == 302 and "/loans/" in signed.headers["Location"]
    assert "Payout of 247,500.00 NGN to account ending 6781" in get(client, signed.headers["Location"]).get_data(as_text=True)
