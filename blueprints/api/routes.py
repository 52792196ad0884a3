"""The JSON API for client systems. Every endpoint but the index and the OpenAPI document
authenticates an API key (which sets the tenant), is rate-limited per key by the client's tier
quota, and is counted for billing. Errors: {"error": {"code", "message", "field"[, "fields"]}}."""
from __future__ import annotations

import base64
import logging
import re
import time
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import wraps

from flask import current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError
from limits import parse as parse_limit
from limits.storage import MemoryStorage

from blueprints.api import bp
from caas.audit.operations import Actor
from caas.core import tenant
from caas.core.errors import DomainError, NotFound
from caas.core.extensions import db, limiter
from caas.billing import quotas, usage
from caas.credit import applications, consents, idempotency, profiles
from caas.credit.applications import Terms
from caas.loans import operations as loans
from caas.market import acceptance
from caas.market import bids as bid_ops
from caas.market.models import Signature
from caas.tenancy import apikeys, operations
from caas.tenancy.models import Client, Role, User
from caas.money import format_minor
from caas.tenancy.tiers import effective_quotas

log = logging.getLogger(__name__)
PUBLIC = {"api.index", "api.openapi"}


def error(status: int, code: str, message: str, field: str | None = None, fields: dict | None = None):
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    if fields:
        body["fields"] = [{"field": name, "message": text} for name, text in fields.items()]
    return jsonify({"error": body}), status


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    db.session.rollback()
    return error(exc.status, exc.code, exc.message, exc.field, getattr(exc, "fields", None))


_MEMORY_QUOTAS: dict[type, object] = {}


def _in_memory(strategy):
    """The same rate-limiting strategy on this process's memory (one per process, kept)."""
    kind = type(strategy)
    if kind not in _MEMORY_QUOTAS:
        _MEMORY_QUOTAS[kind] = kind(MemoryStorage())
    return _MEMORY_QUOTAS[kind]


def _rate_limited():
    """The client's API quota per hour, per key, counted in Redis by Flask-Limiter's limiter."""
    client = db.session.get(Client, g.principal.client_id)
    item = parse_limit(f"{effective_quotas(client).api_calls_per_hour}/hour")
    key = ("api", str(g.principal.key_id))
    strategy = limiter.limiter
    if strategy is None:
        return None
    try:
        allowed = strategy.hit(item, *key)
    except Exception as exc:
        # Redis, which holds the counters, is down: count in this process's memory until it is
        # back (as Flask-Limiter does for the log-in throttle) rather than fail every API call.
        log.warning("API quota counter unavailable; counting in memory",
                    extra={"error": f"{type(exc).__name__}: {exc}"[:200]})
        strategy = _in_memory(strategy)
        allowed = strategy.hit(item, *key)
    if allowed:
        return None
    reset_at, _ = strategy.get_window_stats(item, *key)
    retry_after = max(1, int(reset_at - time.time()))
    response, status = error(429, "rate_limited", "Too many requests for this API key; retry later.")
    response.headers["Retry-After"] = str(retry_after)
    return response, status


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC:
        return None
    try:
        g.principal = apikeys.authenticate(db.session, request.headers.get("Authorization"))
    except apikeys.ApiAuthError as exc:
        db.session.rollback()
        response, status = error(exc.status, exc.code, exc.message)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="caas"'
        return response, status
    limited = _rate_limited()
    if limited:
        db.session.rollback()
        return limited
    calls = usage.record_api_call(db.session, g.principal.client_id)
    quotas.note_api_calls(db.session, db.session.get(Client, g.principal.client_id), calls)
    db.session.commit()  # last_used_at and the usage count, whatever the endpoint then does
    tenant.set_tenant(g.principal.client_id, db.session)
    return None


def require_scope(scope: str):
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if scope not in g.principal.scopes:
                return error(403, "insufficient_scope", f"This API key lacks the '{scope}' scope.")
            return view(*args, **kwargs)
        return wrapper
    return decorate


IDEMPOTENCY_KEY_RE = re.compile(r"^[\x20-\x7e]{1,255}$")


