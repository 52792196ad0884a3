"""Time value of money in Decimal, with numpy-financial's conventions and signs.

Cash paid out is negative, cash received positive; ``when`` is ``"end"`` (0,
payments at the end of each period) or ``"begin"`` (1). Formulas and their
order of operations follow numpy-financial, so Decimal inputs give the same
digits as its Decimal tests.

Where numpy-financial returns NaN because no answer exists, :func:`rate`,
:func:`irr` and :func:`mirr` return ``None``; :func:`ipmt` and :func:`ppmt`
raise :class:`ValueError` for a period outside ``1..nper``. :func:`nper`
returns ``Decimal("Infinity")`` when a zero payment never repays at zero interest.
Solvers first find a sign-changing bracket and never leave it: :func:`irr`
closes it with Brent's method; :func:`rate` takes numpy-financial's Newton
steps inside it (bisecting whenever a step would leave it), which reproduces
numpy-financial's digits where its Newton converges and cannot diverge where it
would not.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ._solve import NoBracketError, brent, decimal_context

__all__ = ["fv", "pv", "pmt", "ipmt", "ppmt", "nper", "rate", "npv", "irr", "mirr"]

Number = Decimal | int | str

# numpy-financial computes its Decimal results in the default 28-digit context.
_PRECISION = 28


def _d(value: Number, name: str) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool):
        raise TypeError(f"{name} must be Decimal, int or str, not {type(value).__name__}")
    return value if isinstance(value, Decimal) else Decimal(value)


def _when(when: str | int) -> int:
    table = {"end": 0, "begin": 1, 0: 0, 1: 1, "0": 0, "1": 1}
    try:
        return table[when.strip().lower() if isinstance(when, str) else when]
    except KeyError:
        raise ValueError(f"when must be 'end' or 'begin', not {when!r}") from None


def _annuity_factor(r: Decimal, n: Decimal, when: int, growth: Decimal) -> Decimal:
    # Value at the end of n periods of a payment of 1 per period.
    return n if r == 0 else (1 + r * when) * (growth - 1) / r


@decimal_context(_PRECISION)
def fv(rate: Number, nper: Number, pmt: Number, pv: Number, when: str | int = "end") -> Decimal:
    """Future value: ``-(pv (1+r)^n + pmt (1 + r when)((1+r)^n - 1)/r)``."""
    return _future_value(_d(rate, "rate"), _d(nper, "nper"), _d(pmt, "pmt"), _d(pv, "pv"), _when(when))


def _future_value(r: Decimal, n: Decimal, p: Decimal, v: Decimal, w: int) -> Decimal:
    growth = (1 + r) ** n
    return -(v * growth + p * _annuity_factor(r, n, w, growth))


@decimal_context(_PRECISION)
def pv(rate: Number, nper: Number, pmt: Number, fv: Number = 0, when: str | int = "end") -> Decimal:
    """Present value of ``nper`` payments of ``pmt`` and a final ``fv``."""
    r, n, p, f, w = _d(rate, "rate"), _d(nper, "nper"), _d(pmt, "pmt"), _d(fv, "fv"), _when(when)
    growth = (1 + r) ** n
    return -(f + p * _annuity_factor(r, n, w, growth)) / growth


@decimal_context(_PRECISION)
def pmt(rate: Number, nper: Number, pv: Number, fv: Number = 0, when: str | int = "end") -> Decimal:
    """Level payment per period that takes ``pv`` to ``fv`` in ``nper`` periods."""
    r, n, v, f, w = _d(rate, "rate"), _d(nper, "nper"), _d(pv, "pv"), _d(fv, "fv"), _when(when)
    growth = (1 + r) ** n
    return -(f + v * growth) / _annuity_factor(r, n, w, growth)


@decimal_context(_PRECISION)
def ipmt(rate: Number, per: Number, nper: Number, pv: Number, fv: Number = 0,
         when: str | int = "end") -> Decimal:
    """Interest part of payment number ``per`` (1-based). Raises ValueError outside 1..nper."""
    r, k, n, w = _d(rate, "rate"), _d(per, "per"), _d(nper, "nper"), _when(when)
    if k < 1 or k > n:
        raise ValueError(f"per must be between 1 and nper ({n}), not {k}")
    total = pmt(r, n, pv, fv, w)
    # Interest accrues on the balance left after payment k - 1 (its future value).
    interest = _future_value(r, k - 1, total, _d(pv, "pv"), w) * r
    if w == 1:
        # Paying at the start of the period: nothing has accrued before the
        # first payment, and later interest is discounted by one period.
        interest = Decimal(0) if k == 1 else interest / (1 + r)
    return interest


@decimal_context(_PRECISION)
def ppmt(rate: Number, per: Number, nper: Number, pv: Number, fv: Number = 0,
         when: str | int = "end") -> Decimal:
    """Principal part of payment number ``per``: ``pmt - ipmt``."""
    return pmt(rate, nper, pv, fv, when) - ipmt(rate, per, nper, pv, fv, when)


@decimal_context(_PRECISION)
def nper(rate: Number, pmt: Number, pv: Number, fv: Number = 0, when: str | int = "end") -> Decimal:
    """Number of periods (fractional) for ``pv`` to reach ``fv`` paying ``pmt`` each period."""
    r, p, v, f, w = _d(rate, "rate"), _d(pmt, "pmt"), _d(pv, "pv"), _d(fv, "fv"), _when(when)
    if r == 0:
        if p == 0:
            return Decimal("Infinity")
        return -(f + v) / p
    z = p * (1 + r * w) / r
    ratio = (-f + z) / (v + z)
    if ratio <= 0:
        raise ValueError("no number of periods reaches fv with these payments")
    return ratio.ln() / (1 + r).ln()


def _rate_residual(n: Decimal, p: Decimal, v: Decimal, f: Decimal, w: int):
    def residual(r: Decimal) -> Decimal:
        if r == 0:
            return f + v + p * n
        growth = (1 + r) ** n
        return f + v * growth + p * (1 + r * w) * (growth - 1) / r

    return residual


def _newton_step(r: Decimal, n: Decimal, p: Decimal, x: Decimal, y: Decimal, w: int) -> Decimal:
    # g(r) / g'(r) written exactly as numpy-financial's _g_div_gp, so that the
    # iterates (and the digits returned) are the same as its Decimal results.
    t1 = (r + 1) ** n
    t2 = (r + 1) ** (n - 1)
    g = y + t1 * x + p * (t1 - 1) * (r * w + 1) / r
    gp = (n * t2 * x
          - p * (t1 - 1) * (r * w + 1) / (r ** 2)
          + n * p * t2 * (r * w + 1) / r
          + p * (t1 - 1) * w / r)
    return g / gp


def _safeguarded_newton(residual, step, low: Decimal, high: Decimal, start: Decimal,
                        tol: Decimal, maxiter: int = 200) -> Decimal:
    """Newton from ``start`` inside the sign-changing bracket [low, high].

    A Newton step that would leave the bracket (or cannot be taken) is replaced
    by bisection, and the bracket shrinks around the root every iteration, so
    the iteration cannot diverge. Stops, as numpy-financial does, when a Newton
    step is shorter than ``tol``, returning the stepped-to point.
    """
    f_low = residual(low)
    r = start
    for _ in range(maxiter):
        f_r = residual(r)
        if f_r == 0:
            return r
        if (f_r > 0) == (f_low > 0):
            low, f_low = r, f_r
        else:
            high = r
        newton = None
        if r != 0:
            try:
                candidate = r - step(r)
            except (ArithmeticError, ZeroDivisionError):
                candidate = None
            if candidate is not None and min(low, high) < candidate < max(low, high):
                newton = candidate
        if newton is None:
            r = (low + high) / 2
            continue
        if abs(newton - r) < tol:
            return newton
        r = newton
    return r


def _brackets(func, points: Sequence[Decimal]) -> list[tuple[Decimal, Decimal, Decimal, Decimal]]:
    """Adjacent grid points where ``func`` changes sign (or is zero)."""
    values = [(x, func(x)) for x in points]
    found = []
    for (a, fa), (b, fb) in zip(values, values[1:]):
        if fa == 0 or (fa > 0) != (fb > 0):
            found.append((a, b, fa, fb))
    return found


def _rate_grid() -> list[Decimal]:
    # Rates from -99.9 % to +10,000 % per period, dense near zero where
    # real-world rates live.
    negative = [Decimal(-1) + Decimal(10) ** -k for k in range(3, 0, -1)]
    negative += [Decimal(-x) / 100 for x in (80, 60, 40, 30, 20, 15, 10, 7, 5, 3, 2, 1)]
    positive = [Decimal(x) / 1000 for x in (1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 500)]
    positive += [Decimal(x) for x in (1, 2, 5, 10, 100)]
    return negative + [Decimal(0)] + positive


def _closest(roots: list[Decimal], target: Decimal) -> Decimal | None:
    return min(roots, key=lambda x: abs(x - target)) if roots else None


@decimal_context(_PRECISION)
def rate(nper: Number, pmt: Number, pv: Number, fv: Number = 0, when: str | int = "end",
         guess: Number = "0.1", tol: Number = "1e-6") -> Decimal | None:
    """Rate per period that takes ``pv`` to ``fv`` with ``nper`` payments of ``pmt``.

    Returns ``None`` when no rate above -100 % exists (numpy-financial's NaN).
    The root is bracketed first (the bracket nearest ``guess``), then refined by
    Newton steps kept inside the bracket; iteration stops when a step is
    shorter than ``tol``, as numpy-financial's does, which leaves an error of
    order ``tol**2`` (pass a smaller ``tol`` for more digits).
    """
    n, p, v, f, w = _d(nper, "nper"), _d(pmt, "pmt"), _d(pv, "pv"), _d(fv, "fv"), _when(when)
    start, tolerance = _d(guess, "guess"), _d(tol, "tol")
    residual = _rate_residual(n, p, v, f, w)
    brackets = _brackets(residual, _rate_grid())
    if not brackets:
        return None

    def distance(bracket: tuple[Decimal, Decimal, Decimal, Decimal]) -> Decimal:
        low, high = bracket[0], bracket[1]
        return Decimal(0) if low <= start <= high else min(abs(low - start), abs(high - start))

    low, high, f_low, _ = min(brackets, key=distance)
    if f_low == 0:
        return low
    first = start if low <= start <= high else (low + high) / 2
    return _safeguarded_newton(
        residual, lambda r: _newton_step(r, n, p, v, f, w), low, high, first, tolerance
    )


@decimal_context(_PRECISION)
def npv(rate: Number, values: Sequence[Number]) -> Decimal:
    """Net present value, the first value at time 0 (numpy-financial, not Excel, convention)."""
    r = _d(rate, "rate")
    total, factor = Decimal(0), Decimal(1)
    for value in values:
        total += _d(value, "value") / factor
        factor *= 1 + r
    return total


@decimal_context(_PRECISION)
def irr(values: Sequence[Number]) -> Decimal | None:
    """Internal rate of return of cash flows at periods 0, 1, 2...; ``None`` if there is none.

    With several roots above -100 %, the one closest to zero (as numpy-financial).
    """
    flows = [_d(value, "value") for value in values]
    if not any(x > 0 for x in flows) or not any(x < 0 for x in flows):
        return None

    def value_at(r: Decimal) -> Decimal:
        return npv(r, flows)

    roots = []
    for a, b, fa, fb in _brackets(value_at, _rate_grid()):
        try:
            roots.append(brent(value_at, a, b, fa=fa, fb=fb, xtol=Decimal("1e-26")))
        except NoBracketError:  # pragma: no cover - grid values guarantee a sign change
            continue
    return _closest(roots, Decimal(0))


@decimal_context(_PRECISION)
def mirr(values: Sequence[Number], finance_rate: Number, reinvest_rate: Number) -> Decimal | None:
    """Modified IRR; ``None`` unless there is at least one inflow and one outflow."""
    flows = [_d(value, "value") for value in values]
    if not any(x > 0 for x in flows) or not any(x < 0 for x in flows):
        return None
    f_rate, r_rate = _d(finance_rate, "finance_rate"), _d(reinvest_rate, "reinvest_rate")
    inflows = abs(npv(r_rate, [x if x > 0 else 0 for x in flows]))
    outflows = abs(npv(f_rate, [x if x < 0 else 0 for x in flows]))
    return (inflows / outflows) ** (Decimal(1) / (len(flows) - 1)) * (1 + r_rate) - 1
