"""The borrower's preferences page: optional e-mails can be turned off, required ones are listed as
such and cannot be, SMS reminders need a phone number on the profile."""
from __future__ import annotations

from datetime import date

from caas.core import tenant
from caas.credit import profiles
from caas.events import catalogue, preferences
from tests import factories
from tests.helpers import field_errors, get, login, post_form
from tests.market.world import profile_input


def test_optional_emails_are_offered_and_required_ones_are_not(client, db):
    c = factories.client(db)
    me = factories.borrower(db, c)
    db.commit()
    prefix = f"/c/{c.slug}"
    login(client, me.email, factories.PASSWORD, path=f"{prefix}/login")
    page_url = f"{prefix}/notifications/preferences"
    page = get(client, page_url).get_data(as_text=True)
    for template in catalogue.borrower_templates():
        offered = f'value="{template.key}"' in page
        assert offered == (not template.required), template.key
    for title in ("Decision on your application", "Repayment reminders", "Missed payments"):
        assert title in page.split('data-testid="required-messages"')[1]
    assert page.count("checked") == len(catalogue.optional_keys())  # everything on until turned off

    keep = sorted(catalogue.optional_keys() - {"offer_received", "application_received"})
    saved = post_form(client, page_url, {"emails": keep})
    assert saved.status_code == 302
    with tenant.tenant_scope(c.id, db):
        choice = preferences.get(db, me.id)
    assert choice.email_opt_outs == ["application_received", "offer_received"] and choice.sms_opt_in is False

    forged = post_form(client, page_url, {"emails": keep + ["decision"]})  # a required key is no option
    assert forged.status_code == 422 and "emails" in field_errors(forged.get_data(as_text=True))


def test_sms_reminders_need_a_phone_number_on_the_profile(client, db):
    c = factories.client(db)
    me = factories.borrower(db, c)
    db.commit()
    prefix = f"/c/{c.slug}"
    login(client, me.email, factories.PASSWORD, path=f"{prefix}/login")
    page_url = f"{prefix}/notifications/preferences"
    everything = sorted(catalogue.optional_keys())
    refused = post_form(client, page_url, {"emails": everything, "sms_opt_in": "y"})
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True))["sms_opt_in"] == [
        "Add your phone number to your profile first."]
    with tenant.tenant_scope(c.id, db):
        assert preferences.get(db, me.id) is None
        profiles.save(db, me, c, profile_input(phone="+2348030000001"), date(2026, 11, 1))
        db.commit()
    assert "We will text +2348030000001" in get(client, page_url).get_data(as_text=True)
    assert post_form(client, page_url, {"emails": everything, "sms_opt_in": "y"}).status_code == 302
    with tenant.tenant_scope(c.id, db):
        choice = preferences.get(db, me.id)
        assert choice.sms_opt_in is True and choice.email_opt_outs == []
        assert preferences.sms_number(db, me.id, choice) == "+2348030000001"
    with tenant.tenant_scope(factories.client(db).id, db):  # another tenant does not see the row
        assert preferences.get(db, me.id) is None
