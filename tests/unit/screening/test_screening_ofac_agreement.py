"""Agreement with OFAC's own Sanctions List Search on the 170 pairs of ofac_search_scores.csv.

Within 5 points counts as agreement; a row of -1 (OFAC did not return the name at threshold 80)
agrees when our score is below 80, and its error is how far we are at or above 80 (our score - 79),
the least OFAC's unknown score could be off by.
"""

from __future__ import annotations

from statistics import mean

from click.testing import CliRunner

from caas.screening.cli import sanctions_cli
from caas.screening.matcher import score_names


def error(ours: int, ofac: int) -> int:
    return max(0, ours - 79) if ofac == -1 else abs(ours - ofac)


def figures(rows: list[dict[str, str]], ours: list[int]) -> tuple[float, float]:
    errors = [error(score, int(row["ofac_score"])) for row, score in zip(rows, ours, strict=True)]
    return sum(e <= 5 for e in errors) / len(errors), mean(errors)


def test_reference_has_all_170_rows(ofac_rows) -> None:
    assert len(ofac_rows) == 170


def test_scores_agree_with_ofac(ofac_rows) -> None:
    ours = [score_names(row["query_name"], row["result_name"]) for row in ofac_rows]
    within, mae = figures(ofac_rows, ours)
    print(f"\nOFAC agreement over {len(ofac_rows)} pairs: {within:.1%} within 5 points, mean absolute error {mae:.2f}")
    assert within >= 0.90
    assert mae <= 3.0


def test_exact_and_reordered_names_score_100_as_ofac_does(ofac_rows) -> None:
    for row in ofac_rows:
        if row["query_name"] == "VLADIMIR PUTIN" and row["result_name"].startswith("PUTIN, Vladimir"):
            assert row["ofac_score"] == "100"
            assert score_names(row["query_name"], row["result_name"]) == 100


def test_the_pairs_command_prints_the_same_scores_in_order(ofac_rows, tmp_path) -> None:
    pairs = tmp_path / "pairs.csv"
    lines = ["name1,name2,ofac"] + [
        ",".join('"' + value.replace('"', '""') + '"' for value in (r["query_name"], r["result_name"], r["ofac_score"]))
        for r in ofac_rows]
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(sanctions_cli, ["compare", "--pairs", str(pairs)])
    assert result.exit_code == 0, result.output
    printed = [int(line) for line in result.output.splitlines()]
    assert printed == [score_names(r["query_name"], r["result_name"]) for r in ofac_rows]
    within, mae = figures(ofac_rows, printed)
    assert within >= 0.90 and mae <= 3.0
