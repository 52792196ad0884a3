"""tvm beyond the numpy-financial rows: solver robustness and closed forms."""

from __future__ import annotations

from decimal import Decimal, localcontext

from caas.loans.maths import tvm


def test_rate_to_full_precision_is_the_closed_form_root() -> None:
    # With no payments, (1 + r)^10 = 10000 / 3500.
    with localcontext() as ctx:
        ctx.prec = 40
        exact = (Decimal(10000) / 3500) ** (Decimal(1) / 10) - 1
    found = tvm.rate(10, 0, -3500, 10000, tol="1e-24")
    assert abs(found - exact) < Decimal("1e-25")


def test_rate_converges_from_a_guess_where_plain_newton_would_not() -> None:
    # Newton from a 1000 % guess overshoots below -100 %; the bracket keeps it in range.
    found = tvm.rate(12, -100, 1000, 0, guess=10)
    assert abs(tvm.pv(found, 12, -100) - 1000) < Decimal("1e-6")
    assert Decimal("0.029") < found < Decimal("0.030")


def test_rate_infeasible_whatever_the_guess() -> None:
    for guess in ("-0.5", "0", "0.1", "5"):
        assert tvm.rate(12, 400, 10000, 5000, guess=guess) is None


def test_rate_zero_when_payments_exactly_repay() -> None:
    assert tvm.rate(10, -100, 1000, 0) == 0


def test_irr_and_mirr_without_both_signs_are_none() -> None:
    assert tvm.irr([1, 2, 3]) is None
    assert tvm.mirr([1, 2, 3], "0.1", "0.1") is None


def test_pmt_pv_fv_are_consistent() -> None:
    rate, n, present = Decimal("0.01"), 24, Decimal(5000)
    payment = tvm.pmt(rate, n, present)
    assert abs(tvm.pv(rate, n, payment) - present) < Decimal("1e-20")
    assert abs(tvm.fv(rate, n, payment, present)) < Decimal("1e-20")
    assert abs(tvm.nper(rate, payment, present) - n) < Decimal("1e-20")
    interest = sum(tvm.ipmt(rate, k, n, present) for k in range(1, n + 1))
    principal = sum(tvm.ppmt(rate, k, n, present) for k in range(1, n + 1))
    assert abs(principal + present) < Decimal("1e-20")
    assert abs(interest + principal - payment * n) < Decimal("1e-20")
