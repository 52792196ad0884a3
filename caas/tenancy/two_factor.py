"""Two-factor authentication: TOTP codes (RFC 6238) and one-time recovery codes.

Required for platform and client admins (they enrol before their first session starts), optional
for provider users and borrowers. Codes are 6 digits for 30-second time steps; the step before and
the step after the current one are accepted (a phone's clock may be a little off), and a code is
good once: the last step used is stored, and a code of that step or an earlier one is refused.

The TOTP secret must be readable to check codes, so it is stored encrypted (caas.core.secretbox,
key from TOTP_ENCRYPTION_KEY or SECRET_KEY). Ten recovery codes (80 random bits each) are shown
once; only their SHA-256 is kept, and a code is removed when used. Regenerating them replaces the
whole set. Operations flush and never commit; every change is written to the audit log.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime

import pyotp
from sqlalchemy import ARRAY, BigInteger, DateTime, ForeignKey, String, Uuid, func, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from caas.audit.operations import Actor, record
from caas.core.errors import DomainError
from caas.core.extensions import db
from caas.core.secretbox import SecretBox
from caas.tenancy.models import Role, User

PERIOD = 30  # seconds per code (RFC 6238's default, what authenticator apps assume)
DIGITS = 6
VALID_WINDOW = 1  # steps either side of the current one
RECOVERY_CODES = 10
ISSUER = "CaaS"
REQUIRED_FOR = frozenset({Role.platform_admin, Role.client_admin})
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread

WRONG_CODE = "That code is not right. Check that your phone shows the right time, or use a recovery code."
USED_CODE = "That code has already been used. Wait for the next one."

_box = SecretBox("caas-totp-secrets")
configure = _box.configure


class TwoFactor(db.Model):
    """A user's second factor. ``enabled_at`` NULL: enrolment started, the first code not yet typed.
    The row carries the user's client_id (NULL for platform and provider staff) under the same
    row-level security as ``users``."""

    __tablename__ = "user_two_factor"
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("clients.id"), index=True)
    secret_ciphertext: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_code_hashes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list,
                                                            server_default=text("'{}'"))
    recovery_generated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def is_enabled(self) -> bool:
        return self.enabled_at is not None

    @property
    def recovery_codes_left(self) -> int:
        return len(self.recovery_code_hashes or [])


# --- Pure rules ---------------------------------------------------------------------------------

def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits, as RFC 4226 recommends


def step_at(at: datetime) -> int:
    return int(at.timestamp()) // PERIOD


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code ``code`` is, within the window around ``at``; None if none is."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = step_at(at)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(at, counter_offset=offset), code):
            return current + offset
    return None


def provisioning_uri(secret: str, account: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(name=account, issuer_name=ISSUER)


def new_recovery_codes() -> list[str]:
    """Ten codes of 16 characters (80 bits), shown in groups of four: ``abcd-efgh-jkmn-pqrs``."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_hash(code: str) -> str:
    """SHA-256 of the code as typed, without spaces or dashes and in lower case. The codes carry 80
    random bits, so a fast hash is enough: there is nothing to guess from a dictionary."""
    return hashlib.sha256("".join(ch for ch in code.lower() if ch.isalnum()).encode()).hexdigest()


def looks_like_totp(code: str) -> bool:
    return "".join(code.split()).isdigit()


def required_for(user: User) -> bool:
    return user.role in REQUIRED_FOR


# --- Operations ---------------------------------------------------------------------------------

def get(session: Session, user_id: uuid.UUID) -> TwoFactor | None:
    return session.get(TwoFactor, user_id)


def enabled(session: Session, user: User) -> bool:
    row = get(session, user.id)
    return row is not None and row.is_enabled


def secret_of(row: TwoFactor) -> str:
    return _box.decrypt(row.secret_ciphertext)


def begin_enrolment(session: Session, user: User, now: datetime) -> TwoFactor:
    """Start (or resume) enrolment: a new secret, kept until the first code confirms it. An
    unconfirmed secret is reused, so the QR code a person has scanned stays valid."""
    row = get(session, user.id)
    if row is not None and row.is_enabled:
        raise DomainError("two_factor_enabled", "Two-factor authentication is already on.")
    if row is None:
        row = TwoFactor(user_id=user.id, client_id=user.client_id, secret_ciphertext=_box.encrypt(new_secret()),
                        created_at=now)
        session.add(row)
        session.flush()
    return row


