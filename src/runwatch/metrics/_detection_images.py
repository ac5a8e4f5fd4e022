"""Where a detector fails: ``DetectionMetrics``' per-image tables, from its kept rows.

The engine keeps per detection its image (``det_image``, ``det_auto``),
match bits, score, rank and confusion row, all computed within its image.
COCO's accumulation over a set of images needs nothing else but the
ground-truth counts of those images, so this module keeps, besides the
per-image rows of ``_image_rows`` (id, attributes, the image's key and auto
flag, whether the id is its running index: 18 bytes with an integer id, 8
more per numeric attribute), one row per image and class with ground
truth: its non-ignored count per COCO area range (29 bytes with the image's
key). Then, exactly:

- ``by_attribute``: per bucket of images, COCO's ``mAP`` and ``mAP_50`` over
  the bucket's images (``_coco.accumulate`` on the bucket's detection rows
  and ground-truth counts: what pycocotools gives on those images alone),
  and precision / recall / F1 at the score threshold (IoU 0.5, tp, fp and
  fn pooled over classes, ``zero_division=0``);
- the per-image error: ``1 - F1`` of the image at the score threshold
  (``2 tp / (2 tp + fp + fn)``, 0 for an image with nothing to find and
  nothing found), and whether the image has any error (fp + fn > 0), which
  ``attribute_importance`` correlates with and ``top_losses`` ranks by;
- ``samples``: the images behind a confusion-matrix cell (background row
  and column included) at the score threshold, as the classification
  reservoirs pick them: the ``k`` of smallest seeded hash
  (``_samples.keep_per_cell``), computed from the kept rows at read time,
  so the sample is the same after any merge as in one pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _coco
from . import _detection_state as _state
from . import _samples as sm
from ._detection_confusion import BACKGROUND
from ._image_rows import ImageRows, Pending

if TYPE_CHECKING:
    import pandas as pd

_EXTRA = {"key": np.zeros(0, np.int64), "auto": np.zeros(0, bool)}
_GT = {"gt_key": np.zeros(0, np.int64), "gt_auto": np.zeros(0, bool),
       "gt_label": np.zeros(0, np.int32),
       "gt_count": np.zeros((0, _state.N_AREA), np.int32)}  # fmt: skip


class DetectionImages:
    """Per-image rows and per (image, class) ground-truth counts of a detection engine."""

    def __init__(self) -> None:
        self.rows = ImageRows(_EXTRA)
        self.gt = {name: v.copy() for name, v in _GT.items()}

    # ------------------------------------------------------------------ update
    def prepare(self, sample_ids: Any, attributes: Any, images: list[Any], start: int) -> Pending:
        """Check a batch's ids and attributes (``ValueError`` naming the argument).

        Default ids: each image's ``image_id``, else its running index in the
        stream (``start`` + its position in the batch).
        """
        default = np.array([start + i if im.image_id is None else im.image_id
                            for i, im in enumerate(images)], np.int64)  # fmt: skip
        defaulted = np.array([im.image_id is None for im in images], bool)
        return self.rows.prepare(sample_ids, attributes, default, defaulted)

    def commit(self, pending: Pending, waiting: list[Any], k: int) -> None:
        """Append the rows of images the engine accepted (``waiting``: their classes, areas)."""
        if not waiting:
            return
        key = np.array([w.key for w in waiting], np.int64)
        auto = np.array([w.auto for w in waiting], bool)
        self.rows.commit(pending, {"key": key, "auto": auto})
        n_gt = np.array([w.true_cats.size for w in waiting])
        if not n_gt.sum():
            return
        cats = np.concatenate([w.true_cats for w in waiting]).astype(np.int64)
        crowd = np.concatenate([w.true_iscrowd for w in waiting]).astype(bool)
        area = np.concatenate([w.true_area for w in waiting]).astype(np.float64)
        image = np.repeat(np.arange(len(waiting)), n_gt)
        counted = ~crowd[:, None] & _coco.in_range(area)  # (G, A): COCO's non-ignored
        pair, inverse = np.unique(image * k + cats, return_inverse=True)
        counts = np.zeros((pair.size, _state.N_AREA), np.int64)
        np.add.at(counts, inverse.reshape(-1), counted.astype(np.int64))
        where = pair // k
        self._add_gt(key[where], auto[where], (pair % k).astype(np.int32), counts.astype(np.int32))

    def _add_gt(self, key, auto, label, count) -> None:
        for name, value in (("gt_key", key), ("gt_auto", auto), ("gt_label", label),
                            ("gt_count", count)):  # fmt: skip
            self.gt[name] = np.concatenate([self.gt[name], value])

    def relabeled(self, where: np.ndarray) -> DetectionImages:
        """A copy with classes moved to a grown label list (``where[old] = new``)."""
        out = DetectionImages()
        out.rows = self.rows
        out.gt = dict(self.gt)
        if self.gt["gt_label"].size:
            out.gt["gt_label"] = where[self.gt["gt_label"]].astype(np.int32)
        return out

    # ------------------------------------------------------------------- merge
    def merge(self, other: DetectionImages, auto_offset: int) -> None:
        """Append ``other``'s rows, its images without an id numbered after this one's."""
        extra = other.rows.extra
        shifted = np.where(extra["auto"], extra["key"] + auto_offset, extra["key"])
        self.rows.merge(other.rows, {"key": shifted, "auto": extra["auto"]})
        g = other.gt
        key = np.where(g["gt_auto"], g["gt_key"] + auto_offset, g["gt_key"])
        self._add_gt(key, g["gt_auto"], g["gt_label"], g["gt_count"])

    # ------------------------------------------------------------------- state
    def state(self) -> dict[str, np.ndarray]:
        """Plain arrays: ``images.*`` (none for rows never stored)."""
        out = self.rows.state()
        if out:
            out.update({f"images.{name}": value for name, value in self.gt.items()})
        return out

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], n_images: int, k: int) -> DetectionImages:
        """The rows of ``state`` (checked; ``ValueError`` naming the entry)."""
        out = cls()
        out.rows = ImageRows.from_state(state, _EXTRA, n_images)
        if not any(key.startswith("images.") for key in state):
            return out
        n = _need(state, "images.gt_key").shape[0] if _need(state, "images.gt_key").ndim else -1
        for name, empty in _GT.items():
            key = f"images.{name}"
            value = _need(state, key)
            if value.ndim != empty.ndim or value.shape != (n, *empty.shape[1:]):
                raise ValueError(f"state[{key!r}] has shape {value.shape}; it does not fit.")
            if value.dtype.kind not in ("b" if empty.dtype.kind == "b" else "biu"):
                raise ValueError(f"state[{key!r}] must hold {empty.dtype} values.")
            out.gt[name] = value.astype(empty.dtype)
        labels = out.gt["gt_label"]
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise ValueError(f"state['images.gt_label'] holds classes outside the {k} labels.")
        return out


def _need(state: dict[str, np.ndarray], key: str) -> np.ndarray:
    if key not in state:
        raise ValueError(f"state is missing the entry {key!r}.")
    return state[key]


# --------------------------------------------------------------------- reading
def _positions(rows_key: np.ndarray, rows_auto: np.ndarray, key: np.ndarray,
               auto: np.ndarray) -> np.ndarray:  # fmt: skip
    """The row of each (key, auto) among the images' rows (every one is there)."""
    out = np.zeros(key.size, np.int64)
    for flag in (False, True):
        mine = np.flatnonzero(rows_auto == flag)
        order = np.argsort(rows_key[mine], kind="stable")
        sel = auto == flag
        at = np.searchsorted(rows_key[mine][order], key[sel])
        out[sel] = mine[order][np.minimum(at, max(mine.size - 1, 0))]
    return out


