"""Hard quotas on applications per month, and the 90 % / 100 % warnings.

The API-calls-per-hour quota is enforced per key by Flask-Limiter (blueprints/api). Applications
per month are counted from the ``application_processed`` usage of the month, under a per-client
advisory lock so two submissions at the limit cannot both pass. At 90 % the client admins are told
once per period (a unique ``quota_warnings`` row, then ``quota.warning`` through caas.events.notify); at 100 % new
applications are refused with ``quota_exceeded`` (API 429) until the next month or until a platform
admin grants an override for the month (audited).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.billing.models import QuotaOverride, QuotaWarning, UsageEvent
from caas.billing.periods import Period
from caas.core.errors import DomainError
from caas.events import notify
from caas.tenancy.models import Client
from caas.tenancy.tiers import effective_quotas

APPLICATIONS = "applications_per_month"
API_CALLS = "api_calls_per_hour"
WARN_AT = 90  # percent


class QuotaExceeded(DomainError):
    status = 429


@dataclass(frozen=True)
class QuotaState:
    quota: str
    period: str
    used: int
    limit: int
    overridden: bool

    @property
    def percent(self) -> int:
        return min(999, self.used * 100 // self.limit) if self.limit else 0

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit and not self.overridden


def _period(now: datetime | None) -> Period:
    return Period.of(now or datetime.now(timezone.utc))


def applications_state(session: Session, client: Client, now: datetime | None = None) -> QuotaState:
    period = _period(now)
    used = session.scalar(select(func.coalesce(func.sum(UsageEvent.quantity), 0)).where(
        UsageEvent.client_id == client.id,
        UsageEvent.metric == literal_column("'application_processed'"),  # a literal: the partial index matches
        UsageEvent.occurred_at >= period.starts_at, UsageEvent.occurred_at < period.ends_at)) or 0
    overridden = session.scalar(select(QuotaOverride.id).where(
        QuotaOverride.client_id == client.id, QuotaOverride.quota == APPLICATIONS,
        QuotaOverride.period == str(period))) is not None
    return QuotaState(APPLICATIONS, str(period), int(used), effective_quotas(client).applications_per_month,
                      overridden)


def admit_application(session: Session, client: Client, now: datetime | None = None) -> QuotaState:
    """Call in the submitting transaction, before the usage is recorded: refuses at the limit, and
    warns the client admins (once per period) when this application takes usage to 90 % or more."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"quota:{client.id}"})
    state = applications_state(session, client, now)
    if state.exhausted:
        raise QuotaExceeded(
            "quota_exceeded",
            f"{client.display_name} has used all {state.limit:,} applications of its plan for this month. "
            f"New applications open again on {Period.parse(state.period).end.strftime('%-d %B %Y')}.")
    after = state.used + 1
    if state.limit and after * 100 >= state.limit * WARN_AT:
        level = 100 if after >= state.limit else WARN_AT
        _warn(session, client, state, level, after)
    return state


def note_api_calls(session: Session, client: Client, calls_this_hour: int, now: datetime | None = None) -> None:
    """After an API call is counted: the call that takes this hour to 90 % (or 100 %) of the hourly
    quota warns the client admins. Once per month, not per hour: a client that runs near its limit
    every hour hears it at most twice a month."""
    limit = effective_quotas(client).api_calls_per_hour
    ninety = -(-limit * WARN_AT // 100)  # the first count at or above 90 %
    if calls_this_hour not in (ninety, limit):
        return
    level = 100 if calls_this_hour >= limit else WARN_AT
    state = QuotaState(API_CALLS, str(_period(now)), calls_this_hour, limit, False)
    _warn(session, client, state, level, calls_this_hour, what="API calls in one hour")


def _warn(session: Session, client: Client, state: QuotaState, level: int, used: int, *,
          what: str = "monthly applications") -> None:
    inserted = session.execute(pg_insert(QuotaWarning).values(
        id=uuid.uuid4(), client_id=client.id, quota=state.quota, period=state.period, level=level, used=used,
        limit=state.limit).on_conflict_do_nothing(constraint="uq_quota_warnings_once")
        .returning(QuotaWarning.id)).scalar()
    if inserted is not None:
        notify.send(session, "quota.warning", client_id=client.id, key=f"{client.id}-{state.period}-{level}", data={
            "quota": what, "used": used, "limit": state.limit,
            "percent": min(100, used * 100 // state.limit), "period": f"in {Period.parse(state.period).label()}"})


def warnings_for(session: Session, client_id: uuid.UUID, now: datetime | None = None) -> list[QuotaWarning]:
    """This period's warnings, highest level first (the client admin's banner)."""
    return list(session.scalars(select(QuotaWarning).where(
        QuotaWarning.client_id == client_id, QuotaWarning.period == str(_period(now)))
        .order_by(QuotaWarning.level.desc())))


def grant_override(session: Session, actor: Actor, client: Client, *, reason: str,
                   now: datetime | None = None) -> QuotaOverride:
    """Lift the applications quota for the rest of this month (platform admins; audited)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason_required", "Say why the quota is lifted.", "reason")
    period = str(_period(now))
    existing = session.scalar(select(QuotaOverride).where(QuotaOverride.client_id == client.id,
                                                          QuotaOverride.quota == APPLICATIONS,
                                                          QuotaOverride.period == period))
    if existing is not None:
        return existing
    override = QuotaOverride(client_id=client.id, quota=APPLICATIONS, period=period, reason=reason,
                             granted_by=actor.user_id)
    session.add(override)
    session.flush()
    record(session, actor, "billing.quota_override", client_id=client.id, target_type="client", target_id=client.id,
           after={"quota": APPLICATIONS, "period": period, "reason": reason})
    return override
