"""Pure tests of the decision steps: KYC, policy rules, and the order of the decision."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from caas.credit.rules import Check, PolicyFacts, ProfileFacts, Request, decide, kyc_checks, policy_rules

TODAY = date(2026, 11, 21)
PROFILE = ProfileFacts(country="NG", national_id="22345678901", date_of_birth=date(1990, 4, 12),
                       monthly_net_income_minor=45_000_000, monthly_expenses_minor=15_000_000,
                       existing_debt_payments_minor=2_000_000, currency="NGN")
POLICY = PolicyFacts(currencies=("NGN",), min_amount_minor=1_000_000, max_amount_minor=500_000_000,
                     allowed_terms=(6, 12), max_debt_to_income=Decimal("0.40"), min_age=21,
                     auto_decline_below_grade="D")
REQUEST = Request(amount_minor=25_000_000, currency="NGN", term_months=12, monthly_payment_minor=2_363_990)


def test_kyc_passes_for_a_consistent_nigerian_profile():
    assert all(c.passed for c in kyc_checks(PROFILE, TODAY))


def test_kyc_flags_a_bad_id_and_inconsistent_outgoings():
    bad = ProfileFacts(**{**PROFILE.__dict__, "national_id": "1234", "monthly_expenses_minor": 200_000_000})
    failed = {c.code for c in kyc_checks(bad, TODAY) if not c.passed}
    assert failed == {"KYC_ID_FORMAT", "KYC_INCOME_CONSISTENT"}


def test_policy_dti_uses_the_new_payment_plus_existing_debt():
    # (20,000.00 + 23,639.90) / 450,000.00 = 0.0970
    dti = next(c for c in policy_rules(PROFILE, POLICY, REQUEST, TODAY) if c.code == "POLICY_DTI")
    assert dti.passed and "0.0970" in dti.detail
    heavy = Request(amount_minor=25_000_000, currency="NGN", term_months=12, monthly_payment_minor=17_000_000)
    dti = next(c for c in policy_rules(PROFILE, POLICY, heavy, TODAY) if c.code == "POLICY_DTI")
    assert not dti.passed and "0.4222" in dti.detail  # (20,000 + 170,000) / 450,000


def test_policy_min_age_term_and_currency():
    young = ProfileFacts(**{**PROFILE.__dict__, "date_of_birth": date(2006, 1, 1)})
    request = Request(amount_minor=25_000_000, currency="USD", term_months=9, monthly_payment_minor=1)
    failed = {c.code for c in policy_rules(young, POLICY, request, TODAY) if not c.passed}
    assert failed == {"POLICY_MIN_AGE", "POLICY_CURRENCY", "POLICY_TERM"}


OK = [Check("X", True, "")]


@pytest.mark.parametrize("kyc, hits, rules, grade, expected", [
    ([Check("KYC_ID_FORMAT", False, "bad")], [{"matched_name": "X", "score": 99}], OK, "A", "decline"),
    (OK, [{"matched_name": "OSAMA BIN LADEN", "score": 97}], [Check("POLICY_DTI", False, "")], "A", "refer"),
    (OK, [], [Check("POLICY_DTI", False, "too high")], "A", "decline"),
    (OK, [], OK, "E", "decline"),
    (OK, [], OK, "D", "refer"),
    (OK, [], OK, "C", "approve"),
    (OK, [], OK, "A", "approve"),
])
def test_decision_order(kyc, hits, rules, grade, expected):
    outcome = decide(kyc, hits, rules, grade, [{"code": "R1", "text": "r"}] * 6, POLICY)
    assert outcome.outcome == expected
    if expected == "decline" and grade == "E":
        assert len(outcome.reasons) == 4  # at most four adverse-action reasons


def test_cut_off_at_e_approves_grade_e_rather_than_referring():
    policy = PolicyFacts(**{**POLICY.__dict__, "auto_decline_below_grade": "E"})
    assert decide(OK, [], OK, "E", [], policy).outcome == "approve"
