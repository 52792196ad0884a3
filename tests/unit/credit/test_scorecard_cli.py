"""``flask scoring train`` and ``flask scoring evaluate``, invoked on the click group directly."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from caas.credit.scorecard.cli import scoring_cli
from caas.credit.scorecard.model import load_model


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(scoring_cli, list(args), prog_name="flask scoring", env=env)


@pytest.fixture(scope="module")
def trained(german_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    result = run("train", "--data", str(german_path), "--out", str(out), "--folds", "3")
    assert result.exit_code == 0, result.output
    return out, result.output


def test_train_writes_a_hash_named_file_and_prints_path_and_metrics(trained) -> None:
    out, output = trained
    path = output.splitlines()[0]
    assert re.fullmatch(re.escape(str(out)) + r"/scorecard-[0-9a-f]{12}\.json", path)
    assert load_model(path).version in path
    assert "AUC" in output and "KS" in output and "Gini" in output


def test_evaluate_prints_figures_and_json_last(trained, german, german_path) -> None:
    out, output = trained
    path = output.splitlines()[0]
    result = run("evaluate", str(german_path), "--model", path)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.splitlines()[-1])
    assert set(figures) == {"auc", "ks", "cost_per_applicant"}
    rows, labels = german
    model = load_model(path)
    assert figures["auc"] == pytest.approx(roc_auc_score(labels, [model.predict_pd(r) for r in rows]), abs=1e-4)
    for grade in "ABCDE":
        assert re.search(rf"^{grade}\s", result.output, re.MULTILINE)


def test_evaluate_takes_the_model_dir_from_the_environment(trained, german_path) -> None:
    out, _ = trained
    result = run("evaluate", str(german_path), env={"CAAS_MODEL_DIR": str(out)})
    assert result.exit_code == 0, result.output


def test_evaluate_needs_a_model(german_path, tmp_path) -> None:
    result = run("evaluate", str(german_path), env={"CAAS_MODEL_DIR": ""})
    assert result.exit_code == 2 and "CAAS_MODEL_DIR" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("evaluate", str(german_path), "--model", str(empty))
    assert result.exit_code == 1 and "exactly one" in result.output


def test_malformed_data_is_refused_with_its_line(trained, tmp_path) -> None:
    out, output = trained
    bad = tmp_path / "bad.data"
    bad.write_text("A12 48 A32 A43 5951 A61 A73 2 A92 A101 2 A121 22 A143 A152 1 A173 1 A191 A201 2\nA12 48\n")
    for args in (("train", "--data", str(bad), "--out", str(tmp_path)),
                 ("evaluate", str(bad), "--model", output.splitlines()[0])):
        result = run(*args)
        assert result.exit_code == 1
        assert "line 2: expected 21 fields, found 2" in result.output
