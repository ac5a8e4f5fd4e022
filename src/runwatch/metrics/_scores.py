"""One-vs-rest score state for the curve metrics (ROC, PR, AUC, AP, lift, gains).

Two interchangeable stores share one interface, per *group* (a class's
column, or ``n_classes`` for the micro average, which pools every
(sample, class) pair): ``add(proba, true_idx, weight)`` per batch;
``totals``, ``auc``, ``average_precision`` (each with its error bound) and
``chart_curve`` (a few hundred exact points of the curve) at compute time;
``merge``; ``state`` / ``from_state``.

- ``ExactScores`` keeps every score at input precision, the positives and
  the negatives of each group in two sorted runs, so its areas equal
  scikit-learn's (ties are exact float equality). ``add`` only appends; the
  next compute sorts what arrived and merges it into the runs (a stable sort
  of two sorted runs is linear). AUC and AP then need no merged curve: each
  positive's rank among the negatives is one ``searchsorted``.
- ``BinnedScores`` keeps, per class, a weighted histogram of positives and of
  negatives over logit-spaced bins: memory independent of the number of
  samples, one ``bincount`` per batch whatever the bin count, and areas that
  come with a computable error bound (notes/engine.md §4.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _curves_math as cm
from ._state_entries import describe, entry

#: Bins of the binned mode when ``curve_bins=True``.
DEFAULT_CURVE_BINS = 4096
#: The logit range resolved by the bins: scores below sigmoid(-20) ≈ 2e-9 (or
#: above its complement) share the outermost bins.
LOGIT_RANGE = 20.0


@dataclass(frozen=True)
class Curve:
    """Cumulative weights of positives and negatives at each distinct threshold.

    ``tps``/``fps`` count what scores at or above each threshold, thresholds
    descending; the bounds are how far the AUC and AP computed from it may be
    from the exact values (0 when exact).
    """

    thresholds: np.ndarray
    tps: np.ndarray
    fps: np.ndarray
    auc_bound: float = 0.0
    ap_bound: float = 0.0


def _empty_curve() -> Curve:
    z = np.zeros(0)
    return Curve(z, z, z)


class _Run:
    """One sorted run of scores at input precision.

    Holds the scores ascending, their weights (None: all 1) and the unsorted
    batches that arrived since the last ``settle``.
    """

    __slots__ = ("scores", "weight", "pending", "_cumulative", "_suffix")

    def __init__(self) -> None:
        self.scores = np.zeros(0, np.float32)  # concatenation promotes; it never down-casts
        self.weight: np.ndarray | None = None
        self.pending: list[tuple[np.ndarray, np.ndarray | None]] = []
        self._cumulative: np.ndarray | None = None
        self._suffix: np.ndarray | None = None

    def add(self, scores: np.ndarray, weight: np.ndarray | None) -> None:
        if scores.size:
            self.pending.append((scores, weight))

    def settle(self) -> _Run:
        if not self.pending:
            return self
        pieces = [(self.scores, self.weight), *self.pending]
        self.pending = []
        self._cumulative = self._suffix = None
        new = np.concatenate([p[0] for p in pieces[1:]])
        if all(w is None for _, w in pieces):
            # Sort the new part, then a stable sort of two sorted runs is a linear merge.
            new.sort()
            merged = np.concatenate([self.scores, new])
            merged.sort(kind="stable")
            self.scores = merged
            return self
        weights = [np.ones(p[0].size) if p[1] is None else p[1] for p in pieces]
        new_w = np.concatenate(weights[1:])
        order = np.argsort(new)
        scores = np.concatenate([self.scores, new[order]])
        weight = np.concatenate([weights[0], new_w[order]])
        order = np.argsort(scores, kind="stable")
        self.scores, self.weight = scores[order], weight[order]
        return self

    @property
    def total(self) -> float:
        return float(self.scores.size) if self.weight is None else float(self.weight.sum())

    def weight_below(self, values: np.ndarray, side: str = "left") -> np.ndarray:
        """Weight of the scores below ``values`` (``side="right"``: at or below)."""
        at = np.searchsorted(self.scores, values, side=side)
        if self.weight is None:
            return at.astype(np.float64)
        if self._cumulative is None:
            self._cumulative = np.r_[0.0, np.cumsum(self.weight)]
        return self._cumulative[at]

    def weight_at_or_above(self, values: np.ndarray) -> np.ndarray:
        """Weight of the scores ``>= values``, summed from the top (0 exactly above them all)."""
        at = np.searchsorted(self.scores, values, side="left")
        if self.weight is None:
            return (self.scores.size - at).astype(np.float64)
        if self._suffix is None:
            self._suffix = np.r_[np.cumsum(self.weight[::-1])[::-1], 0.0]
        return self._suffix[at]

    def extend(self, other: _Run) -> None:
        # Arrays are never written in place, so sharing them with ``other`` is safe.
        self.pending.append((other.scores, other.weight))
        self.pending.extend(other.pending)

    @property
    def nbytes(self) -> int:
        parts = [self.scores, self.weight, *(a for p in self.pending for a in p)]
        return sum(a.nbytes for a in parts if a is not None)


class ExactScores:
    """Every score of each class column and of the pooled micro group.

    Positives and negatives are kept apart, at input precision.
    """

    mode = "exact"

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes
        self._pos = [_Run() for _ in range(n_classes + 1)]
        self._neg = [_Run() for _ in range(n_classes + 1)]
        self._ranked: dict[int, tuple] = {}  # per group, until the next add or merge

    def add(self, proba: np.ndarray, true_idx: np.ndarray, weight: np.ndarray | None) -> None:
        k = self.n_classes
        for c in range(k):
            hit = true_idx == c
            self._pos[c].add(proba[hit, c], None if weight is None else weight[hit])
            self._neg[c].add(proba[~hit, c], None if weight is None else weight[~hit])
        onehot = true_idx[:, None] == np.arange(k)[None, :]
        rows = np.arange(true_idx.size)
        self._pos[k].add(proba[rows, true_idx], weight)
        micro_w = None if weight is None else np.repeat(weight, k)[~onehot.ravel()]
        self._neg[k].add(proba[~onehot], micro_w)
        self._ranked = {}

    def _runs(self, group: int) -> tuple[_Run, _Run]:
        return self._pos[group].settle(), self._neg[group].settle()

    def totals(self, group: int) -> tuple[float, float]:
        pos, neg = self._runs(group)
        return pos.total, neg.total

    def _rank(self, group: int) -> tuple:
        """Weights around each distinct positive score, shared by AUC and AP.

        For each: the positives below it and at it, and the negatives below it
        and at or below it (two searches per group per compute).
        """
        if group not in self._ranked:
            pos, neg = self._runs(group)
            changes = np.flatnonzero(np.diff(pos.scores)) + 1
            starts = np.r_[0, changes] if pos.scores.size else changes
            distinct = pos.scores[starts]
            before = pos.weight_below(distinct, "left")  # positives below each distinct score
            at = np.diff(np.r_[before, pos.total])
            below = neg.weight_below(distinct, "left")
            at_or_below = neg.weight_below(distinct, "right")
            self._ranked[group] = (before, at, below, at_or_below, pos.total, neg.total)
        return self._ranked[group]

    def auc(self, group: int) -> tuple[float, float]:
        """Mann-Whitney: each positive beats the negatives below it, ties count one half."""
        _, at, below, at_or_below, n_pos, n_neg = self._rank(group)
        if n_pos <= 0 or n_neg <= 0:
            return float("nan"), 0.0
        wins = float(np.sum(at * (below + at_or_below))) * 0.5
        return wins / (n_pos * n_neg), 0.0

    def average_precision(self, group: int) -> tuple[float, float]:
        """Σ over distinct positive scores t of (weight at t / P) · precision(score ≥ t)."""
        before, at, below, _, n_pos, n_neg = self._rank(group)
        if n_pos <= 0:
            return (0.0 if n_neg > 0 else float("nan")), 0.0
        return cm.step_average_precision(n_pos - before, n_neg - below, at, n_pos), 0.0

    def chart_curve(self, group: int, n_points: int) -> Curve:
        """Exact points of the curve at about ``n_points`` thresholds spread along it."""
        pos, neg = self._runs(group)
        if pos.scores.size + neg.scores.size == 0:
            return _empty_curve()
        half = max(2, n_points // 2)
        picks = [
            run.scores[np.unique(np.linspace(0, run.scores.size - 1, half).astype(np.int64))]
            for run in (pos, neg)
            if run.scores.size
        ]
        thresholds = np.unique(np.concatenate(picks).astype(np.float64))[::-1]
        tps = pos.total - pos.weight_below(thresholds, "left")
        fps = neg.total - neg.weight_below(thresholds, "left")
        return Curve(thresholds, tps, fps)

    def weights_at_or_above(self, group: int, t: np.ndarray) -> tuple[np.ndarray, ...]:
        """Weights of positives and negatives scoring ``>= t``, then of those below ``t``.

        Each summed from its own end, so a side with nothing on it is exactly 0.
        """
        pos, neg = self._runs(group)
        return (
            pos.weight_at_or_above(t), neg.weight_at_or_above(t),
            pos.weight_below(t, "left"), neg.weight_below(t, "left"),
        )  # fmt: skip

    def spread_scores(self, group: int, n: int) -> np.ndarray:
        """About ``n`` scores of the group, evenly spread by rank among positives and negatives."""
        pos, neg = self._runs(group)
        half = n // 2
        return np.concatenate(
            [
                run.scores[np.linspace(0, run.scores.size - 1, half).astype(np.int64)]
                for run in (pos, neg)
                if run.scores.size and half
            ]
            or [np.zeros(0)]
        ).astype(np.float64)

    def merge(self, other: ExactScores) -> None:
        for g in range(self.n_classes + 1):
            self._pos[g].extend(other._pos[g])
            self._neg[g].extend(other._neg[g])
        self._ranked = {}

    def state(self) -> dict[str, np.ndarray]:
        """Every run, settled and concatenated (positives of each group, then negatives).

        Sorted scores with, for equal scores, weights in ascending order: the
        same data gives the same state whatever the batches.
        """
        runs = [r.settle() for r in (*self._pos, *self._neg)]
        weighted = any(r.weight is not None for r in runs)
        dtype = np.result_type(*[r.scores.dtype for r in runs])
        weights = []
        scores = []
        for r in runs:
            if weighted:
                w = np.ones(r.scores.size) if r.weight is None else r.weight
                order = np.lexsort((w, r.scores))
                scores.append(r.scores[order])
                weights.append(w[order])
            else:
                scores.append(r.scores)
        return {
            "scores": np.concatenate(scores).astype(dtype, copy=False),
            "weight": np.concatenate(weights) if weighted else np.zeros(0),
            "offsets": np.cumsum([0] + [r.scores.size for r in runs]).astype(np.int64),
        }

    @classmethod
    def from_state(cls, n_classes: int, state: dict[str, np.ndarray]) -> ExactScores:
        """The store of ``state``'s ``scores.*`` entries (copied); ``ValueError`` naming one."""
        store = cls(n_classes)
        offsets = entry(state, "scores.offsets", "numbers")
        scores = entry(state, "scores.scores", "numbers")
        weight = entry(state, "scores.weight", "numbers")
        runs = 2 * (n_classes + 1)
        if (
            offsets.dtype.kind not in "iu"
            or offsets.shape != (runs + 1,)
            or offsets[0] != 0
            or np.any(np.diff(offsets) < 0)
            or offsets[-1] != scores.size
        ):
            raise ValueError(
                f"state['scores.offsets'] must be {runs + 1} rising integers from 0 to the "
                f"{scores.size} scores (two runs per class and the micro average)."
            )
        if scores.dtype.kind != "f" or not np.all(np.isfinite(scores)):
            raise ValueError(
                f"state['scores.scores'] must hold finite probabilities; got {describe(scores)}."
            )
        if weight.size not in (0, scores.size) or (
            weight.size and not (np.all(np.isfinite(weight)) and weight.min() >= 0)
        ):
            raise ValueError(
                f"state['scores.weight'] must be empty or {scores.size} finite non-negative "
                "weights, one per score."
            )
        for i, run in enumerate((*store._pos, *store._neg)):
            lo, hi = int(offsets[i]), int(offsets[i + 1])
            if np.any(np.diff(scores[lo:hi]) < 0):
                raise ValueError("state['scores.scores'] has runs that are not sorted.")
            run.scores = scores[lo:hi].copy()
            run.weight = weight[lo:hi].astype(np.float64) if weight.size else None
        return store

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in (*self._pos, *self._neg))


