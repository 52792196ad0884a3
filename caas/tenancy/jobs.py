"""Jobs of the tenancy area. Each takes ids, reloads state, and is safe to run twice."""
from __future__ import annotations

import uuid

from flask import current_app, render_template
from sqlalchemy import select

from caas.core.extensions import db
from caas.events import mail
from caas.tenancy import invitations
from caas.tenancy.models import Invitation, Role


def send_invitation(invitation_id: str) -> str:
    """E-mail the invitation link. A second run after a successful send does nothing."""
    # Locked until the commit after sending: a second delivery at once waits, then finds it sent.
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == uuid.UUID(invitation_id))
                                   .with_for_update(of=Invitation))
    if invitation is None:
        return "missing"
    if invitation.sent_at is not None or invitation.used_at is not None:
        return "already sent"
    token = invitations.issue_token(invitation)
    user = invitation.user
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    portal = f"/c/{user.client.slug}" if user.role == Role.borrower else ""
    path = {"invite": "/invite", "reset": f"{portal}/reset", "verify": f"{portal}/verify"}[invitation.purpose]
    link = f"{base}{path}/{token}"
    where = user.client.display_name if user.client else (user.provider.legal_name if user.provider else "CaaS")
    context = {"user": user, "link": link, "where": where, "role": user.role.value.replace("_", " "),
               "expires_at": invitation.expires_at, "is_provider": user.role == Role.provider_user}
    subject = {"invite": f"You are invited to {where} on CaaS", "reset": f"Reset your {where} password",
               "verify": f"Confirm your e-mail for {where}"}[invitation.purpose]
    template = {"invite": "invitation", "reset": "reset", "verify": "verify"}[invitation.purpose]
    db.session.flush()
    # Send, then commit: if sending fails nothing is marked sent and the retry sends a new link; if
    # the commit fails after sending, that link is dead and the retry sends a working one.
    mail.send(user.email, subject, render_template(f"email/{template}.txt", **context),
              render_template(f"email/{template}.html", **context))
    db.session.commit()
    return "sent"