class Reader:
    """The per-image view of one flushed ``DetectionMetrics`` state."""

    def __init__(self, m: Any, threshold: float) -> None:
        images: DetectionImages = m._images
        rows = images.rows
        self.m, self.rows, self.gt, self.k = m, rows, images.gt, len(m._labels)
        extra = rows.extra
        self.det_pos = _positions(extra["key"], extra["auto"], m.det_image, m.det_auto)
        self.gt_pos = _positions(extra["key"], extra["auto"], images.gt["gt_key"],
                                 images.gt["gt_auto"])  # fmt: skip
        matched, ignored = m._table_bits()
        self.counted = (m.det_score >= threshold) & ~ignored
        self.tp_det = self.counted & matched
        n = rows.n
        self.tp = np.bincount(self.det_pos[self.tp_det], minlength=n)
        self.fp = np.bincount(self.det_pos[self.counted & ~matched], minlength=n)
        self.n_true = np.bincount(self.gt_pos, images.gt["gt_count"][:, 0], n).astype(np.int64)
        self.fn = self.n_true - self.tp
        self.threshold = threshold

    def loss(self) -> np.ndarray:
        """``1 - F1`` of each image at the threshold (0 with nothing to find or found)."""
        den = 2 * self.tp + self.fp + self.fn
        return np.where(den > 0, 1.0 - 2 * self.tp / np.maximum(den, 1), 0.0)

    def coco(self, selected: np.ndarray) -> dict[str, float]:
        """COCO's stats over the images ``selected`` (a boolean per image row)."""
        m = self.m
        det = selected[self.det_pos]
        gt = selected[self.gt_pos]
        gt_count = np.zeros((self.k, _state.N_AREA), np.int64)
        np.add.at(gt_count, self.gt["gt_label"][gt].astype(np.int64), self.gt["gt_count"][gt])
        n_thr = len(m._thresholds)
        precision, recall = _coco.accumulate(
            m.det_label[det].astype(np.int64), m.det_score[det],
            (m.det_auto[det], m.det_image[det]), m.det_rank[det],
            _state.unpack(m.det_matched[det], n_thr), _state.unpack(m.det_ignored[det], n_thr),
            gt_count, m._max_dets,
        )  # fmt: skip
        return _coco.stats(precision, recall, m._averaged, m._at_50, m._at_75)

    def cells(self) -> sm.Kept:
        """One row per (image, confusion cell) the image has at the threshold; K: background."""
        m, k = self.m, self.k
        use = (m.det_score >= self.threshold) & (m.det_cm_true >= 0)
        row = m.det_cm_true[use].astype(np.int64)
        image = self.det_pos[use]
        cell = (image * (k + 1) + row) * (k + 1) + m.det_label[use].astype(np.int64)
        # Missed ground truths: an image's non-crowd truths of a class its detections left.
        took = np.bincount(image * (k + 1) + row, minlength=self.rows.n * (k + 1))
        truths = np.bincount(self.gt_pos * (k + 1) + self.gt["gt_label"].astype(np.int64),
                             self.gt["gt_count"][:, 0], self.rows.n * (k + 1))  # fmt: skip
        missed = np.flatnonzero(truths.astype(np.int64) - took > 0)
        cell = np.unique(np.r_[cell, missed * (k + 1) + k])
        image, rest = np.divmod(cell, (k + 1) ** 2)
        true, pred = np.divmod(rest, k + 1)
        ids = self.rows.ids[image]
        return sm.Kept(ids, sm.id_hash(ids), true, pred, np.zeros(ids.size))


