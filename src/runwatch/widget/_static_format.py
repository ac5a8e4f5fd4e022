"""Text of the static HTML: escaping and number formatting shared by its charts and tables."""

from __future__ import annotations

import decimal
import html
import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple


def esc(value: Any) -> str:
    """``value`` as HTML text (quotes escaped too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


#: Significant digits every number of a column keeps (at least).
SIGNIFICANT = 4
#: Below this magnitude (and not zero) a number prints in exponent form.
EXPONENT_BELOW = 1e-3
#: From this magnitude on a number (not a whole count) prints in exponent form.
EXPONENT_FROM = 1e6

#: Exact decimal arithmetic on a float's binary value (up to ~770 digits: 28 would round
#: twice); exact ties away from zero, as JavaScript's toFixed and toExponential.
_EXACT = decimal.Context(prec=1000, rounding=decimal.ROUND_HALF_UP)


class ColumnFormat(NamedTuple):
    """How the numbers of one column print: the same decimals in every cell, or whole numbers."""

    decimals: int
    #: A count column whose values are all whole: printed as integers, never in exponent form.
    whole: bool


def _finite(values: Iterable[Any]) -> list[float]:
    out = []
    for v in values:
        if v is None or isinstance(v, bool):
            continue
        f = float(v)
        if math.isfinite(f):
            out.append(f)
    return out


def _exponential(v: float) -> bool:
    return v != 0 and (abs(v) < EXPONENT_BELOW or abs(v) >= EXPONENT_FROM)


def _half_up(v: float, exponent: int) -> decimal.Decimal:
    """``|v|`` rounded to a multiple of ``10**exponent``, exact ties away from zero (as JS does)."""
    return _EXACT.quantize(
        decimal.Decimal(abs(v)),
        decimal.Decimal(1).scaleb(exponent),
    )


def _to_fixed(v: float, decimals: int) -> str:
    """JavaScript's ``v.toFixed(decimals)`` (Python's format rounds exact ties to even)."""
    text = f"{_half_up(v, -decimals):f}"
    return "-" + text if v < 0 else text


def _to_exponential(v: float, digits: int = SIGNIFICANT - 1) -> str:
    """JavaScript's ``v.toExponential(digits)``: ``1.235e+8``, ``-4.000e-4``."""
    exponent = decimal.Decimal(abs(v)).adjusted()
    mantissa = _half_up(v, exponent - digits).scaleb(-exponent, _EXACT)
    if mantissa >= 10:  # 9.9996e-4 rounds to 1.000e-3
        exponent += 1
        mantissa = mantissa.scaleb(-1, _EXACT)
    sign = "-" if v < 0 else ""
    return f"{sign}{mantissa:.{digits}f}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


def column_format(values: Iterable[Any], counts: bool = False) -> ColumnFormat:
    """The format of a column of numbers: the page's rule (js/format.ts ``columnFormat``).

    - a count column (``counts``) whose values are all whole prints them as integers;
    - otherwise every cell has the same decimals: the most any value between
      1e-3 and 1e6 needs to show :data:`SIGNIFICANT` significant digits
      (0.9143 needs 4, 12.35 needs 2, 1234 none), so 1, 0 and 0.9143 read
      ``1.0000``, ``0.0000``, ``0.9143``; a column with no such value (zeros
      only) takes 3;
    - a value outside that range prints in exponent form (``1.500e-9``) and
      does not widen the column; missing values and NaN print an em dash,
      infinities ``∞`` / ``-∞``.

    The cases both sides are tested on are in ``js/number_columns.json``.
    """
    vs = _finite(values)
    if counts and all(v == int(v) for v in vs):
        return ColumnFormat(0, True)
    decimals = -1
    for v in vs:
        if v == 0 or _exponential(v):
            continue
        # The exponent after rounding to SIGNIFICANT digits: 9.9996 counts as 10.00.
        # Python's format rounds exact ties to even, JavaScript's away from zero, but
        # only a tie on a 9 can carry into the exponent, and both round that up:
        # the same exponent as _to_exponential, without its Decimal arithmetic.
        exponent = int(f"{v:.{SIGNIFICANT - 1}e}".split("e")[1])
        decimals = max(decimals, SIGNIFICANT - 1 - exponent, 0)
    return ColumnFormat(SIGNIFICANT - 1 if decimals < 0 else decimals, False)


def fmt_number(value: Any, form: ColumnFormat) -> str:
    """``value`` printed in the column format ``form`` (see :func:`column_format`)."""
    if value is None:
        return "\u2014"
    v = float(value)
    if math.isnan(v):
        return "\u2014"
    if math.isinf(v):
        return "\u221e" if v > 0 else "-\u221e"
    v = v + 0.0  # -0.0 prints as 0
    if form.whole:
        return _to_fixed(v, 0)
    if _exponential(v):
        return _to_exponential(v)
    return _to_fixed(v, form.decimals)


def fmt_column(values: Sequence[Any], counts: bool = False) -> list[str]:
    """A column of numbers as text, in the column's one format (see :func:`column_format`)."""
    form = column_format(values, counts)
    return [fmt_number(v, form) for v in values]


def fmt(value: Any) -> str:
    """A number on its own (the header's best value, an axis label): a column of one."""
    return fmt_number(value, column_format([value]))


def fmt_duration(seconds: float | None) -> str:
    """Seconds as ``0.42 s``, ``3.1 s``, ``2 min 05 s`` or ``3 h 07 min``."""
    if seconds is None:
        return "\u2014"
    seconds = max(0.0, seconds)
    if seconds < 9.995:
        return f"{seconds:.2f} s"
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(int(round(whole / 60)), 60)
    return f"{hours} h {minutes:02d} min"
