"""Invitations: a one-time link, e-mailed, that lets an invited user set a password."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import text
from sqlalchemy.orm import Session

from caas.core import security, tenant
from caas.core.errors import DomainError
from caas.events import outbox
from caas.tenancy.models import Invitation, User

VALID_FOR = timedelta(days=7)
UNUSABLE_PASSWORD = "!invited"  # not an Argon2 hash: no password verifies against it


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(session: Session, user: User) -> Invitation:
    """Create the invitation and queue its e-mail (sent after commit). The token is made by the job."""
    invitation = Invitation(id=uuid.uuid4(), client_id=user.client_id, user_id=user.id,
                            expires_at=datetime.now(timezone.utc) + VALID_FOR)
    session.add(invitation)
    session.flush()
    outbox.enqueue_job(session, "caas.tenancy.jobs.send_invitation", queue="default",
                       args=[str(invitation.id)], job_id=f"invitation-{invitation.id}", client_id=user.client_id)
    return invitation


def issue_token(invitation: Invitation) -> str:
    """Give the invitation a fresh token; only its hash is stored. Returns the token for the e-mail."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = token_hash(token)
    invitation.sent_at = datetime.now(timezone.utc)
    return token


def find(session: Session, token: str) -> Invitation:
    """The usable invitation for ``token``, with its tenant set; DomainError otherwise."""
    row = session.execute(text("SELECT * FROM caas_invitation_lookup(:h)"), {"h": token_hash(token)}).first()
    if row is None:
        raise DomainError("invitation_invalid", "This invitation link is not valid.")
    if row.used_at is not None:
        raise DomainError("invitation_used", "This invitation link has already been used. Log in instead.")
    if row.expires_at < datetime.now(timezone.utc):
        raise DomainError("invitation_expired", "This invitation link has expired. Ask for a new one.")
    tenant.set_tenant(row.client_id, session)
    return session.get(Invitation, row.id)


def accept(session: Session, token: str, password: str) -> User:
    """Set the invited user's password and spend the invitation. One use only."""
    from caas.tenancy.operations import check_password_strength

    invitation = find(session, token)
    check_password_strength(password)
    user = invitation.user
    user.password_hash = security.hash_password(password)
    invitation.used_at = datetime.now(timezone.utc)
    session.flush()
    return user
