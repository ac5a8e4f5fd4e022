"""One ``ClassificationMetrics.update`` call, validated and encoded, touching no state.

``prepare_batch`` checks every argument, decides the label list after the
batch (learned labels grow; ``y_proba`` columns fix them) and encodes labels
as class indices. It raises before the metric changes anything, which is how a
bad batch leaves the state exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import _validation
from ._labels import distinct, encode


@dataclass(frozen=True)
class Batch:
    """A valid batch: the label list after it, and class indices for every sample."""

    labels: list[Any]
    columns_known: bool
    true: np.ndarray
    pred: np.ndarray
    pred_given: bool
    proba: np.ndarray | None  # (n, K), at input precision (float16 widened to float32)
    weight: np.ndarray | None
    #: The log loss clips probabilities to [eps, 1 - eps] with the machine epsilon of
    #: ``y_proba``'s input dtype, as scikit-learn's ``log_loss`` does.
    eps: float

    def chunks(self, values: int) -> Iterator[Batch]:
        """The batch as consecutive row slices of at most ``values`` scores each (views).

        An engine folding a large batch in slice by slice keeps its temporaries
        (float64 copies, bin indices, per-cell weights: 20-40 bytes a score) the
        size of a slice, not of the batch.
        """
        n = self.true.size
        width = 1 if self.proba is None else max(1, self.proba.shape[1])
        rows = max(1, values // width)
        if n <= rows:
            yield self
            return
        for start in range(0, n, rows):
            part = slice(start, start + rows)
            yield replace(
                self,
                true=self.true[part],
                pred=self.pred[part],
                proba=None if self.proba is None else self.proba[part],
                weight=None if self.weight is None else self.weight[part],
            )


def prepare_batch(
    y_true: Any,
    y_proba: Any,
    y_pred: Any,
    sample_weight: Any,
    *,
    labels: list[Any],
    index: dict[Any, int],
    columns_known: bool,
    labels_given: bool,
    positive_label: Any,
) -> Batch | None:
    """Validate and encode a batch; None for an empty one. Raises ``ValueError``."""
    truth = _validation.check_labels_1d("y_true", y_true)
    n = truth.shape[0]
    if y_proba is None and y_pred is None:
        raise ValueError("update needs y_proba or y_pred; got neither.")
    proba = None if y_proba is None else _validation.check_proba(y_proba, n)
    pred = None
    if y_pred is not None:
        pred = _validation.check_labels_1d("y_pred", y_pred)
        _validation.check_length("y_pred", pred, n)
    weight = _validation.check_sample_weight(sample_weight, n)
    if n == 0:
        return None

    new_labels = labels
    if proba is not None:
        width = 2 if proba.ndim == 1 else proba.shape[1]
        if not columns_known:
            columns = list(range(width))
            stray = [label for label in labels if label not in set(columns)]
            if stray:
                raise ValueError(
                    f"y_proba has {width} columns, read as classes 0..{width - 1} because no "
                    f"labels were given, but label {stray[0]!r} was seen before; pass labels=."
                )
            new_labels, columns_known = columns, True
        elif width != len(labels):
            raise ValueError(f"y_proba has {width} columns but there are {len(labels)} labels.")
        if proba.ndim == 1:
            proba = _two_columns(proba, positive_index(new_labels, positive_label, strict=True))
    elif not columns_known:
        seen = set(labels).union(distinct(truth), distinct(pred) if pred is not None else [])
        try:
            learned = sorted(seen)
        except TypeError:
            raise ValueError("y_true and y_pred mix label types (strings and numbers).") from None
        if learned != labels:
            new_labels = learned

    if new_labels is not labels:
        index = {v: i for i, v in enumerate(new_labels)}
    true_idx = _encode_known("y_true", truth, index, labels_given)
    pred_idx = (
        _encode_known("y_pred", pred, index, labels_given)
        if pred is not None
        else np.argmax(proba, axis=1)
    )
    eps = float(np.finfo(np.float64).eps)
    if proba is not None:
        eps = float(np.finfo(proba.dtype).eps)
        if proba.dtype == np.float16:  # the stores keep float32; the widening is exact
            proba = proba.astype(np.float32)
    return Batch(
        new_labels, columns_known, true_idx, pred_idx, pred is not None, proba, weight, eps
    )


def positive_index(labels: list[Any], positive_label: Any, strict: bool = False) -> int | None:
    """Index of the class the binary metrics score: ``positive_label``, else ``labels[1]``.

    None where there is none yet (a label not seen, or not two classes);
    ``strict`` raises instead, for a 1-D ``y_proba`` that needs one now.
    """
    if positive_label is not None:
        if positive_label in labels:
            return labels.index(positive_label)
        if strict:
            raise ValueError(f"positive_label {positive_label!r} is not one of the labels.")
        return None
    if len(labels) == 2:
        return 1
    if strict:
        raise ValueError(f"a 1-D y_proba needs exactly 2 labels; there are {len(labels)}.")
    return None


def _two_columns(proba: np.ndarray, positive: int | None) -> np.ndarray:
    """(n, 2) probabilities from the positive class's column."""
    assert positive is not None
    both = np.empty((proba.size, 2), dtype=proba.dtype)
    both[:, positive] = proba
    both[:, 1 - positive] = 1 - proba
    return both


def _encode_known(name: str, values: np.ndarray, index: dict[Any, int], given: bool) -> np.ndarray:
    codes, unknown = encode(name, values, index)
    if unknown:
        k = len(index)
        where = "labels" if given else f"the {k} y_proba columns (classes 0..{k - 1})"
        raise ValueError(f"{name} has label {unknown[0]!r}, which is not one of {where}.")
    return codes