def idempotent(view):
    """POSTs may carry Idempotency-Key (Stripe's semantics); the first response is replayed."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if not IDEMPOTENCY_KEY_RE.match(key):
            raise DomainError("invalid_idempotency_key",
                              "Idempotency-Key must be 1 to 255 printable ASCII characters.", "Idempotency-Key")
        principal = g.principal
        digest = idempotency.request_hash(request.method, request.path, request.get_data())
        replay = idempotency.claim(db.session, principal.client_id, principal.key_id, key, digest)
        if replay is not None:
            response = jsonify(replay.body)
            response.status_code = replay.status_code
            response.headers["Idempotent-Replayed"] = "true"
            return response
        g.idempotency_key = key
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except DomainError as exc:
            db.session.rollback()
            response, status = domain_error(exc)
            response.status_code = status
        except Exception:
            db.session.rollback()
            idempotency.release(db.session, principal.key_id, key)
            raise
        if response.status_code >= 500 or response.status_code == 409:
            idempotency.release(db.session, principal.key_id, key)  # not a result worth replaying
            return response
        idempotency.store(db.session, principal.key_id, key, response.status_code, response.get_json())
        db.session.commit()
        return response
    return wrapper


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise DomainError("invalid_json", "Send a JSON object with Content-Type: application/json.")
    return body


def _cursor_encode(app) -> str:
    return base64.urlsafe_b64encode(f"{app.created_at.isoformat()}|{app.id}".encode()).decode()


def _cursor_decode(raw: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, ident = base64.urlsafe_b64decode(raw.encode()).decode().split("|")
        return datetime.fromisoformat(created), uuid.UUID(ident)
    except Exception:
        raise DomainError("invalid_cursor", "The cursor is not valid.", "cursor") from None


def _uuid(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(what) from None


# --- Endpoints ------------------------------------------------------------------------------------

@bp.route("/")
def index():
    return jsonify({"api": "caas", "version": "v1", "openapi": "/api/v1/openapi.json"})


@bp.route("/openapi.json")
def openapi():
    from blueprints.api.openapi import document

    return jsonify(document())


@bp.route("/ping")
def ping():
    principal = g.principal
    return jsonify({"ok": True, "client": principal.client_slug, "mode": principal.mode,
                    "scopes": sorted(principal.scopes)})


@bp.route("/providers")
@require_scope("applications:read")
def providers():
    """The client's provider network: the lenders who may bid on its applications, optionally
    only those of one country (?country=NG)."""
    country = (request.args.get("country") or "").strip().upper() or None
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise DomainError("invalid_country", "Use a two-letter ISO 3166 country code, e.g. NG.", "country")
    return jsonify({"data": [
        {"id": str(row.provider.id), "legal_name": row.provider.legal_name, "country": row.provider.country,
         "currencies": list(row.provider.currencies)}
        for row in operations.network(db.session)
        if row.provider.is_active and country in (None, row.provider.country)
    ]})


@bp.route("/usage")
@require_scope("usage:read")
def usage_report():
    """The client's usage of a month (default: this one) per metric against its plan, priced so far
    in its billing currency, and that month's invoices once issued."""
    from caas.billing import invoices, reports
    from caas.billing.periods import Period

    client = db.session.get(Client, g.principal.client_id)
    raw = request.args.get("period")
    period = Period.parse(raw) if raw else Period.of(datetime.now(timezone.utc))
    rows = reports.current_usage(db.session, client, period.starts_at)
    issued = invoices.list_invoices(db.session, invoices.InvoiceFilters(client_id=client.id, period=str(period)),
                                    include_drafts=False)
    return jsonify({
        "period": str(period), "currency": client.default_currency,
        "metrics": [{"metric": r.metric, "quantity": r.quantity, "included_units": r.included_units,
                     "billable_units": r.billable_units, "amount_minor": r.estimate_minor,
                     "amount": format_minor(r.estimate_minor, client.default_currency), "price": r.price_text}
                    for r in rows],
        "estimate_minor": sum(r.estimate_minor for r in rows),
        "invoices": [invoices.serialise(i) for i in issued]})


APPLICANT_FIELDS = ("email", "legal_name", "date_of_birth", "phone", "address", "national_id", "employment_status",
                    "employer", "months_employed", "monthly_net_income", "monthly_expenses",
                    "existing_debt_payments", "housing")
