"""tvm against numpy-financial's own test values (reference/tvm_function_cases.csv).

Each row is one test. The ``tolerance`` column is applied as numpy's tests
apply it: "N decimals" is ``assert_almost_equal(decimal=N)`` (|error| < 1.5e-N),
"rtol x" is relative, "exact Decimal" is equality of every digit. Where the
note gives the exact Decimal value, we check that too, strictly.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from caas.loans.maths import tvm


def _value(text: str):
    text = text.strip()
    if text.startswith("["):
        return [Decimal(x) for x in text.strip("[]").split(",")]
    if ".." in text:
        low, high = text.split("..")
        return list(range(int(low), int(high) + 1))
    if text in ("end", "begin"):
        return text
    if "/" in text:
        numerator, denominator = text.split("/")
        return Decimal(numerator) / Decimal(denominator)
    return Decimal(text)


def parse_args(text: str) -> tuple[dict[str, object], list[str]]:
    """``"rate=0.1/12, per=1..4, nper=24, pv=2000 (when=end or begin)"`` -> kwargs and the 'when's."""
    whens = ["end"]
    choice = re.search(r"\(when=end or begin\)", text)
    if choice:
        whens = ["end", "begin"]
    text = re.sub(r"\([^)]*\)", "", text).strip()
    if text.startswith("["):  # irr rows list only the values
        return {"values": _value(text)}, whens
    kwargs: dict[str, object] = {}
    for part in re.split(r",\s*(?![^\[]*\])", text):
        key, _, raw = part.partition("=")
        kwargs[key.strip()] = _value(raw)
    if "when" in kwargs:
        whens = [kwargs.pop("when")]
    return kwargs, whens


def tolerance_check(tolerance: str, expected: Decimal, actual: Decimal) -> None:
    tolerance = tolerance.strip()
    error = abs(actual - expected)
    if match := re.fullmatch(r"(\d+) decimals", tolerance):
        assert error < Decimal("1.5") * Decimal(10) ** -int(match[1]), (actual, expected)
    elif match := re.fullmatch(r"rounded to (\d+) dp", tolerance):
        assert actual.quantize(Decimal(10) ** -int(match[1])) == expected, (actual, expected)
    elif match := re.fullmatch(r"rtol (\S+)", tolerance):
        assert error <= Decimal(match[1]) * abs(expected), (actual, expected)
    elif match := re.fullmatch(r"atol (\S+)", tolerance):
        assert error <= Decimal(match[1]), (actual, expected)
    elif tolerance in ("exact Decimal", "exact"):
        assert actual == expected, (actual, expected)
    elif tolerance == "rounded to 8 dp (float)":
        # The float result itself carries binary error in the 7th decimal (the
        # note gives the exact Decimal); agree with it to float's precision.
        assert error <= Decimal("1e-12") * abs(expected), (actual, expected)
    else:  # pragma: no cover - a new tolerance wording must be taught to the test
        raise AssertionError(f"unknown tolerance {tolerance!r}")


def _call(function: str, kwargs: dict[str, object], when: str):
    func = getattr(tvm, function)
    if function in ("npv", "irr", "mirr"):
        return func(**kwargs)
    return func(**kwargs, when=when)


def test_tvm_matches_numpy_financial(tvm_case: dict[str, str]) -> None:
    function = tvm_case["function"]
    kwargs, whens = parse_args(tvm_case["args"])
    expected_text = tvm_case["expected"].strip()
    for when in whens:
        if expected_text == "NaN":
            # Infeasible: solvers answer None, period functions refuse.
            assert _call(function, kwargs, when) is None
            continue
        if expected_text == "npv(irr(x),x)=0":
            root = tvm.irr(kwargs["values"])
            assert root is not None
            tolerance_check(tvm_case["tolerance"], Decimal(0), tvm.npv(root, kwargs["values"]))
            continue
        if expected_text == "inf":
            assert _call(function, kwargs, when) == Decimal("Infinity")
            continue
        pers = kwargs.get("per")
        expected_values = [Decimal(x) for x in expected_text.split(";")]
        if isinstance(pers, list):
            assert len(pers) == len(expected_values)
            for per, expected in zip(pers, expected_values):
                actual = _call(function, {**kwargs, "per": Decimal(per)}, when)
                tolerance_check(tvm_case["tolerance"], expected, actual)
        else:
            (expected,) = expected_values
            tolerance_check(tvm_case["tolerance"], expected, _call(function, kwargs, when))
        note = re.search(r"Decimal (?:gives )?(-?[\d.]+)", tvm_case["note"])
        if note and ";" not in expected_text:
            # The exact Decimal value, to 20 significant places at least.
            exact = Decimal(note[1])
            assert abs(_call(function, kwargs, when) - exact) <= abs(exact) * Decimal("1e-20")


def test_ppmt_per_four_when_begin_from_note() -> None:
    # The ppmt 'when=begin' row's note: per=4 when=begin is -76.88882405 (4 decimals).
    actual = tvm.ppmt(Decimal("0.1") / 12, 4, 24, 2000, when="begin")
    tolerance_check("4 decimals", Decimal("-76.88882405"), actual)


def test_ipmt_gh17_first_period_when_begin_is_zero() -> None:
    # Note of the test_gh_17 rows: per=1 -> 0 when paying at the start of the period.
    assert tvm.ipmt(Decimal("0.001988079518355057"), 1, 360, 300000, when="begin") == 0


@pytest.mark.parametrize("function", ["ipmt", "ppmt"])
@pytest.mark.parametrize("per", [0, 25])
def test_period_outside_term_is_refused(function: str, per: int) -> None:
    # numpy-financial returns NaN for per=0 (GitHub main); we raise a clear error.
    with pytest.raises(ValueError, match="per must be between 1 and nper"):
        getattr(tvm, function)(Decimal("0.1") / 12, per, 24, 2000)


def test_irr_ignores_trailing_zero_flows() -> None:
    # Note of the irr row: the same answer with trailing zeros appended.
    with_zeros = tvm.irr([Decimal(x) for x in ("-5", "10.5", "1", "-8", "1", "0", "0", "0")])
    tolerance_check("2 decimals", Decimal("0.0886"), with_zeros)


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        tvm.pmt(0.1, 12, 1000)  # type: ignore[arg-type]
