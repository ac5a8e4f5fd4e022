"""The overfit gap: train minus validation, per metric, per class and per step of the loss.

A model that learned its training data by heart scores much better on it than
on data it has not seen. The gap is ``train - validation`` wherever both
splits were logged: positive for a score (accuracy, F1, AUC) that is better on
train, negative for an error or a loss (``log_loss``), so read it with the
metric's direction. Classes are matched by their text; a class one split
lacks, or has no samples of (``support`` 0), has no gap: it was not measured
there, which is not a score of 0.

Flagged classes: the :data:`FLAGGED` classes with the largest gap of the key
column (F1 for classification; IoU or AP for the vision tasks), among those
whose gap is at least :data:`MIN_FLAGGED_GAP`; ties go to the class listed
first. The page flags the same (``js/gap.ts``).

>>> metric_gap({"accuracy": 1.0, "log_loss": 0.05}, {"accuracy": 0.9, "log_loss": 0.4})[0]
{'metric': 'accuracy', 'train': 1.0, 'validation': 0.9, 'gap': 0.09999999999999998}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from ._data import WIDTH, clean, named_data, unique_texts
from .compare import difference

__all__ = [
    "FLAGGED",
    "GAP_DATA",
    "MIN_FLAGGED_GAP",
    "flag_classes",
    "gap_chart",
    "gap_column",
    "loss_gap",
    "metric_gap",
    "per_class_gap",
]

#: How many classes are flagged at most.
FLAGGED = 3
#: The smallest gap of the key column that gets a class flagged.
MIN_FLAGGED_GAP = 0.05
#: Per-class columns that count things: a gap in them says nothing of overfitting.
COUNT_COLUMNS = frozenset({"support", "predicted", "tp", "fp", "fn"})
#: The key column of the per-class gap, first present wins.
KEY_COLUMNS = ("f1", "iou", "ap", "ap50")
#: Name of the gap chart's data set.
GAP_DATA = "gap"


def metric_gap(
    train: Mapping[str, Any], validation: Mapping[str, Any], names: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """``train - validation`` for each metric defined in both splits.

    Parameters
    ----------
    train, validation : mapping of str to float or None
        A split's metrics by name (``compute()``).
    names : sequence of str, optional
        Metrics to consider, in order; default ``train``'s.

    Returns
    -------
    list of dict
        ``metric``, ``train``, ``validation``, ``gap``; a metric undefined
        (None, NaN) in either split is left out.
    """
    rows = []
    for name in train if names is None else names:
        gap = difference(train.get(name), validation.get(name))
        if gap is not None:
            rows.append(
                {
                    "metric": name,
                    "train": clean(train[name]),
                    "validation": clean(validation[name]),
                    "gap": gap,
                }
            )
    return rows


def gap_column(columns: Iterable[str]) -> str | None:
    """The per-class column whose gap flags classes: F1, else IoU, else AP, else the first score."""
    present = [c for c in columns if c not in COUNT_COLUMNS]
    for key in KEY_COLUMNS:
        if key in present:
            return key
    return present[0] if present else None


def per_class_gap(
    train: pd.DataFrame, validation: pd.DataFrame, columns: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Per class measured in both splits: its values in each and ``train - validation``.

    A class is measured in a split when its table lists it with samples
    (``support`` above 0, where the table has a ``support`` column).

    Parameters
    ----------
    train, validation : pandas.DataFrame
        Per-class tables (``per_class()``), one row per class (the index).
    columns : sequence of str, optional
        Columns compared; default the score columns both have (counts such as
        ``support`` left out), in ``train``'s order.

    Returns
    -------
    list of dict
        ``label``, ``train``, ``validation``, ``gap`` (dicts column -> value)
        and ``flagged`` (:func:`flag_classes`), in ``train``'s class order.
    """
    if columns is None:
        both = set(validation.columns)
        columns = [c for c in train.columns if c in both and c not in COUNT_COLUMNS]
    valid = dict(zip(unique_texts(validation.index), validation.to_dict("records")))
    rows = []
    for label, rt in zip(unique_texts(train.index), train.to_dict("records")):
        rv = valid.get(label)
        if rv is None or not (_measured(rt) and _measured(rv)):
            continue
        rows.append(
            {
                "label": label,
                "train": {c: clean(rt.get(c)) for c in columns},
                "validation": {c: clean(rv.get(c)) for c in columns},
                "gap": {c: difference(rt.get(c), rv.get(c)) for c in columns},
                "flagged": False,
            }
        )
    key = gap_column(columns)
    if key is not None:
        for i in flag_classes([r["gap"][key] for r in rows]):
            rows[i]["flagged"] = True
    return rows


def _measured(record: Mapping[str, Any]) -> bool:
    """Whether a per-class record had samples (a table without ``support`` is taken as it is)."""
    if "support" not in record:
        return True
    support = clean(record["support"])
    return isinstance(support, (int, float)) and support > 0


def flag_classes(
    gaps: Sequence[float | None], k: int = FLAGGED, min_gap: float = MIN_FLAGGED_GAP
) -> list[int]:
    """Positions of the ``k`` largest gaps of at least ``min_gap``, largest first (ties: first).

    Examples
    --------
    >>> flag_classes([0.02, 0.3, None, 0.1, 0.3, 0.2])
    [1, 4, 5]
    """
    ranked = sorted(
        (i for i, g in enumerate(gaps) if g is not None and g >= min_gap),
        key=lambda i: (-float(gaps[i]), i),  # type: ignore[arg-type]
    )
    return ranked[:k]


def loss_gap(points: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The gap of the loss curves: ``train - validation`` at each step both splits logged.

    Parameters
    ----------
    points : iterable of mapping
        Loss points ``{"split", "step", "value"}`` (``Iteration.losses()``
        rows); at a step logged twice in a split, the last value counts.

    Returns
    -------
    list of dict
        ``step``, ``train``, ``validation``, ``gap``, by step.
    """
    last: dict[str, dict[float, float]] = {"train": {}, "validation": {}}
    for p in points:
        split = p["split"]
        if split in last and clean(p["value"]) is not None:
            last[split][float(p["step"])] = float(p["value"])
    train, valid = last["train"], last["validation"]
    return [
        {"step": s, "train": train[s], "validation": valid[s], "gap": train[s] - valid[s]}
        for s in sorted(set(train) & set(valid))
    ]


def gap_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    field: str = "metric",
    title: str = "Overfit gap (train - validation)",
    width: int = WIDTH,
    height: int | None = None,
) -> alt.Chart:
    """Diverging bars of :func:`metric_gap` rows (or per-class rows flattened to ``gap``).

    Parameters
    ----------
    rows : sequence of dict
        Each with ``field`` (the bar's name, text) and ``gap``.
    field : str, default "metric"
        The column naming the bars.
    title : str
    width, height : int
        Plot size; the height defaults to 16 px a bar.

    Returns
    -------
    altair.Chart
        Bars from 0, blue where train is higher, orange where validation is;
        named data ``gap``.
    """
    data = [{"name": str(r[field]), "gap": clean(r["gap"])} for r in rows]
    return (
        alt.Chart(named_data(GAP_DATA, data))
        .mark_bar()
        .encode(
            y=alt.Y("name:N", title=None, sort=None),
            x=alt.X("gap:Q", title="train - validation"),
            color=alt.condition("datum.gap >= 0", alt.value("#4e79a7"), alt.value("#f28e2b")),
            tooltip=[alt.Tooltip("name:N"), alt.Tooltip("gap:Q", format="+.4f")],
        )
        .properties(
            title=title,
            width=width,
            height=height if height is not None else 16 * max(len(data), 1),
        )
    )
