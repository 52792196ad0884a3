"""``flask sanctions compare``, invoked on the click group directly (no app needed)."""

from __future__ import annotations

from click.testing import CliRunner

from caas.screening.cli import sanctions_cli


def run(*args: str):
    return CliRunner().invoke(sanctions_cli, list(args), prog_name="flask sanctions")


def test_compare_prints_the_score_last(ofac_rows) -> None:
    # OFAC: "PABLO ESCOBAR" vs "ESCOBAR HENAO, Pablo" scores 97; ours is within 5 of it.
    result = run("compare", "PABLO ESCOBAR", "ESCOBAR HENAO, Pablo")
    assert result.exit_code == 0, result.output
    assert "per part" in result.output and "whole name" in result.output
    ofac = next(int(r["ofac_score"]) for r in ofac_rows
                if (r["query_name"], r["result_name"]) == ("PABLO ESCOBAR", "ESCOBAR HENAO, Pablo"))
    assert abs(int(result.output.splitlines()[-1]) - ofac) <= 5


def test_compare_needs_two_names_or_a_file(tmp_path) -> None:
    assert run("compare", "ONLY ONE").exit_code == 2
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("name1,name2\nA,B\n")
    assert run("compare", "A", "B", "--pairs", str(pairs)).exit_code == 2


def test_pairs_in_order_other_columns_ignored(tmp_path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text('id,name2,name1\n1,"PUTIN, Vladimir",Vladimir Putin\n\n2,OBORON HOLDING LLC,ZZZZ\n', encoding="utf-8")
    result = run("compare", "--pairs", str(pairs))
    assert result.exit_code == 0, result.output
    # The same names in another order score 100; names without a letter in common score 0.
    assert result.output.splitlines() == ["100", "0"]  # blank lines are skipped


def write(tmp_path, text: str):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    return run("compare", "--pairs", str(path))


def test_a_malformed_pairs_file_is_refused_with_its_line(tmp_path) -> None:
    cases = {
        "name,other\nA,B\n": "line 1: header lacks name1, name2",
        "": "line 1: empty file",
        "name1,name2\nA,B\nC,D,E\n": "line 3: expected 2 fields, found 3",
        "name1,name2\nA,\n": "line 2: name2 is empty",
        'name1,name2\nA,B\n"C,D\n': "line 3: unreadable CSV",
        'name1,name2\nA,"multi\nline"\nC\n': "line 4: expected 2 fields, found 1",
    }
    for text, message in cases.items():
        result = write(tmp_path, text)
        assert result.exit_code == 1, (text, result.output)
        assert message in result.output, (text, result.output)
        assert result.output.startswith("Error:")