# Text fields and their longest accepted value (the columns' lengths); the OpenAPI document says the same.
APPLICANT_TEXT = {"email": 254, "legal_name": 200, "date_of_birth": 10, "phone": 32, "address": 400,
                  "national_id": 40, "employment_status": 20, "employer": 200, "housing": 10}
APPLICANT_MONEY = ("monthly_net_income", "monthly_expenses", "existing_debt_payments")
MAX_MONTHLY_AMOUNT = Decimal("1000000000000")  # major units; keeps minor units well inside BIGINT


def _applicant_shape(applicant: dict) -> tuple[dict, dict[str, str]]:
    """The applicant's values with the right JSON types, and an error for each value of the wrong
    type or size. The domain then checks the content; wrongly typed values reach it as missing."""
    values: dict = {}
    errors: dict[str, str] = {}
    for name in APPLICANT_FIELDS:
        value = applicant.get(name)
        problem = None
        if value is None:
            pass
        elif name in APPLICANT_TEXT:
            if not isinstance(value, str):
                problem = "Send this value as a string."
            elif len(value) > APPLICANT_TEXT[name]:
                problem = f"Use at most {APPLICANT_TEXT[name]} characters."
            elif "\x00" in value:
                problem = "Remove the NUL character."
        elif name == "months_employed":
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                problem = "Send the months as a whole number."
        elif name in APPLICANT_MONEY:
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                problem = "Send the amount as a decimal string, e.g. 150000.00."
            else:
                try:
                    amount = Decimal(str(value).strip())
                except InvalidOperation:
                    amount = None  # not a number: the domain says so
                if amount is not None and (not amount.is_finite() or abs(amount) >= MAX_MONTHLY_AMOUNT):
                    problem = "Enter an amount below 1,000,000,000,000."
        if problem:
            errors[f"applicant.{name}"] = problem
            value = None
        values[name] = value
    return values, errors


@bp.route("/applications", methods=["POST"])
@require_scope("applications:write")
@idempotent
def create_application():
    """Create (or reuse, by e-mail) the borrower, save the applicant's data and submit the
    application, all in one transaction. Every bad field is listed."""
    body = _json_body()
    client = db.session.get(Client, g.principal.client_id)
    applicant = body.get("applicant") if isinstance(body.get("applicant"), dict) else {}
    errors: dict[str, str] = {}
    if not isinstance(body.get("applicant"), dict):
        errors["applicant"] = "Send the applicant's data as an object."
    values, shape_errors = _applicant_shape(applicant)
    email = (values["email"] or "").strip().lower()
    if not operations.EMAIL_RE.match(email):
        errors["applicant.email"] = "Enter a valid e-mail address."
    profile_input = profiles.ProfileInput(**{name: values[name] for name in APPLICANT_FIELDS if name != "email"})
    try:
        profiles.validate(profile_input, client, date.today())
    except DomainError as exc:
        errors.update({f"applicant.{k}": v for k, v in getattr(exc, "fields", {exc.field: exc.message}).items()})
    errors.update(shape_errors)  # a value of the wrong type or size: say that, not "missing"
    given = body.get("consents")
    if given is not None and not isinstance(given, dict):
        errors["consents"] = "Send the consents as an object, e.g. {\"data_processing\": true, ...}."
    else:
        for kind in consents.REQUIRED:
            if (given or {}).get(kind) is not True:
                errors[f"consents.{kind}"] = "The applicant's consent is required (true)."
    policy = applications.policy_for(db.session, client.id)
    currency = body.get("currency")
    if currency is None:
        currency = client.default_currency
    elif isinstance(currency, str):
        currency = currency.strip().upper()
    amount_minor = None
    if not isinstance(currency, str) or currency not in policy.currencies:
        errors["currency"] = f"Choose one of: {', '.join(policy.currencies)}."
    else:
        try:
            amount_minor = applications.amount_to_minor(body.get("amount"), currency)
        except DomainError as exc:
            errors["amount"] = exc.message
    term = body.get("term_months")
    if not isinstance(term, int) or isinstance(term, bool):
        errors["term_months"] = "Send the term as a whole number of months."
    if amount_minor is not None and isinstance(term, int):
        errors.update(applications.check_terms(policy, Terms(amount_minor, currency, term, str(body.get("purpose")))))
    elif body.get("purpose") not in applications.PURPOSES:
        errors["purpose"] = "Choose a purpose from the list."
    if errors:
        first = next(iter(errors))
        return error(422, "validation_failed", errors[first], first, errors)

    try:
        application = _create_and_submit(client, email, profile_input, currency, amount_minor, term, body["purpose"])
        db.session.commit()
    except IntegrityError:
        # Two requests created the same new borrower at once and the other one won. Nothing of
        # this request is saved; a retry reuses that borrower.
        db.session.rollback()
        return error(409, "concurrent_request", "Another request for this applicant is in progress; retry.")
    return jsonify(applications.serialise(application)), 201


