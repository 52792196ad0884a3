"""Two-factor operations on the database: enrolment, codes good once, recovery codes, encryption
at rest, who may turn it off, and the audit trail."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from sqlalchemy import select, text

from caas.audit.models import AuditEntry
from caas.core import tenant
from caas.core.errors import DomainError
from caas.tenancy import two_factor
from tests import factories

T0 = datetime(2026, 11, 22, 9, 0, 15, tzinfo=timezone.utc)
SYSTEM = factories.SYSTEM


def code(secret: str, seconds: int = 0) -> str:
    return pyotp.TOTP(secret).at(T0 + timedelta(seconds=seconds))


def actions(db, user_id) -> list[str]:
    return list(db.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(user_id),
                                                           AuditEntry.action.like("two_factor.%"))
                           .order_by(AuditEntry.id)))


@pytest.fixture
def lender(db):
    """A provider user (two-factor optional), enrolled with the factories' secret."""
    return factories.provider_user(db, factories.provider(db), two_factor_on=True)


def test_a_code_is_good_once(db, lender):
    secret = factories.TOTP_SECRET
    assert two_factor.verify(db, SYSTEM, lender, code(secret), T0) == "totp"
    with pytest.raises(DomainError) as replay:
        two_factor.verify(db, SYSTEM, lender, code(secret), T0)
    assert replay.value.code == "code_used" and replay.value.message == two_factor.USED_CODE
    with pytest.raises(DomainError) as earlier:  # the step before is older than the one used
        two_factor.verify(db, SYSTEM, lender, code(secret, -30), T0)
    assert earlier.value.code == "code_used"
    assert two_factor.verify(db, SYSTEM, lender, code(secret, 30), T0) == "totp"  # the next step, once
    with pytest.raises(DomainError):
        two_factor.verify(db, SYSTEM, lender, code(secret, 30), T0 + timedelta(seconds=30))
    assert two_factor.get(db, lender.id).last_used_step == int(T0.timestamp()) // 30 + 1


def test_the_window_is_one_step_either_side(db, lender):
    secret = factories.TOTP_SECRET
    for seconds in (-60, 60):
        with pytest.raises(DomainError) as wrong:
            two_factor.verify(db, SYSTEM, lender, code(secret, seconds), T0)
        assert wrong.value.code == "wrong_code" and wrong.value.field == "code"
    assert two_factor.verify(db, SYSTEM, lender, code(secret, -30), T0) == "totp"  # a slow phone
    assert two_factor.verify(db, SYSTEM, lender, code(secret, 30), T0) == "totp"  # a fast one


def test_a_recovery_code_works_once_and_is_audited(db):
    admin = factories.platform_admin(db, two_factor_on=False)
    codes = two_factor.enable_with_secret(db, SYSTEM, admin, pyotp.random_base32(), T0)
    assert two_factor.verify(db, SYSTEM, admin, codes[3].upper(), T0) == "recovery"  # typed in capitals
    with pytest.raises(DomainError) as again:
        two_factor.verify(db, SYSTEM, admin, codes[3], T0)
    assert again.value.code == "wrong_code"
    assert two_factor.get(db, admin.id).recovery_codes_left == 9
    assert two_factor.verify(db, SYSTEM, admin, codes[4], T0) == "recovery"
    assert actions(db, admin.id) == ["two_factor.enabled", "two_factor.recovery_used", "two_factor.recovery_used"]
    left = db.scalars(select(AuditEntry.after).where(AuditEntry.action == "two_factor.recovery_used",
                                                     AuditEntry.target_id == str(admin.id))
                      .order_by(AuditEntry.id)).all()
    assert [entry["left"] for entry in left] == [9, 8]


def test_new_recovery_codes_replace_the_old_ones(db, lender):
    old = two_factor.enable_with_secret(db, SYSTEM, lender, factories.TOTP_SECRET, T0)
    new = two_factor.regenerate_recovery_codes(db, SYSTEM, lender, T0)
    assert not set(old) & set(new) and len(new) == 10
    with pytest.raises(DomainError):
        two_factor.verify(db, SYSTEM, lender, old[0], T0)
    assert two_factor.verify(db, SYSTEM, lender, new[0], T0) == "recovery"
    assert actions(db, lender.id)[-3:] == ["two_factor.enabled", "two_factor.recovery_regenerated",
                                           "two_factor.recovery_used"]


