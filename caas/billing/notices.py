"""What billing tells client admins by e-mail: quota warnings (invoices issued are told from the
``billing.invoice.issued`` event)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.billing.models import QuotaWarning
from caas.billing.periods import Period
from caas.tenancy.models import Client, Role, Status, User


def client_admins(session: Session, client_id) -> list[User]:  # noqa: ANN001
    return list(session.scalars(select(User).where(User.client_id == client_id, User.role == Role.client_admin,
                                                   User.status == Status.active)))


def quota_warning_text(client: Client, warning: QuotaWarning) -> tuple[str, str]:
    period = Period.parse(warning.period)
    if warning.level >= 100:
        subject = f"{client.display_name}: monthly application quota reached"
        lead = (f"{client.display_name} has used all {warning.limit:,} applications its plan allows in "
                f"{period.label()}. New applications are refused until {period.end.strftime('%-d %B %Y')}, "
                f"unless the platform lifts the quota for this month.")
    else:
        subject = f"{client.display_name}: {warning.level}% of the monthly application quota used"
        lead = (f"{client.display_name} has used {warning.used:,} of the {warning.limit:,} applications its plan "
                f"allows in {period.label()}. At {warning.limit:,} new applications are refused until "
                f"{period.end.strftime('%-d %B %Y')}.")
    return subject, f"Hello,\n\n{lead}\n\nTo raise the quota, change the plan or ask us for an override.\n\nCaaS\n"


def quota_warning_mail(session: Session, warning: QuotaWarning) -> str:
    from caas.events import mail

    client = session.get(Client, warning.client_id)
    subject, body = quota_warning_text(client, warning)
    admins = client_admins(session, warning.client_id)
    for admin in admins:
        mail.send(admin.email, subject, body)
    return f"sent {len(admins)}"