def _create_and_submit(client, email, profile_input, currency, amount_minor, term, purpose):
    borrower = db.session.scalar(db.select(User).where(User.role == Role.borrower, db.func.lower(User.email) == email))
    if borrower is None:
        borrower = operations.create_user(db.session, role=Role.borrower, email=email,
                                          full_name=profile_input.legal_name, password=None, client_id=client.id)
    profiles.save(db.session, borrower, client, profile_input, date.today())
    consents.grant(db.session, borrower.id, client.id, list(consents.REQUIRED), request.remote_addr)
    application = applications.start(db.session, borrower.id, client.id, channel="api")
    if application.channel != "api":  # a portal draft exists; the API starts its own
        application = applications.Application(id=uuid.uuid4(), client_id=client.id, borrower_id=borrower.id,
                                               channel="api")
        db.session.add(application)
        db.session.flush()
    applications.set_terms(db.session, application, Terms(amount_minor, currency, term, purpose), date.today())
    applications.confirm_income(db.session, application, True)
    applications.submit(db.session, application)
    return application


@bp.route("/applications/<application_id>")
@require_scope("applications:read")
def get_application(application_id: str):
    application = applications.get(db.session, _uuid(application_id, "application"))
    return jsonify(applications.serialise(application))


@bp.route("/applications")
@require_scope("applications:read")
def list_applications():
    status = request.args.get("status") or None
    if status and status not in {s.value for s in applications.S}:
        raise DomainError("invalid_status", "Unknown status.", "status")
    created_after = None
    if request.args.get("created_after"):
        try:
            created_after = datetime.fromisoformat(request.args["created_after"])
            if created_after.tzinfo is None:
                created_after = created_after.replace(tzinfo=timezone.utc)
        except ValueError:
            raise DomainError("invalid_date", "Use an ISO 8601 date-time.", "created_after") from None
    cursor = _cursor_decode(request.args["cursor"]) if request.args.get("cursor") else None
    try:
        limit = int(request.args.get("limit") or 25)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise DomainError("invalid_limit", "limit is a whole number from 1 to 100.", "limit")
    rows, more = applications.list_page(db.session, status=status, created_after=created_after, cursor=cursor,
                                        limit=limit)
    return jsonify({"data": [applications.serialise(a) for a in rows], "has_more": more,
                    "next_cursor": _cursor_encode(rows[-1]) if more else None})


@bp.route("/applications/<application_id>/withdraw", methods=["POST"])
@require_scope("applications:write")
@idempotent
def withdraw_application(application_id: str):
    application = applications.get(db.session, _uuid(application_id, "application"))
    applications.withdraw(db.session, application, "withdrawn by the client system")
    db.session.commit()
    return jsonify(applications.serialise(application))


def utcnow() -> datetime:
    """The clock of the offer endpoints (tests replace it to stand at the marketplace's time)."""
    return datetime.now(timezone.utc)


def _api_actor() -> Actor:
    """The API key as the audit actor: role "api_key", its id where a user's id would be."""
    return Actor(user_id=g.principal.key_id, role="api_key", ip_address=request.remote_addr,
                 request_id=(g.get("request_id") or "")[:64] or None)  # the header is the client's to choose


@bp.route("/applications/<application_id>/offers")
@require_scope("applications:read")
def list_offers(application_id: str):
    """The offers ranked by APR, usable ones first; the lowest-APR usable one has best: true."""
    application = applications.get(db.session, _uuid(application_id, "application"))
    now = utcnow()
    return jsonify({"data": [bid_ops.serialise_offer(offer.bid, best=offer.best, now=now)
                             for offer in acceptance.offers(db.session, application, now)]})


