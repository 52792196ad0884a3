"""The scorecard file (JSON, versioned by content hash), PD, grades and reasons."""

from __future__ import annotations

import hashlib
import json
import math

import pytest

from caas.credit.scorecard.model import DEFAULT_GRADES, ModelError, Scorecard, load_model, train


def test_json_round_trip_keeps_every_prediction(model, german, tmp_path) -> None:
    rows, _ = german
    path = model.save(tmp_path)
    loaded = load_model(path)
    assert loaded.to_dict() == model.to_dict()
    assert [loaded.predict(row) for row in rows[:100]] == [model.predict(row) for row in rows[:100]]


def test_the_file_is_named_and_versioned_by_the_hash_of_its_content(model, tmp_path) -> None:
    path = model.save(tmp_path)
    document = json.loads(path.read_text())  # plain JSON: no pickle anywhere
    content = {key: value for key, value in document.items() if key != "version"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert document["version"] == digest[:12]
    assert path.name == f"scorecard-{digest[:12]}.json"
    assert {"features", "intercept", "grades", "approval_max_pd", "metrics", "training"} <= set(document)
    assert all("bins" in f and "coefficient" in f and "reason_code" in f for f in document["features"])


def test_same_training_data_gives_the_same_version(german) -> None:
    rows, labels = german
    first = train(rows, labels, cross_validation=False)
    again = train(rows, labels, cross_validation=False)
    assert first.version == again.version
    assert train(rows[1:], labels[1:], cross_validation=False).version != first.version


def test_an_altered_file_is_refused(model, tmp_path) -> None:
    path = model.save(tmp_path)
    document = json.loads(path.read_text())
    document["intercept"] += 0.5
    path.write_text(json.dumps(document))
    with pytest.raises(ModelError, match="altered"):
        load_model(path)
    path.write_text("not json")
    with pytest.raises(ModelError):
        load_model(path)


def test_pd_is_the_logistic_of_intercept_plus_coefficient_times_woe(model, german) -> None:
    rows, _ = german
    document = model.to_dict()
    row = rows[0]
    logit = document["intercept"]
    for feature in document["features"]:
        value = row[feature["attribute"]]
        bins = feature["bins"]
        if "categories" in bins[0]:
            woe = next(b["woe"] for b in bins if value in b["categories"])
        else:
            woe = next(b["woe"] for b in bins if b["upper"] is None or value <= b["upper"])
        logit += feature["coefficient"] * woe
    assert model.predict_pd(row) == pytest.approx(1 / (1 + math.exp(-logit)))


def test_every_coefficient_makes_a_safer_bin_lower_the_pd(model) -> None:
    assert all(feature.coefficient < 0 for feature in model.features)


def test_unknown_values_are_neutral(model) -> None:
    # Nothing known: every WoE is 0 and the PD is the logistic of the intercept alone.
    assert model.predict_pd({}) == pytest.approx(1 / (1 + math.exp(-model.intercept)))
    assert model.predict({}).reasons == ()


@pytest.mark.parametrize(("pd", "grade"), [
    (0.0, "A"), (0.0799, "A"), (0.08, "B"), (0.1666, "B"), (0.1667, "C"), (0.2999, "C"), (0.30, "D"),
    (0.4999, "D"), (0.50, "E"), (1.0, "E"),
])
def test_default_grade_cut_offs(model, pd: float, grade: str) -> None:
    assert dict(DEFAULT_GRADES) == {"A": 0.08, "B": 0.1667, "C": 0.30, "D": 0.50, "E": 1.0}
    assert model.grade(pd) == grade


def test_grade_cut_offs_from_configuration(model) -> None:
    strict = [("A", 0.02), ("B", 0.05), ("C", 0.10), ("D", 0.20), ("E", 1.0)]
    assert model.grade(0.07, strict) == "C"
    assert model.predict({}, strict).grade == model.grade(model.predict_pd({}), strict)
    with pytest.raises(ModelError):
        model.grade(0.1, [("A", 0.2), ("B", 0.1), ("E", 1.0)])  # not rising
    with pytest.raises(ModelError):
        Scorecard(model.features, model.intercept, grades=[("A", 0.1), ("B", 0.5)])  # does not reach 1.0


def test_reasons_are_the_four_attributes_that_raised_the_pd_most(model, german) -> None:
    rows, _ = german
    document = model.to_dict()
    codes = {f["attribute"]: f["reason_code"] for f in document["features"]}
    worst = max(rows, key=model.predict_pd)
    prediction = model.predict(worst)
    # Independently: the term of each attribute is coefficient x WoE of its bin.
    terms = {f.attribute: f.coefficient * f.binning.woe(worst[f.attribute]) for f in model.features}
    adverse = sorted((a for a, t in terms.items() if t > 0), key=lambda a: -terms[a])
    assert len(adverse) > 4  # this applicant has more than four adverse attributes ...
    assert [r.attribute for r in prediction.reasons] == adverse[:4]  # ... and we name the four largest
    assert [r.code for r in prediction.reasons] == [codes[a] for a in adverse[:4]]
    assert all(r.impact > 0 and r.text for r in prediction.reasons)


def test_an_applicant_in_the_best_bins_gets_no_reasons(model) -> None:
    best = {}
    for feature in model.features:
        top = max(feature.binning.bins, key=lambda b: b.woe)
        if top.categories:
            best[feature.attribute] = top.categories[0]
        else:  # a value inside the bin: its upper limit, or far above the last limit
            best[feature.attribute] = top.upper if top.upper is not None else 10 ** 6
    prediction = model.predict(best)
    assert prediction.reasons == ()
    assert prediction.grade == "A"


def test_reason_codes_are_stable_strings(model) -> None:
    codes = {f["attribute"]: f["reason_code"] for f in model.to_dict()["features"]}
    assert codes["A1"] == "R01_checking_account_status"
    assert codes["A13"] == "R13_age_years"


def test_points_fall_as_the_pd_rises(model) -> None:
    # 600 points at odds 50:1 (PD 1/51), 20 fewer each time the odds halve.
    assert model.points(1 / 51) == 600
    assert model.points(1 / 26) == 580
    assert model.points(0.5) < model.points(0.1)


def test_data_without_information_is_refused() -> None:
    # Every applicant alike but the label: no attribute separates good from bad.
    row = {"A1": "A11", "A2": 12, "A3": "A32", "A4": "A43", "A5": 1000, "A6": "A61", "A7": "A73", "A8": 2,
           "A10": "A101", "A11": 2, "A12": "A121", "A13": 30, "A14": "A143", "A15": "A152", "A16": 1,
           "A17": "A173", "A18": 1, "A19": "A191"}
    with pytest.raises(ModelError, match="no attribute"):
        train([row] * 20, [0, 1] * 10, cross_validation=False)
