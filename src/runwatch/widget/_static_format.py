"""Text of the static HTML: escaping and number formatting shared by its charts and tables."""

from __future__ import annotations

import html
import math
from typing import Any


def esc(value: Any) -> str:
    """``value`` as HTML text (quotes escaped too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def fmt(value: float | None, digits: int = 4) -> str:
    """A number for a table cell; an em dash when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2014"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.{digits}f}"


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
