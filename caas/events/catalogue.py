"""What people are told when something happens: the templates' configuration and the routing table
from event type to audience and template. Pure data; ``caas.events.notify`` acts on it.

Each template has e-mail files ``templates/email/notifications/<key>.txt`` and ``.html``; the subject,
the in-app notice and the SMS text are short Jinja strings here, rendered with the same context.

``required`` is the legal line: a borrower cannot opt out of a required message (decisions on their
application, repayment reminders, missed payments). Every other borrower e-mail is optional and can
be turned off on the borrower's preferences page. Staff (provider users, client and platform admins)
have no preferences: their messages are part of their work.
"""
from __future__ import annotations

from dataclasses import dataclass

BORROWER = "borrower"
PROVIDER = "provider"
CLIENT_ADMIN = "client_admin"
PLATFORM_ADMIN = "platform_admin"
STAFF = "staff"  # client and platform admins alike

EMAIL, SMS, IN_APP = "email", "sms", "in_app"
CHANNELS = (EMAIL, SMS, IN_APP)


@dataclass(frozen=True)
class Template:
    key: str
    audience: str  # who it is written for
    title: str  # for people: the preferences page, the message log
    subject: str  # Jinja
    required: bool = False  # a borrower cannot opt out of it
    email: bool = True
    notice: str | None = None  # the in-app text (Jinja); None where the domain writes its own notice already
    sms: str | None = None  # the SMS text (Jinja), for borrowers who opted in to SMS
    link: str | None = None  # where the message points (Jinja): borrower paths are relative to the portal

    @property
    def optional(self) -> bool:
        """A borrower may turn its e-mail off."""
        return self.audience == BORROWER and not self.required


TEMPLATES: dict[str, Template] = {t.key: t for t in (
    # --- borrowers
    Template("application_received", BORROWER, "Application received",
             "We received your application to {{ client.display_name }}",
             link="/applications/{{ application.id }}"),
    Template("decision", BORROWER, "Decision on your application",
             "{% if approved %}Your application to {{ client.display_name }} is approved"
             "{% else %}The decision on your application to {{ client.display_name }}{% endif %}",
             required=True, link="/applications/{{ application.id }}"),
    Template("offer_received", BORROWER, "New offers from lenders",
             "New offer from {{ offer.provider.legal_name }}: {{ offer.amount_minor | money(offer.currency) }}",
             link="/applications/{{ application.id }}"),
    Template("disbursement", BORROWER, "Your loan is paid out",
             "{{ payout.amount_minor | money(payout.currency) }} is on its way to your bank account",
             link="/loans/{{ loan.id }}"),
    Template("repayment_due", BORROWER, "Repayment reminders",
             "Reminder: {{ amount_minor | money(currency) }} is due on {{ due_date | day }}",
             required=True, link="/loans/{{ loan.id }}",
             sms="{{ client.display_name }}: instalment {{ instalment }} of {{ amount_minor | money(currency) }} "
                 "is due on {{ due_date | day }}. Pay at {{ url }}"),
    Template("repayment_received", BORROWER, "Payment receipts",
             "We received your payment of {{ repayment.amount_minor | money(repayment.currency) }}",
             notice="We received your payment of {{ repayment.amount_minor | money(repayment.currency) }}. Thank you!",
             link="/loans/{{ loan.id }}"),
    Template("missed_payment", BORROWER, "Missed payments",
             "Missed payment: {{ amount_minor | money(currency) }} was due on {{ due_date | day }}",
             required=True, link="/loans/{{ loan.id }}"),
    # --- provider users
    Template("bid_won", PROVIDER, "Offer accepted",
             "Your offer was accepted: a loan of {{ bid.amount_minor | money(bid.currency) }}",
             link="/provider/bids?status=accepted"),
    Template("bid_lost", PROVIDER, "Offer not accepted",
             "Your offer of {{ bid.amount_minor | money(bid.currency) }} was not accepted",
             link="/provider/bids?status=rejected"),
    Template("provider_repayment_received", PROVIDER, "Repayment received",
             "Repayment received: {{ repayment.amount_minor | money(repayment.currency) }} on loan {{ loan_ref }}",
             notice="Repayment of {{ repayment.amount_minor | money(repayment.currency) }} received on loan "
                    "{{ loan_ref }} ({{ client.display_name }}).",
             link="/provider/portfolio"),
    # --- client admins (and platform admins where routed)
    Template("quota_warning", CLIENT_ADMIN, "Quota warning",
             "{{ client.display_name }} has used {{ percent }}% of its {{ quota }}",
             notice="{{ client.display_name }} has used {{ used }} of {{ limit }} {{ quota }} ({{ percent }}%) "
                    "{{ period }}.",
             link="/admin/"),
    Template("invoice_issued", CLIENT_ADMIN, "Invoice issued",
             "Invoice {{ invoice.number }} from CaaS: {{ invoice.total_minor | money(invoice.currency) }}",
             notice="Invoice {{ invoice.number }} of {{ invoice.total_minor | money(invoice.currency) }} was issued"
                    "{% if invoice.due_date %}; due on {{ invoice.due_date | day }}{% endif %}.",
             link="{{ invoice.path or '/admin/' }}"),
    Template("endpoint_disabled", CLIENT_ADMIN, "Webhook endpoint disabled",
             "Webhook endpoint disabled: {{ endpoint_url }}",
             notice="The webhook endpoint {{ endpoint_url }} of {{ client.display_name }} was disabled after 3 days of "
                    "failed deliveries.",
             link="/admin/clients/{{ client.id }}/webhooks/{{ endpoint_id }}/deliveries"),
    Template("application_referred", STAFF, "Application referred", "Application {{ ref }} needs a review",
             email=False,
             notice="Application {{ ref }} of {{ client.display_name }} was referred for review: {{ why }}.",
             link="/admin/clients/{{ client.id }}/applications/{{ application.id }}"),
)}


