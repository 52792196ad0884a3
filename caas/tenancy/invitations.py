"""One-time account links, e-mailed: an invitation (set a first password), a password reset, or
an e-mail verification. Only the token's SHA-256 is stored; the token is made by the sending job."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from caas.core import security, tenant
from caas.core.errors import DomainError
from caas.events import outbox
from caas.tenancy.models import Invitation, Role, User

VALID_FOR = {"invite": timedelta(days=7), "reset": timedelta(hours=1), "verify": timedelta(days=7)}
UNUSABLE_PASSWORD = "!invited"  # not an Argon2 hash: no password verifies against it


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(session: Session, user: User, purpose: str = "invite") -> Invitation:
    """Create the link and queue its e-mail (sent after commit)."""
    invitation = Invitation(id=uuid.uuid4(), client_id=user.client_id, user_id=user.id, purpose=purpose,
                            expires_at=datetime.now(timezone.utc) + VALID_FOR[purpose])
    session.add(invitation)
    session.flush()
    outbox.enqueue_job(session, "caas.tenancy.jobs.send_invitation", queue="default",
                       args=[str(invitation.id)], job_id=f"invitation-{invitation.id}", client_id=user.client_id)
    return invitation


def request_reset(session: Session, email: str, *, client_id: uuid.UUID | None) -> None:
    """Send a reset link if the account exists. Says nothing either way (the caller shows one message)."""
    email = email.strip().lower()
    if client_id is not None:  # a borrower of this client (its tenant is in scope)
        user = session.scalar(select(User).where(User.role == Role.borrower, func.lower(User.email) == email))
    else:
        row = session.execute(text("SELECT * FROM caas_staff_login(:e)"), {"e": email}).first()
        user = None
        if row is not None:
            tenant.set_tenant(row.client_id, session)
            user = session.get(User, row.id)
    if user is not None and user.is_active:
        invite(session, user, "reset")


def issue_token(invitation: Invitation) -> str:
    """Give the link a fresh token; only its hash is stored. Returns the token for the e-mail."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = token_hash(token)
    invitation.sent_at = datetime.now(timezone.utc)
    return token


def find(session: Session, token: str, purposes: tuple[str, ...] = ("invite", "reset")) -> Invitation:
    """The usable link for ``token``, with its tenant set; DomainError otherwise."""
    row = session.execute(text("SELECT * FROM caas_invitation_lookup(:h)"), {"h": token_hash(token)}).first()
    if row is None or row.purpose not in purposes:
        raise DomainError("invitation_invalid", "This link is not valid.")
    if row.used_at is not None:
        raise DomainError("invitation_used", "This link has already been used. Log in instead.")
    if row.expires_at < datetime.now(timezone.utc):
        raise DomainError("invitation_expired", "This link has expired. Ask for a new one.")
    tenant.set_tenant(row.client_id, session)
    return session.get(Invitation, row.id)


def accept(session: Session, token: str, password: str) -> User:
    """Set the user's password from an invitation or reset link, and spend the link."""
    from caas.tenancy.operations import check_password_strength

    invitation = find(session, token)
    check_password_strength(password, invitation.user.email)
    user = invitation.user
    user.password_hash = security.hash_password(password)
    invitation.used_at = datetime.now(timezone.utc)
    if invitation.purpose == "invite":
        user.email_verified_at = user.email_verified_at or invitation.used_at  # the link proved the address
    session.flush()
    return user


def verify_email(session: Session, token: str) -> User:
    invitation = find(session, token, ("verify",))
    invitation.used_at = datetime.now(timezone.utc)
    invitation.user.email_verified_at = invitation.used_at
    session.flush()
    return invitation.user
