"""The borrower compares offers and accepts one: one transaction makes the loan.

``accept`` locks the listing, then the application and the bid. Under those locks it checks that
the offer is still open and valid, records the e-signature of the exact agreement text, creates
the loan and its schedule, reserves the provider's funds in the ledger, accepts the bid and
rejects the others, and moves the application to ``offer_accepted``. Two acceptances at once, or
an acceptance racing a withdrawal, serialise on the listing lock: exactly one loan results, and
``loans.application_id`` is unique as the last line of defence. The payout (to the borrower's bank
account in the loan's currency) is created in the same transaction and its job queued after commit.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caas.audit.operations import Actor, record
from caas.core.errors import DomainError, NotFound
from caas.credit import applications, profiles
from caas.credit.models import Application, ApplicationStatus as S
from caas.events import outbox
from caas.ledger import operations as ledger
from caas.ledger.errors import InsufficientFunds
from caas.loans import operations as loans
from caas.loans.models import Loan
from caas.market import bids as bid_ops
from caas.market import listings
from caas.market.models import Bid, BidStatus, ListingStatus, Signature
from caas.money import format_minor
from caas.payments import payouts
from caas.payments import service as payment_service

AGREEMENT_VERSION = "LA-2026-11"

AGREEMENT = """LOAN AGREEMENT (version {version})

Lender: {lender} (licence {licence})
Borrower: {borrower}
Arranged through: {client} on the CaaS platform

1. Amount. The lender lends {currency} {principal}. An origination fee of {currency} {fee} is withheld
   from the payout, so {currency} {paid_out} is paid to the borrower's account.
2. Interest. Nominal annual rate {rate}% on the declining balance (30/360). Annual percentage rate
   (APR) {apr}%.
3. Repayment. {term} monthly instalments of {currency} {instalment} (the last may differ by rounding),
   {currency} {total} in total. Total cost of credit: {currency} {cost}.
4. Early repayment. The borrower may repay early at any time; interest stops accruing on what is repaid.
5. Late payment. Missed instalments are handled under the lender's collections policy and applicable law.
6. This agreement is accepted electronically. The typed name below, the time and the IP address
   recorded with it form the borrower's signature.
