"""``ClassificationMetrics``: every Azure AutoML classification metric, incrementally.

State (all plain arrays, merged by addition or concatenation):

- the weighted and the unweighted K×K confusion matrices (rows true,
  columns predicted): every label metric comes from them;
- for ``norm_macro_recall``, a third matrix of Azure's prediction (the arg-max
  over the columns of classes present in ``y_true``) and the few rows whose
  arg-max class has not been seen in ``y_true`` yet, resolved when it appears
  or at ``compute`` (notes/engine.md §4.1);
- the log-loss sums, calibration bins, and the one-vs-rest score store of the
  curve metrics (exact or binned, ``_scores.py``).

DESIGN.md ("Metric names and meaning") fixes what each name means; where
that differs from scikit-learn's default, the docstring of ``compute`` says so.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _confusion, _confusion_tables, _curves
from ._areas import area_metrics
from ._base import Metric
from ._classification_batch import Batch, positive_index, prepare_batch
from ._failures import ClassificationFailures, Failures
from ._labels import as_label_list, labels_to_array, merged_labels
from ._scores import DEFAULT_CURVE_BINS, BinnedScores, Curve, ExactScores

if TYPE_CHECKING:  # pandas is imported when a table is asked for, not with the engine
    import pandas as pd

#: Equal-width probability bins of the calibration curve (scikit-learn's binning).
CALIBRATION_BINS = 10
#: Binned mode folds a batch in slices of at most this many scores (rows x classes):
#: its temporaries then stay near 20 MB however large the batch (issue 17).
UPDATE_CHUNK_SCORES = 1 << 19

#: The names ``compute()`` returns, in this order.
CLASSIFICATION_METRICS = (
    "AUC_macro", "AUC_micro", "AUC_weighted", "accuracy",
    "average_precision_score_macro", "average_precision_score_micro",
    "average_precision_score_weighted", "balanced_accuracy",
    "f1_score_macro", "f1_score_micro", "f1_score_weighted", "log_loss",
    "matthews_correlation", "norm_macro_recall",
    "precision_score_macro", "precision_score_micro", "precision_score_weighted",
    "recall_score_macro", "recall_score_micro", "recall_score_weighted",
    "weighted_accuracy",
    "AUC_binary", "average_precision_score_binary", "f1_score_binary",
    "precision_score_binary", "recall_score_binary",
)  # fmt: skip

_SCORE_METRICS = tuple(
    n
    for n in CLASSIFICATION_METRICS
    if n.startswith(("AUC", "average_precision")) or n == "log_loss"
)
_BINARY_METRICS = tuple(n for n in CLASSIFICATION_METRICS if n.endswith("_binary"))


class ClassificationMetrics(ClassificationFailures, Metric):
    """Binary and multiclass classification metrics, computed batch by batch.

    Parameters
    ----------
    labels : sequence of hashable, optional
        The classes, in the order of the ``y_proba`` columns (an estimator's
        ``classes_``). Without it, ``y_proba`` columns are the classes
        ``0..C-1``, and batches given only ``y_pred`` teach the classes as
        they are seen.
    positive_label : hashable, optional
        The class the ``*_binary`` metrics score and a 1-D ``y_proba`` gives
        the probability of; default ``labels[1]``.
    curve_bins : int or True, optional
        ``None`` (default): exact curves, equal to scikit-learn. An int: keep
        logit-spaced histograms with that many bins instead of the scores
        (memory independent of the number of samples; AUC and AP then come
        with an error bound, see ``error_bounds``). ``True``: 4096 bins.

    Examples
    --------
    >>> m = ClassificationMetrics(labels=["cat", "dog"])
    >>> m.update(["cat", "dog", "dog"], y_proba=[[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    >>> round(m.compute()["accuracy"], 4)
    0.6667
    >>> m.compute()["AUC_binary"]
    1.0
    >>> m.most_confused(k=1)
    [('dog', 'cat', 1)]
    """

    kind = "classification"
    _config_entries = {
        "labels": "labels", "labels_given": "flag", "positive_label": "labels", "curve_bins": "int"
    }  # fmt: skip
    _state_entries = {
        "labels": "labels", "columns_known": "flag",
        "samples.ids": "ids", "samples.hash": "numbers", "samples.true": "numbers",
        "samples.pred": "numbers", "top.ids": "ids", "top.hash": "numbers",
        "top.true": "numbers", "top.pred": "numbers", "top.loss": "numbers",
        "attr.names": "ids", "attr.kinds": "ids", "attr.true": "numbers",
        "attr.pred": "numbers", "attr.weight": "numbers", "attr.loss": "numbers",
    }  # fmt: skip

    def __init__(
        self,
        labels: Any = None,
        positive_label: Any = None,
        curve_bins: int | bool | None = None,
    ) -> None:
        super().__init__()
        if isinstance(labels, (str, bytes)):
            raise ValueError("labels must be a sequence of labels, not a single string.")
        given = None if labels is None else as_label_list(labels)
        if given is not None and len(given) < 2:
            raise ValueError(f"labels must name at least 2 classes; got {len(given)}.")
        if given is not None and positive_label is not None and positive_label not in given:
            raise ValueError(f"positive_label {positive_label!r} is not one of labels.")
        if isinstance(curve_bins, bool):
            curve_bins = DEFAULT_CURVE_BINS if curve_bins else None
        if curve_bins is not None and (
            not isinstance(curve_bins, (int, np.integer)) or curve_bins < 4
        ):
            raise ValueError(f"curve_bins must be None, True or an int >= 4; got {curve_bins!r}.")
        self._given = given
        self._positive_label = positive_label
        self._bins = None if curve_bins is None else int(curve_bins)
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget every batch (learned labels too)."""
        self._set_labels([] if self._given is None else list(self._given), self._given is not None)
        self._declare_states(len(self._labels))
        self._failures = Failures(self._bins is None, len(self._labels))
        self._cache = None

    def _declare_states(self, k: int) -> None:
        self._declared = {}
        self._add_state("confmat", np.zeros((k, k)), "sum")
        self._add_state("counts", np.zeros((k, k), np.int64), "sum")
        self._add_state("nmr_confmat", np.zeros((k, k)), "sum")
        self._add_state("nmr_pending_proba", np.zeros((0, k)), "cat")
        self._add_state("nmr_pending_true", np.zeros(0, np.int64), "cat")
        self._add_state("nmr_pending_weight", np.zeros(0), "cat")
        self._add_state("n_samples", np.int64(0), "sum")
        self._add_state("n_scored", np.int64(0), "sum")
        self._add_state("logloss", np.zeros(2), "sum")  # Σ w·loss, Σ w
        self._add_state("calibration", np.zeros((k, 3, CALIBRATION_BINS)), "sum")
        self._scores = self._new_store(k) if self._columns_known else None

    def _set_labels(self, labels: list[Any], columns_known: bool) -> None:
        self._labels = labels
        self._index = {label: i for i, label in enumerate(labels)}
        self._columns_known = columns_known

    def _new_store(self, k: int) -> ExactScores | BinnedScores:
        return ExactScores(k) if self._bins is None else BinnedScores(k, self._bins)

    @property
    def labels(self) -> list[Any]:
        """The classes known so far, in column order."""
        return list(self._labels)

    # ----------------------------------------------------------------- update
    def update(
        self,
        y_true: Any,
        y_proba: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        sample_ids: Any = None,
        attributes: Any = None,
    ) -> None:
        """Add a batch of true labels with predicted probabilities and/or labels.

        Parameters
        ----------
        y_true : array-like of shape (n,)
            True labels.
        y_proba : array-like of shape (n, C) or (n,), optional
            Probabilities, columns in ``labels`` order; ``(n,)`` is the
            positive class's of a binary task. Kept at input precision
            (float16 as float32, exactly); its dtype sets the log loss's clip.
        y_pred : array-like of shape (n,), optional
            Predicted labels; default the arg-max of ``y_proba`` (ties: the
            first column). One of ``y_proba``, ``y_pred`` is required.
        sample_weight : array-like of shape (n,), optional
            Non-negative weights (``weighted_accuracy`` ignores them, as Azure).
        sample_ids : array-like of shape (n,), optional
            Integer or string ids (one kind per stream), for ``samples`` and
            ``top_losses``; default the running index of the sample in the
            stream (give ids where states of several workers are merged).
        attributes : dict or DataFrame, optional
            Name -> per-sample values (numbers, NaN for missing; or strings),
            positional; the same names in every batch that gives them. Read
            by ``by_attribute`` and ``attribute_importance``.

        Raises
        ------
        ValueError
            Naming the argument, when the batch is not valid; the state is then
            exactly as before the call. An empty batch is a no-op.
        """
        batch = prepare_batch(
            y_true, y_proba, y_pred, sample_weight,
            labels=self._labels, index=self._index, columns_known=self._columns_known,
            labels_given=self._given is not None, positive_label=self._positive_label,
        )  # fmt: skip
        n = 0 if batch is None else batch.true.size
        pending = self._failures.prepare(sample_ids, attributes, n, int(self.n_samples))
        if batch is None:
            return
        if self._bins is None:  # exact mode keeps every score anyway: one slice
            self._commit(batch)
            self._failures.commit(pending, batch)
            return
        start = 0
        for part in batch.chunks(UPDATE_CHUNK_SCORES):
            rows = slice(start, start + part.true.size)
            start = rows.stop
            self._commit(part)
            self._failures.commit(pending.rows(rows), part)

    def _commit(self, b: Batch) -> None:
        """Fold a prepared batch in; nothing here can fail on user input."""
        if b.labels is not self._labels:
            self._relabel(b.labels, b.columns_known)
        k = len(self._labels)
        true, pred, weight, proba = b.true, b.pred, b.weight, b.proba
        cell = true * k + pred
        weighted = np.bincount(cell, weights=weight, minlength=k * k).reshape(k, k)
        self.confmat += weighted
        self.counts += np.bincount(cell, minlength=k * k).reshape(k, k)
        self.n_samples += true.size
        if proba is None or b.pred_given or k == 2:
            # Azure's restricted arg-max equals the plain one when both binary classes are
            # present (and norm_macro_recall is undefined otherwise).
            self.nmr_confmat += weighted
        else:
            self._add_nmr_rows(proba, true, weight)
        if proba is not None:
            self.n_scored += true.size
            self._add_scores(proba, true, weight, b.eps)
        self._flush_nmr()
        self._cache = None

    def _add_scores(
        self, proba: np.ndarray, true: np.ndarray, weight: np.ndarray | None, eps: float
    ) -> None:
        n, k = proba.shape
        w = np.ones(n) if weight is None else weight
        p_true = proba[np.arange(n), true].astype(np.float64)
        loss = -np.log(np.clip(p_true, eps, 1 - eps))
        self.logloss += [float(w @ loss), float(w.sum())]
        bins = np.searchsorted(np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)[1:-1], proba)
        flat = (np.arange(k)[None, :] * CALIBRATION_BINS + bins).ravel()
        w_cells = np.repeat(w, k)
        positive = (true[:, None] == np.arange(k)[None, :]).ravel()
        size = k * CALIBRATION_BINS
        for row, values in enumerate((w_cells, w_cells * proba.ravel(), w_cells * positive)):
            self.calibration[:, row, :] += np.bincount(flat, values, size).reshape(k, -1)
        assert self._scores is not None
        self._scores.add(proba, true, weight)

    def _add_nmr_rows(self, proba: np.ndarray, true: np.ndarray, weight: np.ndarray | None) -> None:
        weight = np.ones(true.size) if weight is None else weight
        self.nmr_pending_proba = np.concatenate([self.nmr_pending_proba, proba.astype(np.float64)])
        self.nmr_pending_true = np.concatenate([self.nmr_pending_true, true])
        self.nmr_pending_weight = np.concatenate([self.nmr_pending_weight, weight])

    def _flush_nmr(self) -> None:
        """Settle the pending rows whose arg-max class is now present in y_true.

        The present set only grows, so such a row's restricted arg-max is final.
        """
        if self.nmr_pending_true.size == 0:
            return
        k = len(self._labels)
        top = np.argmax(self.nmr_pending_proba, axis=1)
        final = self._present()[top]
        if final.any():
            cell = self.nmr_pending_true[final] * k + top[final]
            self.nmr_confmat += np.bincount(cell, self.nmr_pending_weight[final], k * k).reshape(
                k, k
            )
            keep = ~final
            self.nmr_pending_proba = self.nmr_pending_proba[keep]
            self.nmr_pending_true = self.nmr_pending_true[keep]
            self.nmr_pending_weight = self.nmr_pending_weight[keep]

    def _present(self) -> np.ndarray:
        """Classes seen in y_true (by count, so a zero weight still counts as seen)."""
        return self.counts.sum(axis=1) > 0

    def _relabel(self, labels: list[Any], columns_known: bool) -> None:
        """Re-index every state to a larger label list (new arrays; nothing in place)."""
        k = len(labels)
        new_index = {label: i for i, label in enumerate(labels)}
        where = np.array([new_index[label] for label in self._labels], dtype=np.int64)
        for name in ("confmat", "counts", "nmr_confmat"):
            old = getattr(self, name)
            grown = np.zeros((k, k), old.dtype)
            grown[np.ix_(where, where)] = old
            setattr(self, name, grown)
        self.nmr_pending_true = (
            where[self.nmr_pending_true] if where.size else self.nmr_pending_true
        )
        grown = np.zeros((self.nmr_pending_proba.shape[0], k))
        grown[:, where] = self.nmr_pending_proba
        self.nmr_pending_proba = grown
        calibration = np.zeros((k, 3, CALIBRATION_BINS))
        calibration[where] = self.calibration
        self.calibration = calibration
        if self._scores is not None and where.tolist() != list(range(k)):
            raise AssertionError("scores exist only once the columns are fixed")
        self._failures = self._failures.relabeled(where, k)
        had_columns = self._columns_known
        self._set_labels(labels, columns_known)
        if columns_known and not had_columns:
            self._scores = self._new_store(k)

    # ---------------------------------------------------------------- compute
    def compute(self) -> dict[str, float]:
        """Every Azure AutoML classification metric, by name.

        Label metrics use the predicted labels (``y_pred``, else the arg-max
        of ``y_proba``) and ``sample_weight``; P/R/F1 average over the labels
        seen in ``y_true`` or predicted, with ``zero_division=0``;
        ``balanced_accuracy`` is that macro recall (Azure's, not scikit-learn's
        ``balanced_accuracy_score``). AUC and average precision macro/weighted
        average the columns of the classes present in ``y_true`` (an absent
        one is left out, not 0 or NaN), binary data included; micro pools
        every column. ``norm_macro_recall`` takes the arg-max over the present
        classes, R = 1/C over them, clipped at 0. ``weighted_accuracy``
        weights each sample by its true class's share and ignores
        ``sample_weight``. ``*_binary`` score ``positive_label`` (else
        ``labels[1]``) and are NaN beyond two classes. ``log_loss`` clips
        each probability to ``[eps, 1 - eps]`` with ``eps`` the machine epsilon
        of the dtype its batch's ``y_proba`` came in (scikit-learn's rule:
        float16 ``9.8e-4``, float32 ``1.2e-7``, float64 ``2.2e-16``, so a
        confident wrong prediction costs 6.9, 15.9 or 36.0), then takes the
        log in float64; batches of different dtypes each keep their own
        clip, so a stream or merge of them is the sample-weighted mean of
        scikit-learn on each batch. A NaN's reason is in ``reasons()``;
        nothing here raises or warns.
        """
        if self._cache is None:
            self._cache = self._compute()
        return dict(self._cache["values"])

    def error_bounds(self) -> dict[str, float]:
        """For each AUC and average precision, how far it may be from the exact value.

        0 in exact mode; in binned mode the computable bound of notes/engine.md
        §4.2 (pairs that share a bin count one half).
        """
        self.compute()
        assert self._cache is not None
        return dict(self._cache["bounds"])

    def _compute(self) -> dict[str, Any]:
        values = dict.fromkeys(CLASSIFICATION_METRICS, float("nan"))
        reasons: dict[str, str] = {}
        bounds: dict[str, float] = {}
        if self.n_samples == 0:
            reasons = dict.fromkeys(CLASSIFICATION_METRICS, "no samples yet")
            return {"values": values, "reasons": reasons, "bounds": bounds}
        values.update(_confusion.label_metrics(self.confmat, self.counts))
        present = self._present()
        values["norm_macro_recall"] = _confusion.norm_macro_recall(self._nmr_matrix(), present)
        if present.sum() < 2:
            reasons["norm_macro_recall"] = "needs at least two classes in y_true"
        for name in ("accuracy", "weighted_accuracy", "matthews_correlation"):
            if np.isnan(values[name]):
                reasons[name] = "every sample has weight 0"
        self._binary_label_metrics(values, reasons)
        if self.n_scored < self.n_samples:
            why = (
                "needs y_proba; only y_pred was given"
                if self.n_scored == 0
                else f"needs y_proba for every batch; {self.n_scored} of {self.n_samples} "
                "samples had it"
            )
            for name in _SCORE_METRICS:
                reasons.setdefault(name, why)
        else:
            self._score_metrics(values, reasons, bounds)
        for name, value in values.items():
            if np.isnan(value) and name not in reasons:
                reasons[name] = "undefined for the data so far"
        return {"values": values, "reasons": reasons, "bounds": bounds}

    def _nmr_matrix(self) -> np.ndarray:
        """The norm_macro_recall matrix with the still-pending rows resolved now."""
        matrix = self.nmr_confmat
        if self.nmr_pending_true.size:
            k = len(self._labels)
            present = self._present()
            restricted = np.where(present[None, :], self.nmr_pending_proba, -np.inf)
            cell = self.nmr_pending_true * k + np.argmax(restricted, axis=1)
            matrix = matrix + np.bincount(cell, self.nmr_pending_weight, k * k).reshape(k, k)
        return matrix

    def _binary_label_metrics(self, values: dict[str, float], reasons: dict[str, str]) -> None:
        k = len(self._labels)
        positive = positive_index(self._labels, self._positive_label)
        if k > 2:
            reasons.update(dict.fromkeys(_BINARY_METRICS, f"binary only; there are {k} classes"))
        elif positive is None:
            why = (
                f"positive_label {self._positive_label!r} not seen yet"
                if self._positive_label is not None
                else "binary metrics need two classes; one seen so far"
            )
            reasons.update(dict.fromkeys(_BINARY_METRICS, why))
        else:
            values.update(_confusion.binary_scores(self.confmat, positive))

    def _score_metrics(self, values: dict, reasons: dict, bounds: dict) -> None:
        assert self._scores is not None
        present = np.flatnonzero(self._present())
        support = self.confmat.sum(axis=1)[present]
        positive = positive_index(self._labels, self._positive_label)
        binary = positive if len(self._labels) == 2 else None
        area_values, area_bounds = area_metrics(self._scores, present, support, binary)
        values.update(area_values)
        bounds.update(area_bounds)
        if len(present) < 2:
            one_class = "only one class in y_true so far; AUC needs positives and negatives"
            for name in ("AUC_macro", "AUC_weighted", "AUC_binary"):
                reasons.setdefault(name, one_class)
        loss_sum, weight_sum = self.logloss
        values["log_loss"] = float(loss_sum / weight_sum) if weight_sum > 0 else float("nan")

    # ----------------------------------------------------------------- tables
    def confusion_matrix(self, normalize: str | None = None) -> pd.DataFrame:
        """The confusion matrix: index true label, columns predicted label.

        ``normalize``: None (weighted counts; ints when no weight was given),
        ``"true"`` (rows sum to 1), ``"pred"`` (columns sum to 1) or ``"all"``.
        """
        return _confusion_tables.confusion_frame(self.confmat, self.counts, self._labels, normalize)

    def most_confused(self, k: int = 7) -> list[tuple[Any, Any, float]]:
        """The ``k`` largest off-diagonal cells: ``(true, predicted, count)``, largest first."""
        matrix = _confusion_tables.shown(self.confmat, self.counts)
        return _confusion_tables.most_confused(matrix, self._labels, k)

    def most_common(self, k: int = 7) -> list[tuple[Any, float]]:
        """The ``k`` classes with the most true samples: ``(label, count)``, largest first."""
        matrix = _confusion_tables.shown(self.confmat, self.counts)
        return _confusion_tables.most_common(matrix, self._labels, k)

    def per_class(self) -> pd.DataFrame:
        """Precision, recall, F1, support (weighted) and, with scores, AUC and AP per class."""
        import pandas as pd

        table = pd.DataFrame(
            _confusion.per_class_scores(self.confmat), index=pd.Index(self._labels, name="label")
        )
        store = self._scores
        if store is not None and self.n_scored == self.n_samples and self.n_samples:
            classes = range(len(self._labels))
            table["auc"] = [store.auc(c)[0] for c in classes]
            table["average_precision"] = [
                store.average_precision(c)[0] if store.totals(c)[0] > 0 else float("nan")
                for c in classes
            ]
        return table

    # ------------------------------------------------------------- thresholds
    def at_threshold(self, threshold: float, positive: Any = None) -> dict[str, Any]:
        """The confusion matrix and precision / recall / F1 of ``score >= threshold``.

        One class against the rest: ``positive`` (default the binary task's
        positive class: ``positive_label``, else ``labels[1]``; required with
        more than two classes) is predicted where its ``y_proba`` column is at
        least ``threshold``, as ``confusion_matrix(y == positive, p >= t)``.

        Returns a dict: ``threshold`` (the one applied), ``positive``,
        ``matrix`` (DataFrame, index true, columns predicted: the two labels
        in ``labels`` order for a binary task, else ``positive`` and
        ``"(rest)"``; integers without ``sample_weight``), ``tp``, ``fp``,
        ``fn``, ``tn``, ``precision``, ``recall``, ``f1`` (of ``positive``,
        ``zero_division=0``) and ``bound``.

        Exact mode: exact at every threshold (``bound`` 0). Binned mode
        (``curve_bins``): the histograms count exactly at the bins'
        boundaries, so ``threshold`` moves down to the boundary at or below
        it and the result is exact there; ``bound`` is the weight of the bin
        in between, the most that could sit on the other side of the
        threshold asked for.

        Raises
        ------
        ValueError
            When ``threshold`` is not a number from 0 to 1, ``positive`` is no
            label (or missing with more than two classes), or a batch had no
            ``y_proba``; nothing changes.
        """
        from ._thresholds import check_threshold, class_counts, ratios

        t = check_threshold(threshold)
        group = self._threshold_group(positive)
        store = self._scored_store()
        counts = class_counts(store, group, t)
        precision, recall, f1 = (float(x) for x in ratios(counts["tp"], counts["fp"], counts["fn"]))
        label = self._labels[group]
        binary = len(self._labels) == 2
        names = list(self._labels) if binary else [label, "(rest)"]
        p = group if binary else 0  # the positive's row and column; the other is the rest
        whole = np.array_equal(self.confmat, self.counts)  # no sample weight: integer counts
        cells = {k: int(round(counts[k])) if whole else counts[k] for k in ("tp", "fp", "fn", "tn")}
        matrix = np.zeros((2, 2), np.int64 if whole else np.float64)
        matrix[p, p], matrix[p, 1 - p] = cells["tp"], cells["fn"]
        matrix[1 - p, p], matrix[1 - p, 1 - p] = cells["fp"], cells["tn"]
        return {
            "threshold": counts["threshold"],
            "positive": label,
            "matrix": _confusion_tables.confusion_frame(matrix, matrix, names, None),
            **cells,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "bound": counts["bound"],
        }

    def threshold_table(self, positive: Any = None, max_points: int | None = None) -> dict:
        """Cumulative counts at a bounded set of thresholds, for a slider (see ``at_threshold``).

        Returns ``threshold`` (ascending), ``tp`` and ``fp`` (weights scoring
        ``>=`` each), ``positives`` and ``negatives`` (totals), ``positive``
        (the class) and ``mode`` ("exact" or "binned"), exact at every
        point kept: a grid 0.01 to 0.1 apart and scores spread evenly by
        rank, ``max_points`` in all (default: 201 for a binary task, 110
        shared by the classes of a multiclass one, at least 11 each). Binned mode: at the bins'
        boundaries the points snap to.
        """
        from ._thresholds import class_table, table_points

        group = self._threshold_group(positive)
        store = self._scored_store()
        k = len(self._labels)
        points = table_points(1 if k == 2 else k) if max_points is None else int(max_points)
        table = class_table(store, group, points)
        n_pos, n_neg = store.totals(group)
        return {
            **table, "positives": n_pos, "negatives": n_neg,
            "positive": self._labels[group], "mode": store.mode,
        }  # fmt: skip

    def _threshold_group(self, positive: Any) -> int:
        if positive is None:
            group = positive_index(self._labels, self._positive_label)
            if group is None or len(self._labels) != 2:
                raise ValueError(
                    f"positive must name the class to score against the rest; there are "
                    f"{len(self._labels)} classes {self._labels}."
                )
            return group
        if positive not in self._index:
            raise ValueError(f"positive {positive!r} is not one of the labels {self._labels}.")
        return self._index[positive]

    def _scored_store(self) -> ExactScores | BinnedScores:
        if self._scores is None or self.n_samples == 0 or self.n_scored < self.n_samples:
            raise ValueError(
                "a score threshold needs y_proba for every batch; "
                f"{int(self.n_scored)} of {int(self.n_samples)} samples had it."
            )
        return self._scores

    def curves(self) -> dict[str, pd.DataFrame]:
        """Tidy chart data: ``roc``, ``pr``, ``lift``, ``gains``, ``calibration``.

        Each row has ``curve`` ("class", "micro" or "macro") and ``label``;
        classes absent from ``y_true`` have no ROC, PR, lift or gains line.
        Lines are thinned to at most a few hundred points, keeping their ends
        and corners; the areas of ``compute`` use every point.
        """
        from ._classification_curves import curve_frames

        ready = self._scores is not None and self.n_scored == self.n_samples
        present = np.flatnonzero(self._present()) if ready else np.zeros(0, np.int64)
        curves: dict[Any, Curve] = {}
        micro = None
        if ready and self.n_samples:
            store = self._scores
            assert store is not None
            detail = 4 * _curves.MAX_CURVE_POINTS
            curves = {self._labels[c]: store.chart_curve(c, detail) for c in present}
            micro = store.chart_curve(len(self._labels), detail)
        return curve_frames(curves, micro, self._labels, self.calibration if ready else None)

    # ------------------------------------------------------ merge and state
    def _config(self) -> dict[str, Any]:
        return {
            "labels": self._given,
            "positive_label": self._positive_label,
            "curve_bins": self._bins,
        }

    def _config_arrays(self) -> dict[str, np.ndarray]:
        return {
            "labels": labels_to_array(self._given or []),
            "labels_given": np.array(self._given is not None),
            "positive_label": labels_to_array(
                [] if self._positive_label is None else [self._positive_label]
            ),
            "curve_bins": np.array(self._bins or 0),
        }

    @classmethod
    def _config_from_arrays(cls, config: dict[str, np.ndarray]) -> dict[str, Any]:
        positive = config["positive_label"].tolist()
        if len(positive) > 1:
            raise ValueError(f"positive_label holds {len(positive)} labels; it is one or none.")
        return {
            "labels": config["labels"].tolist() if bool(config["labels_given"]) else None,
            "positive_label": positive[0] if positive else None,
            "curve_bins": int(config["curve_bins"]) or None,
        }

    def _state_arrays(self) -> dict[str, np.ndarray]:
        out = self._declared_arrays()
        out["labels"] = labels_to_array(self._labels)
        out["columns_known"] = np.array(self._columns_known)
        if self._scores is not None:
            out.update({f"scores.{k}": v for k, v in self._scores.state().items()})
        out.update(self._failures.state())
        return out

    def _load_state_arrays(self, state: dict[str, np.ndarray]) -> None:
        labels = state["labels"].tolist()
        if self._given is not None and labels != self._given:
            raise ValueError("state['labels'] does not match state['config.labels'].")
        self._set_labels(labels, bool(state["columns_known"]))
        self._declare_states(len(labels))
        self._load_declared(state)
        n = self.nmr_pending_true.size
        for name in ("nmr_pending_proba", "nmr_pending_weight"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(
                    f"state[{name!r}] has {getattr(self, name).shape[0]} rows but "
                    f"state['nmr_pending_true'] has {n}."
                )
        k = len(labels)
        if n and (self.nmr_pending_true.min() < 0 or self.nmr_pending_true.max() >= k):
            raise ValueError(f"state['nmr_pending_true'] holds classes outside the {k} labels.")
        if self._columns_known:
            self._scores = (
                ExactScores.from_state(k, state)
                if self._bins is None
                else BinnedScores.from_state(k, self._bins, state)
            )
        self._failures = Failures.from_state(state, self._bins is None, k)

    def merge(self, *others: ClassificationMetrics) -> ClassificationMetrics:  # noqa: D102
        like = [o._failures for o in others if isinstance(o, ClassificationMetrics)]
        Failures.check_merge([self._failures, *like])  # before anything is merged
        return super().merge(*others)

    merge.__doc__ = Metric.merge.__doc__

    def _merge_one(self, other: ClassificationMetrics) -> None:  # type: ignore[override]
        labels, columns_known = merged_labels(
            self._labels, self._columns_known, other._labels, other._columns_known
        )
        if labels != self._labels or columns_known != self._columns_known:
            self._relabel(labels, columns_known)
        if labels != other._labels or columns_known != other._columns_known:
            other = copy.copy(other)  # _relabel replaces arrays, so ``other`` itself is untouched
            other._relabel(labels, columns_known)
        self._merge_declared(other)
        if other._scores is not None:
            assert self._scores is not None
            self._scores.merge(other._scores)  # type: ignore[arg-type]
        self._failures.merge(other._failures)
        self._flush_nmr()