@dataclass(frozen=True)
class Route:
    recipients: str  # a resolver in caas.events.notify.RECIPIENTS
    template: str
    channels: tuple[str, ...] = CHANNELS  # the channels this route may use (the template decides which it has)


# The one place that says who hears of what. Domain events arrive through the outbox's dispatch
# job; the others (quota.warning, webhook.endpoint.disabled, credit.application.referred) are sent
# with ``caas.events.notify.send``.
ROUTES: dict[str, tuple[Route, ...]] = {
    "credit.application.submitted": (Route("borrower", "application_received"),),
    "credit.application.approved": (Route("borrower", "decision"),),
    "credit.application.declined": (Route("borrower", "decision"),),
    "credit.application.referred": (Route("client_admins", "application_referred"),
                                    Route("platform_admins", "application_referred")),
    "credit.offer.received": (Route("borrower", "offer_received"),),
    "credit.offer.accepted": (Route("winning_provider", "bid_won"), Route("losing_providers", "bid_lost")),
    "credit.disbursement.completed": (Route("borrower", "disbursement"),),
    "credit.repayment.due": (Route("borrower", "repayment_due"),),
    "credit.repayment.received": (Route("borrower", "repayment_received"),
                                  Route("loan_provider", "provider_repayment_received")),
    "credit.repayment.missed": (Route("borrower", "missed_payment"),),
    "billing.invoice.issued": (Route("client_admins", "invoice_issued"),),
    "quota.warning": (Route("client_admins", "quota_warning"),),
    "webhook.endpoint.disabled": (Route("client_admins", "endpoint_disabled"),
                                  Route("platform_admins", "endpoint_disabled", channels=(IN_APP,))),
}


def borrower_templates() -> list[Template]:
    return [t for t in TEMPLATES.values() if t.audience == BORROWER]


def optional_keys() -> set[str]:
    return {t.key for t in TEMPLATES.values() if t.optional}
