"""A borrower's notification preferences: optional e-mails they turned off, and SMS reminders.

Which messages are optional is stated in ``caas.events.catalogue`` (``required``); this module only
keeps the choices and refuses to turn a required message off.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy.orm import Session

from caas.core import tenant
from caas.core.errors import DomainError
from caas.credit import profiles
from caas.events.catalogue import TEMPLATES, Template, optional_keys
from caas.events.models import NotificationPreference


def get(session: Session, user_id: uuid.UUID) -> NotificationPreference | None:
    return tenant.get_visible(session, NotificationPreference, user_id)


def opted_out(preference: NotificationPreference | None, template: Template) -> bool:
    """Whether the borrower turned this e-mail off. A required message is never turned off."""
    return preference is not None and template.optional and template.key in (preference.email_opt_outs or [])


def sms_number(session: Session, user_id: uuid.UUID, preference: NotificationPreference | None) -> str | None:
    """The number to text, when the borrower opted in and has one on their profile."""
    if preference is None or not preference.sms_opt_in:
        return None
    profile = profiles.get(session, user_id)
    return profile.phone if profile is not None and profile.phone else None


def save(session: Session, user_id: uuid.UUID, client_id: uuid.UUID, *, emails_off: Iterable[str],
         sms_opt_in: bool) -> NotificationPreference:
    """Keep the borrower's choices (the tenant in scope). Refuses to turn off a required message,
    and SMS without a phone number on the profile. Flushes."""
    off = set(emails_off)
    unknown = sorted(off - set(TEMPLATES))
    if unknown:
        raise DomainError("unknown_message", f"There is no message called {unknown[0]}.", "emails")
    required = sorted(off - optional_keys())
    if required:
        title = TEMPLATES[required[0]].title
        raise DomainError("required_message", f"{title}: we must send these by law, so they cannot be turned off.",
                          "emails")
    if sms_opt_in:
        profile = profiles.get(session, user_id)
        if profile is None or not profile.phone:
            raise DomainError("phone_required", "Add your phone number to your profile first.", "sms_opt_in")
    preference = get(session, user_id)
    if preference is None:
        preference = NotificationPreference(user_id=user_id, client_id=client_id)
        session.add(preference)
    preference.email_opt_outs = sorted(off)
    preference.sms_opt_in = bool(sms_opt_in)
    preference.updated_at = datetime.now(timezone.utc)
    session.flush()
    return preference
