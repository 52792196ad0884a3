"""Two-factor on the web: the code step after the password, admins' mandatory enrolment, recovery
codes, throttling, and the settings pages of the optional roles."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from sqlalchemy import select

from caas.audit.models import AuditEntry
from caas.core import clock, tenant
from caas.core.errors import DomainError
from caas.tenancy import two_factor
from caas.tenancy.sessions import UserSession
from tests import factories
from tests.helpers import enrol, field_errors, get, login, post_form, second_factor

T0 = datetime(2026, 11, 22, 9, 0, 15, tzinfo=timezone.utc)


def password_step(client, email: str, path: str = "/login"):
    return post_form(client, path, {"email": email, "password": factories.PASSWORD})


def open_sessions(db, user_id) -> int:
    return len(db.scalars(select(UserSession).where(UserSession.user_id == user_id,
                                                    UserSession.ended_at.is_(None))).all())


def test_an_admin_without_two_factor_must_enrol_before_any_admin_page(client, db):
    admin = factories.platform_admin(db, two_factor_on=False)
    db.commit()
    answer = password_step(client, admin.email)
    assert answer.status_code == 302 and answer.headers["Location"] == "/login/two-factor"
    assert open_sessions(db, admin.id) == 0  # nobody is logged in yet
    for page in ("/admin/", "/admin/clients", "/account/two-factor"):
        assert get(client, page).status_code == 302, page
    setup = get(client, "/login/two-factor").get_data(as_text=True)
    assert '<svg' in setup and 'class="totp-qr"' in setup and "style=" not in setup.split("<svg", 1)[1].split("</svg>")[0]
    wrong = post_form(client, "/login/two-factor", {"code": "000000"})
    assert wrong.status_code == 422 and field_errors(wrong.get_data(as_text=True)) == {"code": [two_factor.WRONG_CODE]}
    secret, done, codes = enrol(client)
    assert done.status_code == 200 and len(codes) == 10 and len(set(codes)) == 10
    assert get(client, "/admin/").status_code == 200 and open_sessions(db, admin.id) == 1
    db.expire_all()
    assert two_factor.enabled(db, admin) and two_factor.secret_of(two_factor.get(db, admin.id)) == secret
    assert db.scalar(select(AuditEntry.action).where(AuditEntry.target_id == str(admin.id))) == "two_factor.enabled"


def test_the_enrolment_page_keeps_its_key_and_is_a_read(client, db):
    admin = factories.platform_admin(db, two_factor_on=False)
    db.commit()
    password_step(client, admin.email)
    shown = [re.search(r'data-testid="totp-secret">([^<]+)<', get(client, "/login/two-factor").get_data(as_text=True))
             .group(1) for _ in range(2)]
    assert shown[0] == shown[1]
    password_step(client, admin.email)  # a second log-in before finishing: the same key, still unconfirmed
    again = re.search(r'data-testid="totp-secret">([^<]+)<', get(client, "/login/two-factor").get_data(as_text=True))
    assert again.group(1) == shown[0]


def test_an_admin_with_two_factor_gives_the_code_after_the_password(client, db):
    c = factories.client(db)
    admin = factories.client_admin(db, c)
    db.commit()
    answer = password_step(client, admin.email)
    assert answer.status_code == 302 and answer.headers["Location"] == "/login/code"
    assert get(client, "/admin/").status_code == 302
    wrong = post_form(client, "/login/code", {"code": "123456"})
    assert wrong.status_code == 422
    assert field_errors(wrong.get_data(as_text=True)) == {"code": [two_factor.WRONG_CODE]}
    done = second_factor(client, answer)
    assert done.status_code == 302 and done.headers["Location"] == "/admin/"
    assert get(client, "/admin/").status_code == 200
    with tenant.tenant_scope(c.id, db):
        assert open_sessions(db, admin.id) == 1
    assert get(client, "/login/code").status_code == 302  # the step is over


def test_a_code_already_used_is_refused_at_the_field(app, db):
    admin = factories.platform_admin(db)
    db.commit()
    first, second = app.test_client(), app.test_client()
    code = pyotp.TOTP(factories.TOTP_SECRET).now()
    password_step(first, admin.email)
    password_step(second, admin.email)
    assert post_form(first, "/login/code", {"code": code}).status_code == 302
    replay = post_form(second, "/login/code", {"code": code})
    assert replay.status_code == 422 and field_errors(replay.get_data(as_text=True)) == {"code": [two_factor.USED_CODE]}
    assert get(second, "/admin/").status_code == 302


def test_a_recovery_code_logs_in_once(app, db):
    admin = factories.platform_admin(db, two_factor_on=False)
    codes = two_factor.enable_with_secret(db, factories.SYSTEM, admin, pyotp.random_base32(), clock.now())
    db.commit()
    laptop = app.test_client()
    password_step(laptop, admin.email)
    used = post_form(laptop, "/login/code", {"code": codes[0]})
    assert used.status_code == 302 and used.headers["Location"] == "/admin/"
    home = get(laptop, "/admin/").get_data(as_text=True)
    assert "recovery code; 9 of them left" in home
    thief = app.test_client()
    password_step(thief, admin.email)
    again = post_form(thief, "/login/code", {"code": codes[0]})
    assert again.status_code == 422 and field_errors(again.get_data(as_text=True)) == {"code": [two_factor.WRONG_CODE]}
    assert get(thief, "/admin/").status_code == 302


def test_code_attempts_are_throttled_per_account(app, db):
    admin, bystander = factories.platform_admin(db), factories.platform_admin(db)
    db.commit()
    app.config["TWO_FACTOR_RATE_LIMIT"] = "3 per minute"
    try:
        client = app.test_client()
        password_step(client, admin.email)
        tries = [post_form(client, "/login/code", {"code": "000000"}, environ_base={"REMOTE_ADDR": f"10.2.0.{n}"})
                 .status_code for n in range(1, 4)]
        assert tries == [422, 422, 422]
        right = pyotp.TOTP(factories.TOTP_SECRET).now()
        assert post_form(client, "/login/code", {"code": right}).status_code == 429  # even the right code waits
        fresh = app.test_client()  # a new browser, the same account: still waiting
        password_step(fresh, admin.email)
        assert post_form(fresh, "/login/code", {"code": right}).status_code == 429
        assert get(client, "/admin/").status_code == 302
        other = app.test_client()
        assert login(other, bystander.email, factories.PASSWORD).status_code == 302  # others are not affected
        assert get(other, "/admin/").status_code == 200
    finally:
        app.config["TWO_FACTOR_RATE_LIMIT"] = "1000 per minute"


def test_the_step_between_password_and_code_expires(client, db):
    admin = factories.platform_admin(db)
    db.commit()
    with clock.frozen(T0):
        password_step(client, admin.email)
    with clock.frozen(T0 + timedelta(minutes=6)):
        code = pyotp.TOTP(factories.TOTP_SECRET).at(clock.now())
        late = post_form(client, "/login/code", {"code": code}, token_from="/login")
        assert late.status_code == 302 and late.headers["Location"] == "/login"
        assert get(client, "/admin/").status_code == 302


def test_an_admin_session_without_the_second_factor_is_dropped(client, db):
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    assert get(client, "/admin/").status_code == 200
    with client.session_transaction(base_url="https://localhost") as session:
        session.pop("_2fa")  # a session begun some other way
    dropped = get(client, "/admin/")
    assert dropped.status_code == 302 and dropped.headers["Location"].startswith("/login")
    assert get(client, "/admin/").status_code == 302


def test_a_borrower_turns_two_factor_on_logs_in_with_it_and_turns_it_off(client, db):
    c = factories.client(db)
    borrower = factories.borrower(db, c)
    db.commit()
    base = f"/c/{c.slug}"
    assert login(client, borrower.email, factories.PASSWORD, path=f"{base}/login").headers["Location"] == f"{base}/"
    page = get(client, f"{base}/account/two-factor").get_data(as_text=True)
    assert "is <strong>off</strong>" in page
    assert post_form(client, f"{base}/account/two-factor/setup", {}, token_from=f"{base}/account/two-factor") \
        .status_code == 302
    secret, done, codes = enrol(client, f"{base}/account/two-factor", submit_to=f"{base}/account/two-factor/enable")
    assert done.status_code == 200 and len(codes) == 10
    assert "is <strong>on</strong>" in get(client, f"{base}/account/two-factor").get_data(as_text=True)
    post_form(client, "/logout", {}, token_from=f"{base}/")

    answer = password_step(client, borrower.email, f"{base}/login")
    assert answer.status_code == 302 and answer.headers["Location"] == f"{base}/login/code"
    assert get(client, f"{base}/").status_code == 302
    assert get(client, f"/c/{factories.client(db).slug}/login/code").status_code == 302  # not on another portal
    assert get(client, "/login/code").status_code == 302  # nor at the staff log-in
    done = second_factor(client, answer, secret)
    assert done.status_code == 302 and done.headers["Location"] == f"{base}/"

    settings = f"{base}/account/two-factor"
    wrong = post_form(client, f"{settings}/disable", {"code": "000000"}, token_from=settings)
    assert wrong.status_code == 422 and field_errors(wrong.get_data(as_text=True)) == {"code": [two_factor.WRONG_CODE]}
    later = clock.now() + timedelta(seconds=60)  # a fresh code: the log-in spent the current ones
    with clock.frozen(later):
        off = post_form(client, f"{settings}/disable", {"code": pyotp.TOTP(secret).at(later)}, token_from=settings)
    assert off.status_code == 302
    with tenant.tenant_scope(c.id, db):
        assert two_factor.get(db, borrower.id) is None
        trail = db.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(borrower.id))
                           .order_by(AuditEntry.id)).all()
    assert trail == ["two_factor.enabled", "two_factor.disabled"]


def test_an_admin_cannot_turn_two_factor_off(client, db):
    admin = factories.platform_admin(db)
    db.commit()
    login(client, admin.email, factories.PASSWORD)
    page = get(client, "/account/two-factor").get_data(as_text=True)
    assert 'data-testid="two-factor-required"' in page and "/account/two-factor/disable" not in page
    later = clock.now() + timedelta(seconds=90)
    with clock.frozen(later):
        code = pyotp.TOTP(factories.TOTP_SECRET).at(later)
        refused = post_form(client, "/account/two-factor/disable", {"code": code}, token_from="/account/two-factor")
    assert refused.status_code == 302
    assert "cannot" in get(client, "/account/two-factor").get_data(as_text=True)
    db.expire_all()
    assert two_factor.enabled(db, admin)


def test_new_recovery_codes_need_the_password_again_and_replace_the_old(client, db):
    admin = factories.platform_admin(db, two_factor_on=False)
    old = two_factor.enable_with_secret(db, factories.SYSTEM, admin, factories.TOTP_SECRET, clock.now())
    db.commit()
    settings = "/account/two-factor"
    with clock.frozen(T0):
        login(client, admin.email, factories.PASSWORD)
    with clock.frozen(T0 + timedelta(minutes=11)):
        asked = post_form(client, f"{settings}/recovery-codes", {}, token_from=settings)
        assert asked.status_code == 302 and asked.headers["Location"].startswith("/reauth")
        db.expire_all()
        assert two_factor.verify(db, factories.SYSTEM, admin, old[0], T0) == "recovery"  # still the old set
        post_form(client, asked.headers["Location"], {"password": factories.PASSWORD})
        made = post_form(client, f"{settings}/recovery-codes", {}, token_from=settings)
    assert made.status_code == 200
    new = re.findall(r'data-testid="recovery-code">([a-z0-9-]+)<', made.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    db.expire_all()
    assert two_factor.get(db, admin.id).recovery_codes_left == 10
    assert two_factor.verify(db, factories.SYSTEM, admin, new[0], T0) == "recovery"
    with pytest.raises(DomainError) as refused:
        two_factor.verify(db, factories.SYSTEM, admin, old[1], T0)
    assert refused.value.code == "wrong_code"


def test_a_staff_page_is_not_a_borrowers(client, db):
    c = factories.client(db)
    borrower = factories.borrower(db, c)
    db.commit()
    login(client, borrower.email, factories.PASSWORD, path=f"/c/{c.slug}/login")
    assert get(client, "/account/two-factor").status_code == 403