class BinnedScores:
    """Per class, weighted histograms of negatives and positives over logit-spaced bins."""

    mode = "binned"

    def __init__(self, n_classes: int, bins: int) -> None:
        if bins < 4:
            raise ValueError(f"curve_bins must be at least 4; got {bins}.")
        self.n_classes = n_classes
        self.bins = bins
        self.hist = np.zeros((n_classes, 2, bins))  # [class, is_positive, bin]
        # Lower edge of each bin, the threshold a bin is reported at.
        step = 2 * LOGIT_RANGE / (bins - 2)
        logits = -LOGIT_RANGE + step * np.arange(bins - 1)
        self.lower_edges = np.r_[0.0, 1.0 / (1.0 + np.exp(-logits))]

    def bin_index(self, proba: np.ndarray) -> np.ndarray:
        p = proba.astype(np.float64, copy=False)
        with np.errstate(divide="ignore"):
            logit = np.log(p) - np.log1p(-p)
        scaled = np.floor((logit + LOGIT_RANGE) * ((self.bins - 2) / (2 * LOGIT_RANGE))) + 1
        return np.clip(scaled, 0, self.bins - 1).astype(np.int64)

    def add(self, proba: np.ndarray, true_idx: np.ndarray, weight: np.ndarray | None) -> None:
        k, b = self.n_classes, self.bins
        positive = true_idx[:, None] == np.arange(k)[None, :]
        flat = (np.arange(k)[None, :] * 2 + positive) * b + self.bin_index(proba)
        w = None if weight is None else np.repeat(weight, k)
        counts = np.bincount(flat.ravel(), weights=w, minlength=k * 2 * b)
        self.hist += counts.reshape(k, 2, b)

    def curve(self, group: int) -> Curve:
        hist = self.hist[group] if group < self.n_classes else self.hist.sum(axis=0)
        neg, pos = hist[0][::-1], hist[1][::-1]
        occupied = (neg + pos) > 0
        if not occupied.any():
            return _empty_curve()
        neg, pos = neg[occupied], pos[occupied]
        tps, fps = np.cumsum(pos), np.cumsum(neg)
        thresholds = self.lower_edges[::-1][occupied]
        n_pos, n_neg = tps[-1], fps[-1]
        auc_bound = 0.5 * float(pos @ neg) / (n_pos * n_neg) if n_pos > 0 and n_neg > 0 else 0.0
        ap_bound = 0.0
        if n_pos > 0:
            tp_before, fp_before = tps - pos, fps - neg
            best = np.divide(
                tps,
                tp_before + fp_before + pos,
                out=np.ones_like(tps),
                where=(tp_before + fp_before + pos) > 0,
            )
            worst = np.divide(
                tp_before,
                tp_before + fp_before + neg,
                out=np.ones_like(tps),
                where=(tp_before + fp_before + neg) > 0,
            )
            ap_bound = float(np.sum(pos / n_pos * (best - worst)))
        return Curve(thresholds, tps, fps, auc_bound, ap_bound)

    def totals(self, group: int) -> tuple[float, float]:
        hist = self.hist[group] if group < self.n_classes else self.hist.sum(axis=0)
        return float(hist[1].sum()), float(hist[0].sum())

    def auc(self, group: int) -> tuple[float, float]:
        curve = self.curve(group)
        return cm.roc_auc(curve.tps, curve.fps), curve.auc_bound

    def average_precision(self, group: int) -> tuple[float, float]:
        curve = self.curve(group)
        if curve.tps.size == 0 or curve.tps[-1] <= 0:
            return (0.0 if curve.tps.size else float("nan")), 0.0
        step = np.diff(np.r_[0.0, curve.tps])
        return cm.step_average_precision(curve.tps, curve.fps, step, curve.tps[-1]), curve.ap_bound

    def chart_curve(self, group: int, n_points: int) -> Curve:
        return self.curve(group)

    def merge(self, other: BinnedScores) -> None:
        if other.bins != self.bins:
            raise ValueError(f"cannot merge binned states with {other.bins} and {self.bins} bins.")
        self.hist = self.hist + other.hist

    def state(self) -> dict[str, np.ndarray]:
        return {"hist": self.hist.copy()}

    @classmethod
    def from_state(cls, n_classes: int, bins: int, state: dict[str, np.ndarray]) -> BinnedScores:
        """The store of ``state``'s ``scores.hist`` entry (copied); ``ValueError`` naming it."""
        store = cls(n_classes, bins)
        hist = entry(state, "scores.hist", "array")
        if hist.shape != store.hist.shape:
            raise ValueError(
                f"state['scores.hist'] has shape {hist.shape}; {n_classes} labels and {bins} "
                f"bins need {store.hist.shape}."
            )
        store.hist = hist.astype(np.float64)
        return store

    @property
    def nbytes(self) -> int:
        return self.hist.nbytes
