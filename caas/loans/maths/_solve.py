"""Root finding on a bracket, in Decimal, shared by the APR and time-value-of-money solvers.

Brent's method (inverse quadratic interpolation and secant steps, falling back
to bisection) keeps the root inside a sign-changing bracket at every step, so
it cannot diverge the way a bare Newton iteration can.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

# Enough digits that cent-level results never depend on the caller's context.
WORKING_PRECISION = 34


def decimal_context(precision: int = WORKING_PRECISION) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the function in a fixed Decimal context (precision, half-even), whatever the caller's."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with localcontext(Context(prec=precision, rounding=ROUND_HALF_EVEN)):
                return func(*args, **kwargs)

        return wrapper

    return decorate


class NoBracketError(ValueError):
    """The function does not change sign over the interval searched."""


def brent(
    func: Callable[[Decimal], Decimal],
    a: Decimal,
    b: Decimal,
    *,
    xtol: Decimal = Decimal("1e-24"),
    maxiter: int = 200,
    fa: Decimal | None = None,
    fb: Decimal | None = None,
) -> Decimal:
    """A root of ``func`` in ``[a, b]``, where ``func(a)`` and ``func(b)`` differ in sign.

    Guaranteed to stay in the bracket; stops when the bracket is narrower than
    ``xtol`` (absolute, plus a relative part) or ``func`` is exactly zero.
    """
    fa = func(a) if fa is None else fa
    fb = func(b) if fb is None else fb
    if fa == 0:
        return a
    if fb == 0:
        return b
    if (fa > 0) == (fb > 0):
        raise NoBracketError("function has the same sign at both ends of the bracket")
    two, half = Decimal(2), Decimal("0.5")
    c, fc = a, fa
    d = e = b - a
    for _ in range(maxiter):
        if (fb > 0) == (fc > 0):
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = two * Decimal("1e-30") * abs(b) + half * xtol
        m = half * (c - b)
        if abs(m) <= tol or fb == 0:
            return b
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:  # secant
                p, q = two * m * s, 1 - s
            else:  # inverse quadratic interpolation
                q, r = fa / fc, fb / fc
                p = s * (two * m * q * (q - r) - (b - a) * (r - 1))
                q = (q - 1) * (r - 1) * (s - 1)
            if p > 0:
                q = -q
            else:
                p = -p
            if two * p < min(3 * m * q - abs(tol * q), abs(e * q)):
                e, d = d, p / q
            else:
                d = e = m
        else:
            d = e = m
        a, fa = b, fb
        b += d if abs(d) > tol else (tol if m > 0 else -tol)
        fb = func(b)
    return b
