"""Every /api/v1 operation the SDK calls, as data: the contract test compares this table, the
methods that use it and the models it names with the OpenAPI document the app serves."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, TypeVar

from caas_sdk import models as m

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class Endpoint:
    operation_id: str
    method: str
    path: str                         # under /api/v1, with {placeholders}
    response: type                    # the dataclass of the success body
    status: int = 200                 # the success status
    query: tuple[str, ...] = ()       # query parameters the SDK may send
    body: tuple[str, ...] = ()        # top-level JSON body fields the SDK may send
    idempotency_key: bool = False     # sends Idempotency-Key

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))


PING = Endpoint("ping", "GET", "/ping", m.Ping)
LIST_PROVIDERS = Endpoint("listProviders", "GET", "/providers", m.ProviderList, query=("country",))
GET_USAGE = Endpoint("getUsage", "GET", "/usage", m.Usage, query=("period",))
CREATE_APPLICATION = Endpoint("createApplication", "POST", "/applications", m.Application, 201,
                              body=("applicant", "consents", "amount", "currency", "term_months", "purpose"),
                              idempotency_key=True)
LIST_APPLICATIONS = Endpoint("listApplications", "GET", "/applications", m.ApplicationPage,
                             query=("status", "created_after", "cursor", "limit"))
GET_APPLICATION = Endpoint("getApplication", "GET", "/applications/{application_id}", m.Application)
WITHDRAW_APPLICATION = Endpoint("withdrawApplication", "POST", "/applications/{application_id}/withdraw",
                                m.Application, idempotency_key=True)
LIST_OFFERS = Endpoint("listOffers", "GET", "/applications/{application_id}/offers", m.OfferList)
GET_OFFER_AGREEMENT = Endpoint("getOfferAgreement", "GET",
                               "/applications/{application_id}/offers/{offer_id}/agreement", m.Agreement)
ACCEPT_OFFER = Endpoint("acceptOffer", "POST", "/applications/{application_id}/offers/{offer_id}/accept", m.Loan,
                        201, body=("signature_name", "consent", "agreement_sha256", "bank_account"),
                        idempotency_key=True)
GET_LOAN = Endpoint("getLoan", "GET", "/loans/{loan_id}", m.Loan)

ALL = (PING, LIST_PROVIDERS, GET_USAGE, CREATE_APPLICATION, LIST_APPLICATIONS, GET_APPLICATION,
       WITHDRAW_APPLICATION, LIST_OFFERS, GET_OFFER_AGREEMENT, ACCEPT_OFFER, GET_LOAN)


def uses(endpoint: Endpoint) -> Callable[[F], F]:
    """Marks a public SDK method with the operation it calls, for the contract test."""
    def mark(fn: F) -> F:
        fn.__caas_endpoint__ = endpoint  # type: ignore[attr-defined]
        return fn
    return mark