def test_the_secret_and_the_recovery_codes_are_not_stored_readable(db):
    c = factories.client(db)
    admin = factories.client_admin(db, c, two_factor_on=False)
    secret = pyotp.random_base32()
    with tenant.tenant_scope(c.id, db):
        codes = two_factor.enable_with_secret(db, SYSTEM, admin, secret, T0)
        row = db.execute(text("SELECT secret_ciphertext, recovery_code_hashes::text AS hashes, client_id "
                              "FROM user_two_factor WHERE user_id = :u"), {"u": admin.id}).one()
    assert secret not in row.secret_ciphertext and secret.lower() not in row.secret_ciphertext.lower()
    assert two_factor.secret_of(two_factor.TwoFactor(secret_ciphertext=row.secret_ciphertext)) == secret
    assert not any(c_.replace("-", "") in row.hashes or c_ in row.hashes for c_ in codes)
    assert two_factor.recovery_hash(codes[0]) in row.hashes
    assert row.client_id == c.id
    # the row is the tenant's: invisible without it
    assert db.execute(text("SELECT count(*) FROM user_two_factor WHERE user_id = :u"), {"u": admin.id}).scalar() == 0


def test_enrolment_keeps_its_secret_until_the_first_code_confirms_it(db, lender):
    borrower = factories.borrower(db, factories.client(db))
    with tenant.tenant_scope(borrower.client_id, db):
        first = two_factor.secret_of(two_factor.begin_enrolment(db, borrower, T0))
        assert two_factor.secret_of(two_factor.begin_enrolment(db, borrower, T0)) == first  # a reload: same QR
        assert not two_factor.enabled(db, borrower)
        with pytest.raises(DomainError) as wrong:
            two_factor.confirm_enrolment(db, SYSTEM, borrower, code(pyotp.random_base32()), T0)
        assert wrong.value.field == "code" and not two_factor.enabled(db, borrower)
        codes = two_factor.confirm_enrolment(db, SYSTEM, borrower, code(first), T0)
        assert len(codes) == 10 and two_factor.enabled(db, borrower)
        with pytest.raises(DomainError):  # the code that confirmed it is spent
            two_factor.verify(db, SYSTEM, borrower, code(first), T0)
        with pytest.raises(DomainError):
            two_factor.begin_enrolment(db, borrower, T0)
        assert actions(db, borrower.id) == ["two_factor.enabled"]


def test_only_the_optional_roles_may_turn_it_off_and_only_with_a_current_code(db, lender):
    admin = factories.platform_admin(db)
    with pytest.raises(DomainError) as refused:
        two_factor.disable(db, SYSTEM, admin, code(factories.TOTP_SECRET), T0)
    assert refused.value.code == "two_factor_required" and two_factor.enabled(db, admin)
    recovery = two_factor.regenerate_recovery_codes(db, SYSTEM, lender, T0)
    with pytest.raises(DomainError):  # a recovery code is not enough
        two_factor.disable(db, SYSTEM, lender, recovery[0], T0)
    with pytest.raises(DomainError):
        two_factor.disable(db, SYSTEM, lender, code(factories.TOTP_SECRET, 90), T0)
    assert two_factor.enabled(db, lender)
    two_factor.disable(db, SYSTEM, lender, code(factories.TOTP_SECRET), T0)
    assert two_factor.get(db, lender.id) is None
    assert actions(db, lender.id)[-1] == "two_factor.disabled"


def test_factories_enrol_admins_and_not_the_others(db):
    c = factories.client(db)
    people = [factories.platform_admin(db), factories.client_admin(db, c), factories.borrower(db, c),
              factories.provider_user(db, factories.provider(db))]
    staff = [two_factor.enabled(db, p) for p in (people[0], people[3])]
    with tenant.tenant_scope(c.id, db):
        tenant_people = [two_factor.enabled(db, p) for p in people[1:3]]
    assert staff == [True, False] and tenant_people == [True, False]
