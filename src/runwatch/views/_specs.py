"""Vega-Lite dicts without Altair, for charts whose shape was built before.

Building an Altair chart and calling ``to_dict()`` costs 20-60 ms whatever
its data (validation, copies of the layer tree). The widget turns every
finished iteration into a dozen charts that differ only in their rows: ten
curve charts and the per-class bars per split, the same titles, lines and
size. So a view can build its chart through :func:`templated`: normally it
just builds it, but under :func:`chart_spec` it returns the dict directly,
from a template of the same shape (the first one built with Altair, its data
cut out) with its own rows put back. The view names what its shape depends
on; its rows must be the chart's top-level named data (``named_data``).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any

_AS_SPEC: ContextVar[bool] = ContextVar("runwatch_views_as_spec", default=False)
# A template per shape: the chart's dict as JSON text with empty data (text, so
# each use gets its own copy), the most recently used kept.
_TEMPLATES: OrderedDict[Hashable, str] = OrderedDict()
_LOCK = threading.Lock()
TEMPLATES_KEPT = 128


def chart_spec(chart: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The Vega-Lite dict of ``chart(*args, **kwargs)``, as ``to_dict(validate=False)`` gives it.

    Views built with :func:`templated` (the curve charts, the per-class bars)
    skip Altair for every chart after the first of its shape; any other view
    is built and converted as usual.

    Parameters
    ----------
    chart : callable
        A view returning an Altair chart (``roc_chart``, ``per_class_chart``, ...).
    *args, **kwargs
        Its arguments.

    Returns
    -------
    dict
        The spec, a new dict on every call (the caller may change it).

    Examples
    --------
    >>> import pandas as pd
    >>> from runwatch.views import roc_chart
    >>> roc = pd.DataFrame({"curve": ["class"] * 2, "label": ["cat"] * 2,
    ...                     "fpr": [0.0, 1.0], "tpr": [0.0, 1.0], "threshold": [1.0, 0.0]})
    >>> chart_spec(roc_chart, roc) == roc_chart(roc).to_dict(validate=False)
    True
    """
    token = _AS_SPEC.set(True)
    try:
        out = chart(*args, **kwargs)
    finally:
        _AS_SPEC.reset(token)
    return out if isinstance(out, dict) else out.to_dict(validate=False)


def templated(shape: Hashable, rows: list[dict[str, Any]], build: Callable[[], Any]) -> Any:
    """``build()`` (an Altair chart), or under :func:`chart_spec` its dict from a template.

    ``shape`` must hold everything the chart depends on except ``rows``,
    which ``build`` puts in the chart's top-level named data.
    """
    if not _AS_SPEC.get():
        return build()
    with _LOCK:
        template = _TEMPLATES.get(shape)
        if template is not None:
            _TEMPLATES.move_to_end(shape)
    if template is None:
        spec = build().to_dict(validate=False)
        spec["data"]["values"] = []
        template = json.dumps(spec)
        with _LOCK:
            _TEMPLATES[shape] = template
            while len(_TEMPLATES) > TEMPLATES_KEPT:
                _TEMPLATES.popitem(last=False)
    spec = json.loads(template)
    spec["data"]["values"] = rows
    return spec


def forget_templates() -> None:
    """Drop every template (benchmarks time the charts built by Altair)."""
    with _LOCK:
        _TEMPLATES.clear()
