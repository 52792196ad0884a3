"""Pure: name and date-of-birth matching, the identity rule and the decision, the sandbox's rules,
masking and fingerprints. No app, no database."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from caas.credit import rules
from caas.credit.identity import SandboxVerifier, Status, matching, verifier_from_config
from caas.credit.identity.records import Details, fingerprint, id_types_for, mask

BORN = date(1990, 4, 12)


@pytest.mark.parametrize("given, on_record, expected", [
    ("Adaeze Okoro", "ADAEZE OKORO", Decimal("100.00")),
    ("Adaeze Okoro", "OKORO Adaeze", Decimal("100.00")),  # word order
    ("Adaeze Okoro", "OKORO Adaeze Chioma", Decimal("100.00")),  # a middle name left out
    ("Zoë Müller", "ZOE MULLER", Decimal("100.00")),  # accents
    ("Adaeze O'Koro", "Adaeze Okoro", Decimal("100.00")),  # punctuation
    ("Adaze Okoro", "ADAEZE OKORO", Decimal("95.65")),  # a typo in one word
    ("Emeka Okoro", "Adaeze Okoro", Decimal("69.57")),  # a shared surname is not the same person
    ("Okoro", "Emeka Okoro", Decimal("62.50")),  # nor is a lone surname a subset match
    ("Adaeze Okoro", "", Decimal("0.00")),
])
def test_name_score(given, on_record, expected):
    assert matching.name_score(given, on_record) == expected


@pytest.mark.parametrize("text, expected", [
    ("1990-04-12", BORN), ("12-04-1990", BORN), ("12-Apr-1990", BORN), ("12 APR 1990", BORN),
    ("12/04/1990", BORN), ("", None), (None, None), ("31-02-1990", None), ("yesterday", None),
])
def test_registry_dates(text, expected):
    assert matching.parse_date(text) == expected


def test_compare_needs_the_name_above_the_threshold_and_the_same_date():
    assert matching.compare("Adaeze Okoro", BORN, "OKORO ADAEZE", BORN).matched
    assert not matching.compare("Adaeze Okoro", BORN, "OKORO ADAEZE", date(1990, 4, 13)).matched
    assert not matching.compare("Adaeze Okoro", BORN, "OKORO ADAEZE", None).matched
    typo = matching.compare("Adaze Okoro", BORN, "ADAEZE OKORO", BORN, threshold=Decimal("96"))
    assert (typo.name_score, typo.dob_match, typo.matched) == (Decimal("95.65"), True, False)


@pytest.mark.parametrize("number, status", [
    ("22345678901", Status.matched), ("22345678909", Status.mismatched), ("22345678908", Status.not_found),
    ("22345678907", Status.error),
])
def test_sandbox_rules(number, status):
    sandbox = SandboxVerifier()
    result = sandbox.verify("NG", "BVN", number, "Adaeze Okoro", BORN)
    assert result.status is status and result.provider == "sandbox" and sandbox.calls == 1
    if status is Status.error:
        assert result.reference is None and not result.definitive
    else:
        again = sandbox.verify("NG", "BVN", number, "Adaeze Okoro", BORN)
        assert result.reference == again.reference and result.reference.startswith("sbx_")
        assert number not in str(result.raw_summary)  # no personal data in the summary
    if status is Status.matched:
        assert (result.name_match_score, result.dob_match) == (Decimal("100.00"), True)
    if status is Status.mismatched:
        assert result.name_match_score < Decimal("50") and result.dob_match is False


def test_sandbox_reference_depends_on_the_id():
    sandbox = SandboxVerifier()
    assert (sandbox.verify("NG", "BVN", "22345678901", "A B", BORN).reference
            != sandbox.verify("NG", "BVN", "22345678911", "A B", BORN).reference)


def test_the_factory_knows_the_providers_and_wants_credentials():
    assert verifier_from_config("Sandbox").name == "sandbox"
    assert verifier_from_config("sandbox", threshold="90").threshold == Decimal("90")
    with pytest.raises(ValueError, match="api_key and app_id"):
        verifier_from_config("prembly", {"api_key": "k"})
    with pytest.raises(ValueError, match="unknown identity provider"):
        verifier_from_config("smileid")


def test_mask_fingerprint_and_id_types():
    assert mask("22345678901") == "*******8901"
    ada = Details("NG", "22345678901", "Adaeze Okoro", BORN)
    assert fingerprint("k", ada) == fingerprint("k", Details("NG", "22345678901", "adaeze  okoro", BORN))
    assert fingerprint("k", ada) != fingerprint("other key", ada)
    assert fingerprint("k", ada) != fingerprint("k", Details("NG", "22345678901", "Adaeze Okoro", date(1990, 4, 13)))
    assert "22345678901" not in fingerprint("k", ada)
    assert id_types_for("ng") == ("BVN", "NIN") and id_types_for("FR") == ("NATIONAL_ID",)


def facts(status, **kw):
    values = dict(status=status, provider="sandbox", reference="sbx_1", id_type="BVN", name_match_score=Decimal("31.25"),
                  dob_match=False)
    values.update(kw)
    return rules.IdentityFacts(**values)


def test_identity_rule():
    assert rules.identity_check(None) is None  # not required: skipped
    passed = rules.identity_check(facts("matched", name_match_score=Decimal("100"), dob_match=True))
    assert (passed.code, passed.passed, passed.detail) == ("KYC_IDENTITY_VERIFIED", True,
                                                           "BVN matched by sandbox (ref sbx_1)")
    mismatch = rules.identity_check(facts("mismatched"))
    assert not mismatch.passed
    assert mismatch.detail == ("BVN does not match the sandbox record: name similarity 31.25 of 100, "
                               "date of birth differs (ref sbx_1)")
    assert "blocked" in rules.identity_check(facts("mismatched", blocked=True)).detail
    missing = rules.identity_check(facts("not_found", id_type="BVN/NIN"))
    assert not missing.passed and missing.detail == "sandbox found no BVN/NIN with this number (ref sbx_1)"
    with pytest.raises(ValueError, match="not a result"):
        rules.identity_check(facts("error"))


POLICY = rules.PolicyFacts(currencies=("NGN",), min_amount_minor=1, max_amount_minor=10**12, allowed_terms=(6,),
                           max_debt_to_income=Decimal("0.4"), min_age=18, auto_decline_below_grade="E")
OK = [rules.Check("X", True, "ok")]


def test_an_unverified_identity_refers_with_its_reason_and_a_verified_one_changes_nothing():
    mismatch = rules.identity_check(facts("mismatched"))
    outcome = rules.decide(OK, [], OK, "A", [], POLICY, identity=mismatch)
    assert outcome.outcome == "refer"
    assert outcome.reasons == [{"code": "IDENTITY_NOT_VERIFIED", "text": mismatch.detail}]
    verified = rules.identity_check(facts("matched", dob_match=True, name_match_score=Decimal("100")))
    assert rules.decide(OK, [], OK, "A", [], POLICY, identity=verified).outcome == "approve"
    assert rules.decide(OK, [], OK, "A", [], POLICY).outcome == "approve"
    # A failed KYC format check still declines first; a sanctions hit and the identity both show.
    assert rules.decide([rules.Check("KYC_ID_FORMAT", False, "bad")], [], OK, "A", [], POLICY,
                        identity=mismatch).outcome == "decline"
    both = rules.decide(OK, [{"matched_name": "X Y", "score": 90}], OK, "A", [], POLICY, identity=mismatch)
    assert [r["code"] for r in both.reasons] == ["SANCTIONS_POSSIBLE_MATCH", "IDENTITY_NOT_VERIFIED"]