def confirm_enrolment(session: Session, actor: Actor, user: User, code: str, now: datetime) -> list[str]:
    """Turn two-factor on with the first code from the app. Returns the recovery codes (shown once).
    The code's step counts as used. Audited as ``two_factor.enabled``."""
    row = get(session, user.id)
    if row is None or row.is_enabled:
        raise DomainError("no_enrolment", "Start setting up two-factor authentication again.", "code")
    step = matching_step(secret_of(row), code, now)
    if step is None:
        raise DomainError("wrong_code", WRONG_CODE, "code")
    row.last_used_step = step
    return _enable(session, actor, user, row, now)


def enable_with_secret(session: Session, actor: Actor, user: User, secret: str, now: datetime) -> list[str]:
    """Enrol with a secret the person already holds, without a first code: for the demo data and
    tests (the secret is printed or known), never a web form. Returns the recovery codes."""
    row = get(session, user.id)
    if row is None:
        row = TwoFactor(user_id=user.id, client_id=user.client_id, created_at=now, secret_ciphertext="")
        session.add(row)
    row.secret_ciphertext = _box.encrypt(secret)
    row.last_used_step = None
    return _enable(session, actor, user, row, now)


def _enable(session: Session, actor: Actor, user: User, row: TwoFactor, now: datetime) -> list[str]:
    codes = new_recovery_codes()
    row.enabled_at = now
    row.recovery_code_hashes = [recovery_hash(c) for c in codes]
    row.recovery_generated_at = now
    session.flush()
    record(session, actor, "two_factor.enabled", client_id=user.client_id, target_type="user", target_id=user.id)
    return codes


def verify(session: Session, actor: Actor, user: User, code: str, now: datetime) -> str:
    """Check a log-in's second factor: a TOTP code, or one of the recovery codes. Returns "totp" or
    "recovery". Each is good once, even for two requests at the same moment: the step (or the
    recovery code) is claimed by one conditional UPDATE. A recovery code used is audited as
    ``two_factor.recovery_used``. Raises DomainError (field ``code``) otherwise."""
    row = get(session, user.id)
    if row is None or not row.is_enabled:
        raise DomainError("two_factor_off", "Two-factor authentication is not on for this account.", "code")
    code = (code or "").strip()
    if looks_like_totp(code):
        step = matching_step(secret_of(row), code, now)
        if step is None:
            raise DomainError("wrong_code", WRONG_CODE, "code")
        claimed = session.execute(
            update(TwoFactor).where(TwoFactor.user_id == user.id,
                                    (TwoFactor.last_used_step.is_(None)) | (TwoFactor.last_used_step < step))
            .values(last_used_step=step).execution_options(synchronize_session=False)).rowcount
        if not claimed:
            raise DomainError("code_used", USED_CODE, "code")
        session.expire(row)
        return "totp"
    digest = recovery_hash(code)
    claimed = session.execute(
        update(TwoFactor).where(TwoFactor.user_id == user.id, TwoFactor.recovery_code_hashes.any(digest))
        .values(recovery_code_hashes=func.array_remove(TwoFactor.recovery_code_hashes, digest))
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        raise DomainError("wrong_code", WRONG_CODE, "code")
    session.expire(row)
    record(session, actor, "two_factor.recovery_used", client_id=user.client_id, target_type="user",
           target_id=user.id, after={"left": get(session, user.id).recovery_codes_left})
    return "recovery"


def regenerate_recovery_codes(session: Session, actor: Actor, user: User, now: datetime) -> list[str]:
    """A new set of recovery codes; the old ones stop working. The caller requires a recent
    password (re-authentication). Audited as ``two_factor.recovery_regenerated``."""
    row = get(session, user.id)
    if row is None or not row.is_enabled:
        raise DomainError("two_factor_off", "Two-factor authentication is not on for this account.")
    codes = new_recovery_codes()
    row.recovery_code_hashes = [recovery_hash(c) for c in codes]
    row.recovery_generated_at = now
    session.flush()
    record(session, actor, "two_factor.recovery_regenerated", client_id=user.client_id, target_type="user",
           target_id=user.id)
    return codes


def disable(session: Session, actor: Actor, user: User, code: str, now: datetime) -> None:
    """Turn two-factor off with a current code from the app (a recovery code is not enough: it may
    be all a thief found). Refused for the roles that require it. Audited as ``two_factor.disabled``."""
    if required_for(user):
        raise DomainError("two_factor_required", "Two-factor authentication is required for administrators.")
    if not looks_like_totp(code or ""):
        raise DomainError("wrong_code", "Enter the 6-digit code from your authenticator app.", "code")
    verify(session, actor, user, code, now)
    session.delete(get(session, user.id))
    session.flush()
    record(session, actor, "two_factor.disabled", client_id=user.client_id, target_type="user", target_id=user.id)