"""


def agreement_text(application: Application, bid: Bid, borrower_name: str, client_name: str) -> str:
    money = lambda minor: format_minor(minor, bid.currency)  # noqa: E731
    return AGREEMENT.format(
        version=AGREEMENT_VERSION, lender=bid.provider.legal_name, licence=bid.provider.licence_number,
        borrower=borrower_name, client=client_name, currency=bid.currency, principal=money(bid.amount_minor),
        fee=money(bid.fee_minor), paid_out=money(bid.amount_minor - bid.fee_minor),
        rate=f"{bid.annual_rate * 100:.4f}", apr=f"{bid.apr:.2f}", term=bid.term_months,
        instalment=money(bid.instalment_minor), total=money(bid.total_repayable_minor),
        cost=money(bid.total_cost_minor))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Offer:
    bid: Bid
    usable: bool   # open and still valid
    best: bool     # the lowest APR among usable offers


def offers(session: Session, application: Application, now: datetime) -> list[Offer]:
    """The offers on an application, ranked by APR (then instalment), usable ones first."""
    rows = list(session.scalars(select(Bid).where(Bid.application_id == application.id,
                                                  Bid.status.in_([BidStatus.open, BidStatus.accepted]))
                                .order_by(Bid.apr, Bid.instalment_minor, Bid.created_at)))
    usable = [b for b in rows if b.status == BidStatus.open and b.valid_until > now
              and application.status == S.open_for_offers]
    best = usable[0].id if usable else None
    ranked = usable + [b for b in rows if b not in usable]
    return [Offer(b, b in usable, b.id == best) for b in ranked]


def get_offer(session: Session, application: Application, bid_id: uuid.UUID) -> Bid:
    bid = session.get(Bid, bid_id, populate_existing=True)
    if bid is None or bid.application_id != application.id or bid.status == BidStatus.withdrawn:
        raise NotFound("offer")
    return bid


def _refuse(code: str, message: str, field: str | None = None) -> DomainError:
    return DomainError(code, message, field)


def _same_name(typed: str, legal: str) -> bool:
    norm = lambda s: " ".join(s.casefold().split())  # noqa: E731
    return norm(typed) == norm(legal)


def accept(session: Session, actor: Actor, *, application_id: uuid.UUID, bid_id: uuid.UUID, typed_name: str,
           consent: bool, agreement_sha256: str | None, channel: str, ip_address: str | None, now: datetime,
           borrower_id: uuid.UUID | None = None) -> Loan:
    """Accept one offer (tenant in scope). ``borrower_id`` limits it to the borrower's own
    application (portal); the client API passes None. ``agreement_sha256``, when given, must be the
    hash of the agreement the borrower was shown: the terms cannot change under their signature."""
    if not consent:
        raise _refuse("consent_required", "Tick the box to accept the loan agreement.", "consent")
    listing = listings.lock_for_application(session, application_id)
    application = session.scalar(select(Application).where(Application.id == application_id).with_for_update(of=Application)
                                 .execution_options(populate_existing=True))
    if application is None or (borrower_id is not None and application.borrower_id != borrower_id):
        raise NotFound("application")
    bid = session.scalar(select(Bid).where(Bid.id == bid_id, Bid.application_id == application_id)
                         .with_for_update(of=Bid)
                         .execution_options(populate_existing=True))
    if bid is None or listing is None:
        raise NotFound("offer")
    if listing.status == ListingStatus.accepted or application.status != S.open_for_offers:
        raise _refuse("not_open", "This application is no longer open for offers"
                      + (": an offer was accepted already." if listing.status == ListingStatus.accepted else "."))
    if listing.status == ListingStatus.awaiting and listing.accept_until and listing.accept_until <= now:
        raise _refuse("acceptance_closed", "The time to accept an offer has passed.")
    if bid.status != BidStatus.open:
        raise _refuse("offer_unavailable", f"This offer was {bid.status.value} and can no longer be accepted.")
    if bid.valid_until <= now:
        raise _refuse("offer_expired", "This offer has expired; choose another.")
    profile = profiles.get(session, application.borrower_id)
    if not typed_name or not _same_name(typed_name, profile.legal_name):
        raise _refuse("signature_mismatch", "Type your full legal name exactly as in your profile to sign.",
                      "typed_name")
    account = payouts.bank_account_for(session, application.borrower_id, bid.currency)
    if account is None:
        raise _refuse("bank_account_required", f"Add the {bid.currency} bank account the money should be paid "
                      "into before you accept.", "bank_account")
    from caas.tenancy.models import Client

    text = agreement_text(application, bid, profile.legal_name, session.get(Client, application.client_id).display_name)
    digest = sha256(text)
    if agreement_sha256 is not None and agreement_sha256 != digest:
        raise _refuse("agreement_changed", "The agreement changed since you opened it; read it again and sign.",
                      "agreement_sha256")

    loan = loans.create(session, client_id=application.client_id, application_id=application.id, bid_id=bid.id,
                        provider_id=bid.provider_id, borrower_id=application.borrower_id, currency=bid.currency,
                        principal_minor=bid.amount_minor, fee_minor=bid.fee_minor, annual_rate=bid.annual_rate,
                        apr=bid.apr, term_months=bid.term_months, start=now.date())
    try:
        ledger.reserve(session, bid.provider_id, bid.amount_minor, bid.currency, loan.id)
    except InsufficientFunds:
        raise _refuse("offer_unfunded", f"{bid.provider.legal_name} cannot fund this offer at the moment; "
                      "choose another offer.") from None
    payouts.create_for_loan(session, loan, account, payment_service.router())
    session.add(Signature(id=uuid.uuid4(), client_id=application.client_id, application_id=application.id,
                          bid_id=bid.id, loan_id=loan.id, borrower_id=application.borrower_id,
                          agreement_version=AGREEMENT_VERSION, agreement_text=text, agreement_sha256=digest,
                          typed_name=typed_name.strip(), consent=True, channel=channel, ip_address=ip_address,
                          signed_at=now))
    bid.status = BidStatus.accepted
    bid.decided_at = now
    listings.notify_provider(session, bid, f"Your offer on listing {str(listing.id)[:8]} won: loan "
                                            f"{str(loan.id)[:8]} awaits disbursement.")
    listings.close_open_bids(session, listing, BidStatus.rejected, now, "the borrower accepted another offer",
                             keep=bid.id)
    listing.status = ListingStatus.accepted
    listing.accepted_bid_id = bid.id
    listing.decided_at = now
    applications.transition(session, application, S.offer_accepted,
                            f"accepted the offer of {bid.provider.legal_name} at {bid.apr:.2f}% APR")
    record(session, actor, "offer.accept", client_id=application.client_id, target_type="application",
           target_id=application.id, after={"bid_id": str(bid.id), "loan_id": str(loan.id), "channel": channel,
                                            "agreement_sha256": digest})
    outbox.record_event(session, application.client_id, "credit.offer.accepted",
                        bid_ops.serialise_offer(bid) | {"loan_id": str(loan.id)})
    session.flush()
    return loan