def by_attribute(m: Any, name: str, bins: Any, max_categories: int) -> pd.DataFrame:
    """``DetectionMetrics.by_attribute``'s table."""
    frame, group = m._images.rows.buckets(name, bins, max_categories)
    r = Reader(m, m._score_threshold)
    columns: dict[str, list[float]] = {key: [] for key in (
        "count", "objects", "mAP", "mAP_50", "precision", "recall", "f1", "tp", "fp", "fn")}
    for b in range(len(frame)):
        selected = group == b
        stats = r.coco(selected)
        tp, fp, fn = (int(x[selected].sum()) for x in (r.tp, r.fp, r.fn))
        columns["count"].append(int(selected.sum()))
        columns["objects"].append(int(r.n_true[selected].sum()))
        columns["mAP"].append(stats["mAP"])
        columns["mAP_50"].append(stats["mAP_50"])
        columns["precision"].append(tp / (tp + fp) if tp + fp else 0.0)
        columns["recall"].append(tp / (tp + fn) if tp + fn else 0.0)
        columns["f1"].append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
        for key, value in (("tp", tp), ("fp", fp), ("fn", fn)):
            columns[key].append(value)
    for key, value in columns.items():
        frame[key] = np.asarray(value, np.int64 if key in ("count", "objects", "tp", "fp", "fn")
                                else np.float64)  # fmt: skip
    return frame


def importance(m: Any) -> pd.DataFrame:
    """``DetectionMetrics.attribute_importance``'s table."""
    m._images.rows.check_known("attribute_importance")
    r = Reader(m, m._score_threshold)
    wrong = ((r.fp + r.fn) > 0).astype(np.float64)
    return m._images.rows.importance(wrong, r.loss())


