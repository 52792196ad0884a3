"""The application form mapped onto the German Credit attributes; protected attributes never used."""

from __future__ import annotations

from datetime import date

import pytest

from caas.credit.scorecard.features import (
    MODEL_ATTRIBUTES,
    FeatureError,
    application_attributes,
    parse_german,
)
from caas.credit.scorecard.model import Feature, ModelError, Scorecard
from caas.credit.scorecard.woe import Bin, Binning

APPLICATION = {
    "amount_minor": 2_000_000, "currency": "NGN", "term_months": 24, "purpose": "used_car",
    "employment_status": "employed", "months_employed": 30, "monthly_net_income_minor": 1_000_000,
    "monthly_expenses_minor": 400_000, "existing_debt_payments_minor": 100_000, "housing": "own",
    "date_of_birth": "1990-05-20", "existing_credits": 2, "savings_minor": 500_000, "checking_band": "none",
    "dependants": 3, "has_phone": True, "months_at_address": 30, "credit_history": "paid_duly",
    "other_debtors": "none",
}


def test_a_full_application_maps_as_documented() -> None:
    attributes = application_attributes(APPLICATION, as_of=date(2026, 5, 19))
    assert attributes == {
        "A1": "A14",  # no checking account
        "A2": 24,
        "A3": "A32",  # existing credits paid back duly till now
        "A4": "A41",  # car (used)
        "A5": 3000,  # 2 months of net income x 1,500 DM
        "A6": "A63",  # savings of half a month's income: 750 DM, in 500..1000 DM
        "A7": "A73",  # employed 30 months: 1 to 4 years
        "A8": 1,  # 20,000/24 a month of 500,000 disposable: 16.7%, under 20%
        "A10": "A101",
        "A11": 2,  # 30 months at the address: 1 to 4 years
        "A12": "A121",  # owns the home: real estate
        "A13": 35,  # one day before the 36th birthday
        "A14": "A141",  # pays other debts: other instalment plans (bank)
        "A15": "A152",
        "A16": 2,
        "A17": "A173",  # employed: skilled employee
        "A18": 2,  # 3 dependants: the data codes 1 or 2 and more
        "A19": "A192",
    }


def test_protected_attributes_are_never_produced_nor_used(model) -> None:
    assert "A9" not in MODEL_ATTRIBUTES and "A20" not in MODEL_ATTRIBUTES
    assert set(application_attributes(APPLICATION)) == set(MODEL_ATTRIBUTES)
    used = {feature.attribute for feature in model.features}
    assert used and not used & {"A9", "A20"}
    assert all(f["attribute"] not in ("A9", "A20") for f in model.to_dict()["features"])
    assert model.to_dict()["training"]["excluded_attributes"] == ["A20", "A9"]


def test_protected_attributes_do_not_move_the_pd(model, german) -> None:
    rows, _ = german
    for row in rows[:50]:
        base = model.predict_pd(row)
        for a9 in ("A91", "A92", "A93", "A94", "A95"):
            for a20 in ("A201", "A202"):
                assert model.predict_pd({**row, "A9": a9, "A20": a20}) == base


def test_a_scorecard_refuses_a_protected_attribute() -> None:
    binning = Binning("A9", "categorical", (Bin(10, 5, 0.0, ("A91",)),), 0.0)
    with pytest.raises(ModelError, match="protected"):
        Scorecard([Feature(binning, -1.0)], 0.0)


