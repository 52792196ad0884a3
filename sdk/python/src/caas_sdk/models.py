"""What the API returns, as dataclasses with the API's own field names and JSON types.

Amounts stay as the API sends them: decimal strings in major units (``"250000.00"``; use
``decimal.Decimal``, never float) or integers in minor units (``*_minor``). Times are ISO 8601
strings. The contract test (``caas_sdk.contract``) checks every field here against the OpenAPI
document's response schemas, both ways, with its type and whether it may be null.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Application:
    id: str
    object: str
    status: str
    borrower_id: str
    amount: str | None
    amount_minor: int | None
    currency: str | None
    term_months: int | None
    purpose: str | None
    indicative_monthly_payment: str | None
    indicative_apr: str | None
    channel: str
    submitted_at: str | None
    created_at: str | None
    decision_reasons: list
    updated_at: str | None = None


@dataclass(frozen=True)
class ApplicationPage:
    data: list[Application]
    has_more: bool
    next_cursor: str | None


@dataclass(frozen=True)
class Lender:
    """The provider behind an offer or a loan."""
    id: str
    display_name: str


@dataclass(frozen=True)
class Offer:
    id: str
    object: str
    application_id: str
    status: str
    provider: Lender
    currency: str
    amount: str
    term_months: int
    annual_rate: str
    apr: str
    origination_fee: str
    monthly_payment: str
    total_repayable: str
    total_cost_of_credit: str
    valid_until: str
    best: bool


@dataclass(frozen=True)
class OfferList:
    data: list[Offer]


@dataclass(frozen=True)
class Agreement:
    version: str
    sha256: str
    text: str


@dataclass(frozen=True)
class Installment:
    number: int
    due_date: str
    principal: str
    interest: str
    total: str
    balance: str
    paid: str


@dataclass(frozen=True)
class Loan:
    id: str
    object: str
    status: str
    application_id: str
    offer_id: str
    provider: Lender
    currency: str
    principal: str
    origination_fee: str
    amount_paid_out: str
    annual_rate: str
    apr: str
    term_months: int
    monthly_payment: str
    total_interest: str
    total_repayable: str
    start_date: str
    maturity_date: str
    schedule: list[Installment]
    created_at: str | None


@dataclass(frozen=True)
class Provider:
    """A lender in the client's provider network."""
    id: str
    legal_name: str
    country: str
    currencies: list[str]


@dataclass(frozen=True)
class ProviderList:
    data: list[Provider]


@dataclass(frozen=True)
class UsageMetric:
    metric: str
    quantity: int
    included_units: int
    billable_units: int
    amount_minor: int
    amount: str
    price: str


@dataclass(frozen=True)
class InvoiceSummary:
    id: str
    number: str
    period: str
    status: str
    currency: str
    total_minor: int


@dataclass(frozen=True)
class Usage:
    period: str
    currency: str
    metrics: list[UsageMetric]
    estimate_minor: int
    invoices: list[InvoiceSummary]


@dataclass(frozen=True)
class Ping:
    ok: bool
    client: str
    mode: str
    scopes: list[str]


def parse(cls: type[T], data: Any) -> T:
    """Build ``cls`` from the API's JSON: nested dataclasses and lists of them are built too, keys
    the SDK does not know yet are ignored (the API may add fields), absent optional ones are None."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _value(hints[f.name], data[f.name])
        elif f.default is dataclasses.MISSING:
            values[f.name] = None
    return cls(**values)


def _value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    base = unwrap_optional(hint)
    if dataclasses.is_dataclass(base):
        return parse(base, value)
    if typing.get_origin(base) is list:
        (item,) = typing.get_args(base) or (Any,)
        if dataclasses.is_dataclass(item):
            return [parse(item, v) for v in value]
    return value


def unwrap_optional(hint: Any) -> Any:
    """``X | None`` → ``X``; anything else unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def to_dict(model: Any) -> dict:
    """The model as the API's JSON object (the field names are the API's)."""
    return dataclasses.asdict(model)
