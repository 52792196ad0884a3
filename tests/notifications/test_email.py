"""E-mail (and SMS) notifications end to end: the domain does its work and commits, the events worker
runs the dispatch and send jobs, and a real SMTP server (aiosmtpd) on 127.0.0.1 receives what people
are told — checked by recipient, subject, both parts and the amounts as people read them."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from caas.audit.operations import Actor
from caas.core import tenant
from caas.core.errors import DomainError
from caas.credit import applications, consents, decisions, profiles
from caas.credit.applications import Terms
from caas.credit.models import ApplicationStatus as S, Notification
from caas.events import catalogue, jobs, mail, notify, outbox, preferences
from caas.events.models import NotificationMessage, OutboxMessage, SmsMessage
from caas.loans import servicing
from caas.loans.models import LoanInstallment
from caas.market.models import Bid
from caas.money import describe
from tests import factories
from tests.market.world import profile_input
from tests.notifications.conftest import (accept_and_pay_out, applied, mails_to, pay_instalment, sent_log,
                                          subjects_to)
from tests.webhooks.conftest import free_port

FIRST_DUE = date(2026, 12, 22)  # paid out on 2026-11-22, monthly


def parts(message) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def test_the_marketplace_journey_tells_each_person_what_concerns_them(db, smtp, run_events, sandbox):
    world = accept_and_pay_out(db, applied(db))
    run_events()
    c, b = world.client, world.borrower
    assert sorted(subjects_to(smtp, b.email)) == sorted([
        f"We received your application to {c.display_name}",
        f"New offer from {world.loser.legal_name}: 250,000.00 NGN",
        f"New offer from {world.winner.legal_name}: 250,000.00 NGN",
        "247,500.00 NGN is on its way to your bank account",  # 250,000.00 less the 2,500.00 fee
    ])
    assert subjects_to(smtp, world.winner_email) == ["Your offer was accepted: a loan of 250,000.00 NGN"]
    assert subjects_to(smtp, world.loser_email) == ["Your offer of 250,000.00 NGN was not accepted"]
    assert subjects_to(smtp, world.admin_email) == []
    assert len(smtp.messages) == 6

    (paid_out,) = [m for m in mails_to(smtp, b.email) if "on its way" in m["Subject"]]
    assert paid_out["To"] == b.email and "no-reply@caas.example.com" in paid_out["From"]
    text, html = parts(paid_out)
    assert f"Hello {b.full_name}," in text
    assert "247,500.00 NGN is on its way" in text and "less the origination fee of 2,500.00 NGN" in text
    assert f"http://localhost:5000/c/{c.slug}/loans/{world.loan_id}" in text
    assert f"turn these e-mails off at any time: http://localhost:5000/c/{c.slug}/notifications/preferences" in text
    assert "<strong>247,500.00 NGN</strong>" in html and c.display_name in html
    assert f'href="http://localhost:5000/c/{c.slug}/loans/{world.loan_id}"' in html

    (lost,) = mails_to(smtp, world.loser_email)
    text, html = parts(lost)
    with tenant.tenant_scope(c.id, db):
        losing_bid = db.scalar(select(Bid).where(Bid.provider_id == world.loser.id))
    assert f"your offer of 250,000.00 NGN at {losing_bid.apr:.2f}% APR was not accepted" in text
    assert "because of your role on CaaS" in text and "turn these e-mails off" not in text  # no opt-out for staff
    assert "<strong>250,000.00 NGN</strong>" in html


def test_a_repayment_is_acknowledged_to_the_borrower_and_to_the_lender(db, smtp, run_events, sandbox):
    world = accept_and_pay_out(db, applied(db))
    run_events()
    smtp.messages.clear()
    repayment = pay_instalment(db, world, date(2026, 12, 20))
    run_events()
    amount = describe(repayment.amount_minor, "NGN")
    assert repayment.status == "succeeded" and amount.endswith(" NGN") and "," in amount
    assert subjects_to(smtp, world.borrower_email) == [f"We received your payment of {amount}"]
    assert subjects_to(smtp, world.winner_email) == [f"Repayment received: {amount} on loan {str(world.loan_id)[:8]}"]
    assert subjects_to(smtp, world.loser_email) == []
    text, _ = parts(mails_to(smtp, world.borrower_email)[0])
    assert "Still to repay on this loan:" in text
    # in-app too: the borrower's notice in the tenant, the lender's own without a tenant
    with tenant.tenant_scope(world.client.id, db):
        notice = db.scalar(select(Notification).where(Notification.user_id == world.borrower_id,
                                                      Notification.text.like("We received your payment%")))
        assert notice.text == f"We received your payment of {amount}. Thank you!"
        assert notice.link == f"/loans/{world.loan_id}" and notice.client_id == world.client.id
        assert db.scalar(select(Notification).where(Notification.user_id == world.winner_user.id)) is None
    (lender_notice,) = db.scalars(select(Notification).where(Notification.user_id == world.winner_user.id)).all()
    assert lender_notice.client_id is None and amount in lender_notice.text


def test_due_reminders_go_by_email_to_all_and_by_sms_only_to_borrowers_who_opted_in(db, smtp, run_events, sandbox):
    opted = accept_and_pay_out(db, applied(db))
    other = accept_and_pay_out(db, applied(db, opted.client, name="Bola Ade"))
    with tenant.tenant_scope(opted.client.id, db):
        preferences.save(db, opted.borrower_id, opted.client.id, emails_off=[], sms_opt_in=True)
        db.commit()
        due = db.get(LoanInstallment, (opted.loan_id, 1)).total_minor
    run_events()
    smtp.messages.clear()

    servicing.service(db, date(2026, 12, 19))  # 3 days before the first due date
    run_events()
    reminder = f"Reminder: {describe(due, 'NGN')} is due on 22 Dec 2026"
    assert subjects_to(smtp, opted.borrower_email) == [reminder]
    assert subjects_to(smtp, other.borrower_email) == [reminder]  # the same loan terms
    with tenant.tenant_scope(opted.client.id, db):
        (sms,) = db.scalars(select(SmsMessage)).all()
        (logged,) = db.scalars(select(NotificationMessage).where(NotificationMessage.channel == "sms")).all()
    assert logged.user_id == opted.borrower_id and logged.status == "sent"
    assert logged.external_id == f"sandbox-{sms.id}" and sms.reference == str(logged.id)
    assert sms.to_phone == "+2348031234567"
    assert sms.body == (f"{opted.client.display_name}: instalment 1 of {describe(due, 'NGN')} is due on 22 Dec 2026. "
                        f"Pay at http://localhost:5000/c/{opted.client.slug}/loans/{opted.loan_id}")

    smtp.messages.clear()
    servicing.service(db, date(2026, 12, 23))  # not paid: missed (an e-mail; SMS is for reminders)
    run_events()
    assert [s.split(":")[0] for s in subjects_to(smtp, opted.borrower_email)] == ["Missed payment"]
    assert "was due on 22 Dec 2026" in subjects_to(smtp, opted.borrower_email)[0]
    with tenant.tenant_scope(opted.client.id, db):
        assert len(db.scalars(select(SmsMessage)).all()) == 1


def test_an_opted_out_borrower_gets_no_optional_email_but_every_required_one(db, smtp, run_events, sandbox):
    world = applied(db)
    with tenant.tenant_scope(world.client.id, db):
        preferences.save(db, world.borrower_id, world.client.id, emails_off=sorted(catalogue.optional_keys()),
                         sms_opt_in=False)
        db.commit()
    accept_and_pay_out(db, world)
    run_events()
    # application received, offers and the payout are optional: none was e-mailed, none was logged
    assert subjects_to(smtp, world.borrower_email) == []
    assert sent_log(db, world.client.id, user_id=world.borrower_id, channel="email") == []
    assert subjects_to(smtp, world.winner_email) != []  # others are not affected
    with tenant.tenant_scope(world.client.id, db):  # the portal still shows what happened
        texts = db.scalars(select(Notification.text).where(Notification.user_id == world.borrower_id)).all()
    assert any("new offer" in t for t in texts)

    servicing.service(db, date(2026, 12, 19))
    run_events()
    assert [s.split(":")[0] for s in subjects_to(smtp, world.borrower_email)] == ["Reminder"]
    text, html = parts(mails_to(smtp, world.borrower_email)[0])
    assert "We must send you this message by law" in text and "cannot be turned off" in html
    with tenant.tenant_scope(world.client.id, db):
        with pytest.raises(DomainError, match="cannot be turned off"):
            preferences.save(db, world.borrower_id, world.client.id, emails_off=["repayment_due"], sms_opt_in=False)


def _referred(db, client, borrower) -> uuid.UUID:
    with tenant.tenant_scope(client.id, db):
        profiles.save(db, borrower, client, profile_input(), date(2026, 11, 1))
        application = applications.start(db, borrower.id, client.id)
        applications.set_terms(db, application, Terms(250_000_00, "NGN", 12, "business expansion"), date(2026, 11, 22))
        applications.confirm_income(db, application, True)
        consents.grant(db, borrower.id, client.id, ["data_processing", "credit_check"], "127.0.0.1")
        applications.submit(db, application)
        applications.transition(db, application, S.screening)
        applications.transition(db, application, S.referred)
        db.flush()
        return application.id


@pytest.mark.parametrize("outcome", ["approve", "decline"])
def test_a_decision_is_required_and_tells_the_outcome(db, smtp, run_events, outcome):
    client = factories.client(db)
    admin = factories.client_admin(db, client)
    borrower = factories.borrower(db, client)
    application_id = _referred(db, client, borrower)
    with tenant.tenant_scope(client.id, db):
        preferences.save(db, borrower.id, client.id, emails_off=sorted(catalogue.optional_keys()), sms_opt_in=False)
        decisions.review_referral(db, Actor(admin.id, "client_admin"), application_id, outcome,
                                  "Income could not be verified" if outcome == "decline" else "Payslips checked")
        db.commit()
    run_events()
    (decision,) = mails_to(smtp, borrower.email)  # not the optional "application received"
    text, html = parts(decision)
    if outcome == "decline":
        assert decision["Subject"] == f"The decision on your application to {client.display_name}"
        assert "cannot approve your application for 250,000.00 NGN" in text
        assert "  - Income could not be verified" in text and "<li>Income could not be verified</li>" in html
    else:
        assert decision["Subject"] == f"Your application to {client.display_name} is approved"
        assert "your application for 250,000.00 NGN over 12 months is approved" in text
        assert "<strong>approved</strong>" in html and "Payslips" not in text


def test_routing_or_sending_twice_sends_each_message_once(db, smtp, run_events):
    world = applied(db)
    run_events()
    assert len(smtp.messages) == 3  # application received, two offers
    with tenant.tenant_scope(world.client.id, db):
        submitted = db.scalar(select(OutboxMessage).where(OutboxMessage.event_type == "credit.application.submitted"))
        # RQ delivers at least once: the dispatch runs again, then every send job runs again
        assert jobs.dispatch_event(str(submitted.id)) == "credit.application.submitted"
    run_events()
    rows = sent_log(db, world.client.id, channel="email")
    assert len(rows) == 3 and {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
    with tenant.tenant_scope(world.client.id, db):
        for row in rows:
            assert jobs.send_notification(str(row.id)) == "not claimed (sent)"
    assert len(smtp.messages) == 3
    assert len(subjects_to(smtp, world.borrower_email)) == 3


def test_a_failed_send_is_retried_and_then_sent_once(db, smtp, run_events, monkeypatch):
    world = applied(db)
    run_events()
    assert len(smtp.messages) == 3
    with tenant.tenant_scope(world.client.id, db):
        data = applications.serialise(applications.get(db, world.application_id))
        again = outbox.record_event(db, world.client.id, "credit.application.submitted", data)  # a second event
        db.commit()
        port = mail.settings.smtp_port
        monkeypatch.setattr(mail.settings, "smtp_port", free_port())  # the SMTP server is down
        jobs.dispatch_event(str(again.id))
        (row,) = [r for r in sent_log(db, world.client.id, channel="email") if r.status == "pending"]
        with pytest.raises(OSError):
            jobs.send_notification(str(row.id))
        failed = db.get(NotificationMessage, row.id, populate_existing=True)
        assert (failed.status, failed.attempts) == ("pending", 1) and failed.last_error
        monkeypatch.setattr(mail.settings, "smtp_port", port)
        assert jobs.send_notification(str(row.id)) == "sent"
        assert jobs.send_notification(str(row.id)) == "not claimed (sent)"
    assert len(smtp.messages) == 4


def test_billing_warns_client_admins_of_a_quota_once_per_key(db, smtp, run_events):
    client, other = factories.client(db), factories.client(db)
    admins = [factories.client_admin(db, client) for _ in range(2)]
    outsider = factories.client_admin(db, other)
    data = {"quota": "applications this month", "used": 80, "limit": 100, "percent": 80,
            "period": "in November 2026"}
    for _ in range(2):  # the billing run repeated: the same key
        notify.send(db, "quota.warning", client_id=client.id, data=data, key=f"{client.id}-2026-11-80")
        db.commit()
    run_events()
    assert sorted(r for _, rcpt, _ in smtp.messages for r in rcpt) == sorted(a.email for a in admins)
    assert subjects_to(smtp, outsider.email) == []
    message = mails_to(smtp, admins[0].email)[0]
    assert message["Subject"] == f"{client.display_name} has used 80% of its applications this month"
    text, html = parts(message)
    assert f"{client.display_name} has used 80 of its 100 applications this month (80%) in November 2026." in text
    assert "<strong>80 of its 100 applications this month</strong>" in html
    with tenant.tenant_scope(client.id, db):
        assert len(db.scalars(select(Notification).where(
            Notification.user_id.in_([a.id for a in admins]))).all()) == 2
    with pytest.raises(ValueError, match="no route"):
        notify.send(db, "quota.exceeded", client_id=client.id, data={})


def test_an_issued_invoice_event_is_emailed_to_the_client_admins(db, smtp, run_events):
    client = factories.client(db)
    admin = factories.client_admin(db, client)
    with tenant.tenant_scope(client.id, db):
        outbox.record_event(db, client.id, "billing.invoice.issued", {
            "id": str(uuid.uuid4()), "object": "invoice", "number": "INV-2026-000042", "total_minor": 123456789,
            "currency": "NGN", "due_date": "2026-12-15", "period": "November 2026"})
        db.commit()
    run_events()
    (message,) = mails_to(smtp, admin.email)
    assert message["Subject"] == "Invoice INV-2026-000042 from CaaS: 1,234,567.89 NGN"
    text, _ = parts(message)
    assert "(November 2026) is issued: 1,234,567.89 NGN, due on 15 Dec 2026." in text


def test_a_referral_is_shown_to_client_and_platform_admins_in_app_only(db, smtp, run_events):
    client = factories.client(db)
    admin, platform = factories.client_admin(db, client), factories.platform_admin(db)
    borrower = factories.borrower(db, client)
    application_id = _referred(db, client, borrower)
    notify.send(db, "credit.application.referred", client_id=client.id,
                data={"application_id": str(application_id), "why": "a possible sanctions match"},
                key=str(application_id))
    db.commit()
    run_events()
    assert subjects_to(smtp, admin.email) == []  # in-app only: the template has no e-mail
    expected = (f"Application {str(application_id)[:8]} of {client.display_name} was referred for review: "
                f"a possible sanctions match.")
    with tenant.tenant_scope(client.id, db):
        notice = db.scalar(select(Notification).where(Notification.user_id == admin.id))
    assert notice.text == expected and notice.link == f"/admin/clients/{client.id}/applications/{application_id}"
    (mine,) = db.scalars(select(Notification).where(Notification.user_id == platform.id)).all()
    assert mine.text == expected and mine.client_id is None
    logged = sent_log(db, client.id, template="application_referred") + sent_log(db, None, user_id=platform.id)
    assert sorted((r.user_id, r.channel) for r in logged) == sorted([(admin.id, "in_app"), (platform.id, "in_app")])