@bp.route("/applications/<application_id>/offers/<offer_id>/agreement")
@require_scope("applications:read")
def offer_agreement(application_id: str, offer_id: str):
    """The exact loan agreement the borrower signs for this offer, and its SHA-256: a client system
    shows the text and may send the hash with the acceptance, so the terms cannot change under the
    signature. For an accepted offer, the text that was signed."""
    application = applications.get(db.session, _uuid(application_id, "application"))
    bid = acceptance.get_offer(db.session, application, _uuid(offer_id, "offer"))
    signed = db.session.scalar(db.select(Signature).where(Signature.bid_id == bid.id))
    if signed is not None:
        return jsonify({"version": signed.agreement_version, "sha256": signed.agreement_sha256,
                        "text": signed.agreement_text})
    profile = profiles.get(db.session, application.borrower_id)
    client = db.session.get(Client, application.client_id)
    text = acceptance.agreement_text(application, bid, profile.legal_name, client.display_name)
    return jsonify({"version": acceptance.AGREEMENT_VERSION, "sha256": acceptance.sha256(text), "text": text})


# The domain's field names for the acceptance, as this API's body names them.
ACCEPT_FIELDS = {"typed_name": "signature_name"}


@bp.route("/applications/<application_id>/offers/<offer_id>/accept", methods=["POST"])
@require_scope("offers:write")
@idempotent
def accept_offer(application_id: str, offer_id: str):
    """Accept an offer for the borrower, who signed by typing their legal name: one transaction
    makes the loan and its schedule, reserves the lender's funds and records credit.offer.accepted.
    An application already accepted (a race lost, or a retry without Idempotency-Key) answers 409."""
    application = applications.get(db.session, _uuid(application_id, "application"))
    bid_id = _uuid(offer_id, "offer")
    body = _json_body()
    errors = {}
    name = body.get("signature_name")
    if not isinstance(name, (str, type(None))):
        errors["signature_name"] = "Send the borrower's typed legal name as a string."
    elif name and len(name) > 200:  # the signature's column; extra spaces would still match the name
        errors["signature_name"] = "Use at most 200 characters."
    if not isinstance(body.get("agreement_sha256"), (str, type(None))):
        errors["agreement_sha256"] = "Send the agreement's SHA-256 as a hex string, or leave it out."
    account = body.get("bank_account")
    if account is not None and not (isinstance(account, dict) and all(
            isinstance(account.get(k), str) for k in ("bank_code", "account_number", "account_name"))):
        errors["bank_account"] = "Send bank_code, account_number and account_name as strings, or leave it out."
    if errors:
        first = next(iter(errors))
        return error(422, "validation_failed", errors[first], first, errors)
    try:
        if account is not None:  # where the payout goes; saved with the acceptance or not at all
            from caas.payments import payouts
            from caas.payments import service as payment_service

            bid_currency = acceptance.get_offer(db.session, application, bid_id).currency
            try:
                payouts.save_bank_account(db.session, application.borrower_id, application.client_id,
                                          payouts.BankDetails(bid_currency, account["bank_code"],
                                                              account["account_number"], account["account_name"]),
                                          router=payment_service.router())
            except DomainError as exc:
                exc.field = f"bank_account.{exc.field}"
                raise
        loan = acceptance.accept(db.session, _api_actor(), application_id=application.id, bid_id=bid_id,
                                 typed_name=name or "", consent=body.get("consent") is True,
                                 agreement_sha256=body.get("agreement_sha256"), channel="api",
                                 ip_address=request.remote_addr, now=utcnow())
    except DomainError as exc:
        if exc.code == "not_open":
            exc.status = 409
        exc.field = ACCEPT_FIELDS.get(exc.field, exc.field)
        raise
    db.session.commit()
    return jsonify(loans.serialise(loan)), 201


@bp.route("/loans/<loan_id>")
@require_scope("loans:read")
def get_loan(loan_id: str):
    """A loan of the client, with its repayment schedule."""
    return jsonify(loans.serialise(loans.get(db.session, _uuid(loan_id, "loan"))))
