"""One-vs-rest score state for the curve metrics (ROC, PR, AUC, AP, lift, gains).

Two interchangeable stores share one interface: ``add(proba, true_idx,
weight)`` per batch, ``curve(group)`` for a class index (or ``n_classes`` for
the micro average, which pools every (sample, class) pair), ``merge``,
``state`` / ``from_state``.

- ``ExactScores`` keeps every score at input precision, sorted per group, so
  its curves equal scikit-learn's (ties are exact float equality). A batch is
  only appended on ``add``; ``curve`` sorts what arrived since the last call
  and merges it into the sorted run with one ``searchsorted`` (O(n) per
  compute instead of O(n log n)).
- ``BinnedScores`` keeps, per class, a weighted histogram of positives and of
  negatives over logit-spaced bins: memory independent of the number of
  samples, one ``bincount`` per batch whatever the bin count, and curves whose
  AUC and AP come with a computable error bound (notes/engine.md §4.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def _merge_sorted(a, b):
    """Merge two (scores, positive, weight-or-None) triples, each sorted by score."""
    a_s, a_p, a_w = a
    b_s, b_p, b_w = b
    dtype = np.result_type(a_s.dtype, b_s.dtype)
    a_s, b_s = a_s.astype(dtype, copy=False), b_s.astype(dtype, copy=False)
    n, m = a_s.size, b_s.size
    slots = np.searchsorted(a_s, b_s, side="right") + np.arange(m)
    from_b = np.zeros(n + m, dtype=bool)
    from_b[slots] = True
    from_a = ~from_b
    scores = np.empty(n + m, dtype)
    scores[slots], scores[from_a] = b_s, a_s
    positive = np.empty(n + m, bool)
    positive[slots], positive[from_a] = b_p, a_p
    weight = None
    if a_w is not None or b_w is not None:
        weight = np.empty(n + m)
        weight[slots] = 1.0 if b_w is None else b_w
        weight[from_a] = 1.0 if a_w is None else a_w
    return scores, positive, weight


def _concat(pieces):
    scores = np.concatenate([p[0] for p in pieces])
    positive = np.concatenate([p[1] for p in pieces])
    weight = None
    if any(p[2] is not None for p in pieces):
        weight = np.concatenate([np.ones(p[0].size) if p[2] is None else p[2] for p in pieces])
    return scores, positive, weight


def _sorted_triple(triple):
    scores, positive, weight = triple
    order = np.argsort(scores, kind="stable")
    return scores[order], positive[order], None if weight is None else weight[order]


class ExactScores:
    """Every (score, is-positive, weight) of each class column and of the pooled micro group."""

    mode = "exact"

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes
        empty = (np.zeros(0), np.zeros(0, bool), None)
        self._sorted = [empty] * (n_classes + 1)
        self._pending: list[list] = [[] for _ in range(n_classes + 1)]

    def add(self, proba: np.ndarray, true_idx: np.ndarray, weight: np.ndarray | None) -> None:
        k = self.n_classes
        onehot = true_idx[:, None] == np.arange(k)[None, :]
        for c in range(k):
            self._pending[c].append((proba[:, c].copy(), onehot[:, c].copy(), weight))
        micro_w = None if weight is None else np.repeat(weight, k)
        self._pending[k].append((proba.ravel().copy(), onehot.ravel(), micro_w))

    def _settle(self, group: int) -> tuple:
        pending = self._pending[group]
        if pending:
            new = _sorted_triple(_concat(pending))
            self._sorted[group] = _merge_sorted(self._sorted[group], new)
            self._pending[group] = []
        return self._sorted[group]

    def curve(self, group: int) -> Curve:
        scores, positive, weight = self._settle(group)
        n = scores.size
        if n == 0:
            return _empty_curve()
        scores, positive = scores[::-1], positive[::-1]
        if weight is None:
            tps = np.cumsum(positive, dtype=np.float64)
            fps = np.arange(1, n + 1, dtype=np.float64) - tps
        else:
            weight = weight[::-1]
            tps = np.cumsum(weight * positive)
            fps = np.cumsum(weight * ~positive)
        ends = np.r_[np.flatnonzero(np.diff(scores)), n - 1]
        return Curve(scores[ends].astype(np.float64), tps[ends], fps[ends])

    def merge(self, other: ExactScores) -> None:
        for g in range(self.n_classes + 1):
            # Arrays are never written in place, so sharing them with ``other`` is safe.
            self._pending[g].append(other._sorted[g])
            self._pending[g].extend(other._pending[g])

    def state(self) -> dict[str, np.ndarray]:
        """Canonical arrays of every group.

        Within equal scores, entries are ordered by flag then weight, so the
        same data gives the same state whatever the batch order.
        """
        groups = []
        for g in range(self.n_classes + 1):
            scores, positive, weight = self._settle(g)
            keys = (positive, scores) if weight is None else (weight, positive, scores)
            order = np.lexsort(keys)
            groups.append(
                (scores[order], positive[order], None if weight is None else weight[order])
            )
        weighted = any(w is not None for _, _, w in groups)
        dtype = np.result_type(*[s.dtype for s, _, _ in groups])
        return {
            "scores": np.concatenate([s.astype(dtype, copy=False) for s, _, _ in groups]),
            "positive": np.concatenate([p for _, p, _ in groups]),
            "weight": (
                np.concatenate([np.ones(s.size) if w is None else w for s, _, w in groups])
                if weighted
                else np.zeros(0)
            ),
            "offsets": np.cumsum([0] + [s.size for s, _, _ in groups]).astype(np.int64),
        }

    @classmethod
    def from_state(cls, n_classes: int, state: dict[str, np.ndarray]) -> ExactScores:
        store = cls(n_classes)
        offsets = state["offsets"]
        if offsets.shape != (n_classes + 2,) or offsets[-1] != state["scores"].size:
            raise ValueError("state has score offsets that do not fit its labels.")
        weighted = state["weight"].size > 0
        for g in range(n_classes + 1):
            lo, hi = int(offsets[g]), int(offsets[g + 1])
            store._sorted[g] = (
                state["scores"][lo:hi].copy(),
                state["positive"][lo:hi].astype(bool),
                state["weight"][lo:hi].copy() if weighted else None,
            )
        return store

    @property
    def nbytes(self) -> int:
        total = 0
        for g in range(self.n_classes + 1):
            for part in [self._sorted[g], *self._pending[g]]:
                total += sum(a.nbytes for a in part if a is not None)
        return total


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

    def merge(self, other: BinnedScores) -> None:
        if other.bins != self.bins:
            raise ValueError(f"cannot merge binned states with {other.bins} and {self.bins} bins.")
        self.hist = self.hist + other.hist

    def state(self) -> dict[str, np.ndarray]:
        return {"hist": self.hist.copy()}

    @classmethod
    def from_state(cls, n_classes: int, bins: int, state: dict[str, np.ndarray]) -> BinnedScores:
        store = cls(n_classes, bins)
        if state["hist"].shape != store.hist.shape:
            raise ValueError("state has a score histogram that does not fit its labels and bins.")
        store.hist = state["hist"].astype(np.float64)
        return store

    @property
    def nbytes(self) -> int:
        return self.hist.nbytes