def top_losses(m: Any, k: int) -> pd.DataFrame:
    """``DetectionMetrics.top_losses``' table."""
    import pandas as pd

    m._images.rows.check_known("top_losses")
    r = Reader(m, m._score_threshold)
    loss = r.loss()
    top = m._images.rows.top(loss, k)
    return pd.DataFrame({
        "id": m._images.rows.ids[top].tolist(), "loss": loss[top],
        "objects": r.n_true[top], "tp": r.tp[top], "fp": r.fp[top], "fn": r.fn[top],
    })  # fmt: skip


def samples(m: Any, true: int, pred: int, k: int) -> list[Any]:
    """Up to ``k`` image ids of the cell (all of them when it holds at most ``k``)."""
    m._images.rows.check_known("samples")
    kept = sm.keep_per_cell(Reader(m, m._score_threshold).cells(), k)
    return sm.cell_ids(kept, true, pred, k)


class DetectionFailures:
    """``DetectionMetrics``' "where the model fails" methods, over the engine's image rows.

    A mixin: ``self`` is the engine (its ``_images``, ``_labels`` and
    ``_flush``); the tables are the functions above.
    """

    @property
    def has_image_rows(self) -> bool:
        """Whether every image's row is known (not for a state stored before they were kept).

        Without them ``by_attribute``, ``attribute_importance``, ``samples``
        and ``top_losses`` refuse; everything else works.
        """
        return self._images.rows.known

    def by_attribute(self, name: str, bins: Any = 10, max_categories: int = 20) -> pd.DataFrame:
        """COCO's metrics per bucket of images of the attribute ``name`` given to ``update_batch``.

        One row per bucket: ``bucket``, its edges ``lo``/``hi`` (numeric; a
        bucket holds ``lo < value <= hi``, the first one ``lo`` too, as
        ``pandas.qcut``), ``count`` (images), ``objects`` (non-crowd ground
        truths), ``mAP`` and ``mAP_50`` (COCO's over the bucket's images
        alone: pycocotools on those images; NaN without ground truth), and
        ``precision``, ``recall``, ``f1`` with ``tp``, ``fp``, ``fn`` at
        ``score_threshold`` and IoU 0.5 (``per_class()``'s counts summed over
        the classes; ``zero_division=0``). ``bins`` and ``max_categories`` as
        ``ClassificationMetrics.by_attribute``; NaN values make a last
        ``(missing)`` row.
        """
        self._flush()
        return by_attribute(self, name, bins, max_categories)

    def attribute_importance(self) -> pd.DataFrame:
        """How strongly each per-image attribute relates to the detector's errors, strongest first.

        The per-image error is ``1 - F1`` of the image at ``score_threshold``
        (IoU 0.5; 0 for an image with nothing to find and nothing found):
        ``with_loss`` is the attribute's relation to it, ``with_error`` to
        whether the image has any error (a false positive or a missed
        object). Numeric attributes: Spearman's rho (signed), missing values
        left out; categorical: the correlation ratio η. Columns as
        ``ClassificationMetrics.attribute_importance``.
        """
        self._flush()
        return importance(self)

    def samples(self, true: Any, pred: Any, k: int = 50) -> list[Any]:
        """Ids of the images with a count in the confusion-matrix cell (``true``, ``pred``), sorted.

        ``true``/``pred`` are classes or ``"background"`` (a missed object:
        (class, background); a false detection: (background, class)), at
        ``score_threshold`` as ``confusion_matrix()``. All of them when the
        cell holds at most ``k`` images; otherwise the ``k`` ids of smallest
        seeded hash (a uniform sample, the same after any merge as in one
        pass, as ``ClassificationMetrics.samples``). ``k`` is at most 100.
        """
        from ._samples import RESERVOIR, check_cell, check_k

        k = check_k(k, RESERVOIR)
        row, column = check_cell(true, pred, [*self._labels, BACKGROUND])
        self._flush()
        return samples(self, row, column, k)

    def top_losses(self, k: int = 20) -> pd.DataFrame:
        """The ``k`` images of highest error ``1 - F1`` (see ``attribute_importance``).

        Columns ``id``, ``loss``, ``objects``, ``tp``, ``fp``, ``fn``; exact
        (ties: a seeded hash of the id, then the id), the same after any merge.
        """
        from ._samples import check_k

        k = check_k(k)
        self._flush()
        return top_losses(self, k)