def test_missing_fields_are_unknown() -> None:
    assert application_attributes({}) == {code: None for code in MODEL_ATTRIBUTES}
    # Without income, amounts cannot be put in DM terms, nor the instalment in a share of income.
    partial = application_attributes({"amount_minor": 500_000, "term_months": 12})
    assert (partial["A2"], partial["A5"], partial["A8"]) == (12, None, None)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"employment_status": "unemployed"}, {"A7": "A71", "A17": "A171"}),
    ({"employment_status": "self_employed", "months_employed": 100}, {"A7": "A75", "A17": "A174"}),
    ({"employment_status": "employed", "months_employed": 11}, {"A7": "A72", "A17": "A173"}),
    ({"employment_status": "retired"}, {"A7": None, "A17": None}),
    ({"housing": "rent"}, {"A15": "A151", "A12": None}),
    ({"term_months": 120, "age": 16}, {"A2": 72, "A13": 19}),
    ({"existing_credits": 0, "dependants": 0}, {"A16": 1, "A18": 1}),
    ({"checking_balance_minor": -10, "monthly_net_income_minor": 1000}, {"A1": "A11"}),
    ({"checking_balance_minor": 200, "monthly_net_income_minor": 1000}, {"A1": "A13"}),  # 300 DM
    ({"savings_band": "none"}, {"A6": "A65"}),
    ({"purpose": "vacation"}, {"A4": "A410"}),  # A47 never occurs in the data
    ({"purpose": "Home improvement"}, {"A4": "A45"}),  # the platform's spelling: words, any case
    ({"purpose": "business expansion"}, {"A4": "A49"}),
    # 10,000 a month of 40,000 disposable is exactly 25%: not under 25%, so code 3 (25..35%).
    ({"monthly_payment_minor": 10_000, "monthly_net_income_minor": 40_000}, {"A8": 3}),
    ({"monthly_payment_minor": 1, "monthly_net_income_minor": 100, "monthly_expenses_minor": 100}, {"A8": 4}),
])
def test_field_rules(fields: dict, expected: dict) -> None:
    attributes = application_attributes(fields, as_of=date(2026, 1, 1))
    assert {key: attributes[key] for key in expected} == expected


@pytest.mark.parametrize("fields", [
    {"purpose": "yacht"}, {"housing": "castle"}, {"employment_status": "pirate"},
    {"monthly_net_income_minor": -5}, {"term_months": "twelve"}, {"date_of_birth": "31/12/1990"},
])
def test_unrecognised_values_are_errors_not_unknowns(fields: dict) -> None:
    with pytest.raises(FeatureError):
        application_attributes(fields)


def test_reference_data_is_read_in_full(german, german_path) -> None:
    rows, labels = german
    raw = [line.split() for line in german_path.read_text().splitlines() if line.strip()]
    assert len(rows) == len(raw) == 800
    assert sum(labels) == sum(1 for fields in raw if fields[-1] == "2")
    assert rows[0]["A1"] == raw[0][0] and rows[0]["A2"] == int(raw[0][1])


@pytest.mark.parametrize(("text", "message"), [
    ("A12 48 A32\n", "line 1: expected 21 fields, found 3"),
    ("\n" + "A12 x A32 A43 5951 A61 A73 2 A92 A101 2 A121 22 A143 A152 1 A173 1 A191 A201 2\n",
     "line 2: A2 is not a number"),
    ("A19 48 A32 A43 5951 A61 A73 2 A92 A101 2 A121 22 A143 A152 1 A173 1 A191 A201 2\n", "line 1: A1 has no value 'A19'"),
    ("A12 48 A32 A43 5951 A61 A73 2 A92 A101 2 A121 22 A143 A152 1 A173 1 A191 A201 3\n", "line 1: class must be"),
    ("", "no data"),
])
def test_malformed_german_data_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(FeatureError, match=message):
        parse_german(text)


def test_every_purpose_employment_status_and_housing_the_platform_offers_maps() -> None:
    # The application form's own choices (caas.credit.applications.PURPOSES, caas.credit.kyc).
    platform_purposes = ("business expansion", "working capital", "education", "medical", "home improvement",
                         "vehicle", "debt consolidation", "personal")
    for purpose in platform_purposes:
        assert application_attributes({"purpose": purpose})["A4"] is not None
    for status in ("employed", "self_employed", "unemployed", "student", "retired"):
        application_attributes({"employment_status": status, "months_employed": 5})
    for housing in ("own", "rent", "free"):
        assert application_attributes({"housing": housing})["A15"] is not None
