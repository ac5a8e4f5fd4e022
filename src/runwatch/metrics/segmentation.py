"""``SegmentationMetrics``: IoU, mean IoU and pixel accuracy of integer masks, incrementally.

State: one K×K confusion matrix of pixel counts (rows true class, columns
predicted class), built with ``bincount(K·true + pred)`` over the pixels
whose true class is not ``ignore_index`` (notes/engine.md §5). Every metric
is a function of it, so memory does not depend on the number of pixels and
merging is addition. Per image it also keeps an id, the attributes given to
``update`` and ``3·K`` pixel counts (``_segmentation_images``), which
``by_attribute``, ``attribute_importance`` and ``top_losses`` read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _segmentation_images as _images
from . import _validation
from ._base import Metric
from ._image_rows import ImageRows
from ._labels import as_label_list, labels_to_array

if TYPE_CHECKING:  # pandas is imported when a table is asked for, not with the engine
    import pandas as pd

#: The names ``compute()`` returns, in this order.
SEGMENTATION_METRICS = (
    "mean_iou", "frequency_weighted_iou", "pixel_accuracy", "mean_pixel_accuracy",
)  # fmt: skip


class SegmentationMetrics(Metric):
    """Semantic-segmentation metrics over integer class masks, batch by batch.

    Parameters
    ----------
    num_classes : int
        K: mask values are class indices ``0..K-1``.
    ignore_index : int, optional
        A ``mask_true`` value whose pixels are left out (e.g. 255 for
        "void"). May be a class index too: its true pixels are then left out
        while predictions of it still count against other classes.
    labels : sequence, optional
        Names of the K classes, for the tables (default ``0..K-1``).

    Examples
    --------
    >>> m = SegmentationMetrics(num_classes=3, ignore_index=255)
    >>> m.update([[0, 0, 1], [2, 255, 1]], [[0, 1, 1], [2, 2, 1]])
    >>> m.compute()["pixel_accuracy"]
    0.8
    >>> round(m.compute()["mean_iou"], 4)
    0.7222
    >>> m.per_class()["iou"].round(3).tolist()
    [0.5, 0.667, 1.0]
    """

    kind = "segmentation"
    _config_entries = {"num_classes": "int", "ignore_index": "int", "has_ignore_index": "flag",
                       "labels": "labels", "has_labels": "flag"}  # fmt: skip

    def __init__(
        self, num_classes: int, ignore_index: int | None = None, labels: Any = None
    ) -> None:
        super().__init__()
        if (
            isinstance(num_classes, bool)
            or not isinstance(num_classes, (int, np.integer))
            or num_classes < 1
        ):
            raise ValueError(f"num_classes must be an int >= 1; got {num_classes!r}.")
        if ignore_index is not None and (
            isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))
        ):
            raise ValueError(f"ignore_index must be an int or None; got {ignore_index!r}.")
        if isinstance(labels, (str, bytes)):
            raise ValueError("labels must be a sequence of class names, not a single string.")
        names = None if labels is None else as_label_list(labels)
        if names is not None and len(names) != num_classes:
            raise ValueError(f"labels has {len(names)} names but num_classes is {num_classes}.")
        self._k = int(num_classes)
        self._ignore = None if ignore_index is None else int(ignore_index)
        self._names = names
        self.reset()

    def reset(self) -> None:
        """Forget every batch."""
        self._declared = {}
        self._add_state("confmat", np.zeros((self._k, self._k), np.int64), "sum")
        self._add_state("n_ignored", np.int64(0), "sum")
        self._images = ImageRows(_images.extra(self._k))
        self._cache = None

    @property
    def labels(self) -> list[Any]:
        """The class names, in index order."""
        return list(self._names) if self._names is not None else list(range(self._k))

    # ----------------------------------------------------------------- update
    def update(
        self,
        mask_true: Any,
        mask_pred: Any = None,
        y_proba: Any = None,
        *,
        sample_ids: Any = None,
        attributes: Any = None,
    ) -> None:
        """Add a batch of masks.

        Parameters
        ----------
        mask_true, mask_pred : array-like of integers, the same shape
            Any shape (one mask, a batch ``(n, h, w)``, a volume): class
            indices ``0..K-1``; ``mask_true`` may also hold ``ignore_index``.
            Floats are accepted when they are whole numbers.
        y_proba : array-like of shape (n, K, h, w), or (K, h, w) for one mask
            Instead of ``mask_pred``: per-pixel class scores (probabilities
            or logits; any finite numbers), the class axis after the batch
            axis as PyTorch models give it. The predicted class is the
            arg-max (ties: the lowest index).
        sample_ids : sequence of int or str, optional
            One id per image (the first axis of an (N, ...) batch; a 2-D mask
            is one image), for ``top_losses``; default the running index of
            the image.
        attributes : dict or DataFrame, optional
            Per-image attributes (name -> one number or string per image),
            for ``by_attribute`` and ``attribute_importance``; once given,
            every batch gives them.

        Raises
        ------
        ValueError
            Naming the argument, when the batch is not valid; the state is then
            exactly as before the call. An empty batch is a no-op.
        """
        truth = _check_mask("mask_true", mask_true)
        if (mask_pred is None) == (y_proba is None):
            raise ValueError("give one of mask_pred and y_proba (class scores per pixel).")
        if y_proba is not None:
            pred = self._predicted(truth, y_proba)
        else:
            pred = _check_mask("mask_pred", mask_pred)
        if pred.shape != truth.shape:
            raise ValueError(
                f"mask_pred has shape {pred.shape} but mask_true has shape {truth.shape}."
            )
        valid = None if self._ignore is None else truth != self._ignore
        n_pixels = truth.size
        _check_range("mask_true", truth if valid is None else truth[valid], self._k, self._ignore)
        _check_range("mask_pred", pred if valid is None else pred[valid], self._k,
                     None)  # ignored pixels' predictions: any  # fmt: skip
        n_images = (truth.shape[0] if truth.ndim >= 3 else 1) if n_pixels else 0
        start = self._images.n
        default_ids = np.arange(start, start + n_images, dtype=np.int64)
        pending = self._images.prepare(sample_ids, attributes, default_ids)
        if n_pixels == 0:
            return
        counts, delta = _images.image_counts(truth, pred, valid, self._k)
        self.confmat = self.confmat + delta
        self.n_ignored = self.n_ignored + np.int64(n_pixels - int(delta.sum()))
        self._images.commit(pending, {"counts": counts})
        self._cache = None

    def _predicted(self, truth: np.ndarray, y_proba: Any) -> np.ndarray:
        """The arg-max class of every pixel of ``y_proba``, shaped as ``truth``."""
        scores = _validation.to_numpy("y_proba", y_proba)
        if scores.dtype.kind not in "iuf":
            raise ValueError(f"y_proba must hold numbers; got dtype {scores.dtype}.")
        axis = 0 if truth.ndim == 2 else 1
        want = (*truth.shape[:axis], self._k, *truth.shape[axis:])
        if truth.ndim not in (2, 3) or scores.shape != want:
            raise ValueError(
                f"y_proba has shape {scores.shape} but mask_true of shape {truth.shape} and "
                f"{self._k} classes need {want} (classes after the batch axis)."
            )
        if scores.dtype.kind == "f" and not np.all(np.isfinite(scores)):
            raise ValueError("y_proba contains NaN or infinite values.")
        if scores.size == 0:
            return np.zeros(truth.shape, np.int64)
        return np.argmax(scores, axis=axis)

    # ---------------------------------------------------------------- compute
    def compute(self) -> dict[str, float]:
        """Mean IoU, frequency-weighted IoU, pixel accuracy and mean pixel accuracy.

        ``IoU_c = C_cc / (row_c + col_c - C_cc)`` over the valid pixels.
        ``mean_iou`` averages it over the classes with a non-empty union (in
        ``mask_true`` or predicted), which equals scikit-learn's
        ``jaccard_score(true, pred, average="macro")`` on the valid pixels;
        ``frequency_weighted_iou`` weights each class by its true pixels
        (``average="weighted"``). ``pixel_accuracy`` is the share of valid
        pixels predicted right; ``mean_pixel_accuracy`` the mean recall over
        the classes present in ``mask_true`` (``balanced_accuracy_score``).
        All NaN, with the reason in ``reasons()``, before any valid pixel.
        """
        if self._cache is None:
            self._cache = self._compute()
        return dict(self._cache["values"])

    def _compute(self) -> dict[str, Any]:
        values = dict.fromkeys(SEGMENTATION_METRICS, float("nan"))
        cm = self.confmat.astype(np.float64)
        total = cm.sum()
        if total == 0:
            why = "every pixel so far is ignore_index" if self.n_ignored else "no valid pixels yet"
            return {"values": values, "reasons": dict.fromkeys(SEGMENTATION_METRICS, why)}
        diag, support, predicted = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
        union = support + predicted - diag
        iou = _divide(diag, union)
        seen, present = union > 0, support > 0
        values["mean_iou"] = float(iou[seen].mean())
        values["frequency_weighted_iou"] = float(support[present] @ iou[present] / total)
        values["pixel_accuracy"] = float(diag.sum() / total)
        values["mean_pixel_accuracy"] = float((diag[present] / support[present]).mean())
        return {"values": values, "reasons": {}}

    # ----------------------------------------------------------------- tables
    def per_class(self) -> pd.DataFrame:
        """Per class: ``iou``, ``precision``, ``recall``, ``support`` and ``predicted``.

        ``support``/``predicted`` count true/predicted valid pixels; a ratio
        with a zero denominator is NaN (``iou`` of a class neither true nor
        predicted; ``recall`` of a class absent from ``mask_true``).
        """
        import pandas as pd

        cm = self.confmat.astype(np.float64)
        diag, support, predicted = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
        return pd.DataFrame(
            {
                "iou": _divide(diag, support + predicted - diag),
                "precision": _divide(diag, predicted),
                "recall": _divide(diag, support),
                "support": self.confmat.sum(axis=1),
                "predicted": self.confmat.sum(axis=0),
            },
            index=pd.Index(self.labels, name="label"),
        )

    def confusion_matrix(self, normalize: str | None = None) -> pd.DataFrame:
        """Pixel counts: index true class, columns predicted class.

        ``normalize``: None (counts), ``"true"`` (rows sum to 1), ``"pred"``
        (columns sum to 1) or ``"all"``; an empty row or column stays 0.
        """
        import pandas as pd

        matrix: np.ndarray = self.confmat
        if normalize is not None:
            axis = {"true": 1, "pred": 0, "all": None}.get(normalize, -1)
            if axis == -1:
                raise ValueError(
                    f"normalize must be None, 'true', 'pred' or 'all'; got {normalize!r}."
                )
            cm = self.confmat.astype(np.float64)
            total = cm.sum(axis=axis, keepdims=axis is not None)
            matrix = np.divide(cm, total, out=np.zeros_like(cm), where=total > 0)
        return pd.DataFrame(
            matrix,
            index=pd.Index(self.labels, name="true"),
            columns=pd.Index(self.labels, name="predicted"),
        )

    # ------------------------------------------------- where the model fails
    @property
    def has_image_rows(self) -> bool:
        """Whether every image's row is known (not for a state stored before they were kept).

        Without them ``by_attribute``, ``attribute_importance`` and
        ``top_losses`` refuse; everything else works.
        """
        return self._images.known

    def by_attribute(self, name: str, bins: Any = 10, max_categories: int = 20) -> pd.DataFrame:
        """Mean IoU, pixel accuracy and per-class IoU per bucket of images of attribute ``name``.

        One row per bucket: ``bucket``, ``lo``/``hi`` (as
        ``ClassificationMetrics.by_attribute``), ``count`` (images), ``pixels``
        (valid), ``mean_iou`` and ``pixel_accuracy`` over the bucket's valid
        pixels (as ``compute()`` on those images alone: scikit-learn's
        ``confusion_matrix`` of their pixels), and ``iou[<label>]`` per class
        (NaN where the class is neither true nor predicted in the bucket).
        """
        return _images.by_attribute(self._images, name, bins, max_categories, self.labels)

    def attribute_importance(self) -> pd.DataFrame:
        """How strongly each per-image attribute relates to the segmenter's errors, strongest first.

        ``with_error``: against the image's pixel error (1 - pixel
        accuracy); ``with_loss``: against ``1 - mean IoU`` of the image (over
        the classes in its truth or prediction). Images without valid pixels
        are left out. Columns and measures as
        ``ClassificationMetrics.attribute_importance``.
        """
        return self._images.importance(*_images.errors(self._images))

    def top_losses(self, k: int = 20) -> pd.DataFrame:
        """The ``k`` images of highest ``1 - mean IoU`` (see ``attribute_importance``).

        Columns ``id``, ``loss``, ``pixel_error``, ``pixels`` (valid). Exact
        (ties: a seeded hash of the id, then the id), the same after any merge.
        """
        from ._samples import check_k

        k = check_k(k)
        self._images.check_known("top_losses")
        return _images.top_losses(self._images, k)

    # ------------------------------------------------------ merge and state
    def merge(self, *others: SegmentationMetrics) -> SegmentationMetrics:  # noqa: D102
        for other in others:
            if isinstance(other, SegmentationMetrics):
                self._images.check_merge(other._images)
        return super().merge(*others)

    merge.__doc__ = Metric.merge.__doc__

    def _merge_one(self, other: SegmentationMetrics) -> None:  # type: ignore[override]
        self._merge_declared(other)
        self._images.merge(other._images, dict(other._images.extra))

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {**self._declared_arrays(), **self._images.state()}

    def _config(self) -> dict[str, Any]:
        return {"num_classes": self._k, "ignore_index": self._ignore, "labels": self._names}

    def _config_arrays(self) -> dict[str, np.ndarray]:
        return {
            "num_classes": np.array(self._k, np.int64),
            "ignore_index": np.array(0 if self._ignore is None else self._ignore, np.int64),
            "has_ignore_index": np.array(self._ignore is not None),
            "labels": labels_to_array(self._names or []),
            "has_labels": np.array(self._names is not None),
        }

    @classmethod
    def _config_from_arrays(cls, config: dict[str, np.ndarray]) -> dict[str, Any]:
        try:
            return {
                "num_classes": int(config["num_classes"]),
                "ignore_index": int(config["ignore_index"])
                if bool(config["has_ignore_index"])
                else None,
                "labels": config["labels"].tolist() if bool(config["has_labels"]) else None,
            }
        except KeyError as missing:
            raise ValueError(f"state is missing config.{missing.args[0]}.") from None

    def _load_state_arrays(self, state: dict[str, np.ndarray]) -> None:
        self._load_declared(state)
        if self.confmat.shape != (self._k, self._k):
            raise ValueError(f"state array 'confmat' does not fit {self._k} classes.")
        # No per-image count is stored beside the rows: they are as many as their ids.
        ids = state.get("images.ids")
        if ids is None:
            n = 0 if not self.confmat.any() and not self.n_ignored else -1
        else:
            n = int(ids.shape[0]) if ids.ndim == 1 else -1
        self._images = ImageRows.from_state(state, _images.extra(self._k), n)


def _check_mask(name: str, value: Any) -> np.ndarray:
    """An int64 array of whole numbers (bools and whole floats accepted)."""
    array = _validation.to_numpy(name, value)
    kind = array.dtype.kind
    if kind in "iub":
        return array.astype(np.int64, copy=False)
    if kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite values.")
        if not np.array_equal(array, np.round(array)):
            raise ValueError(f"{name} must hold whole class indices; got fractional values.")
        return array.astype(np.int64)
    raise ValueError(f"{name} must hold integer class indices; got dtype {array.dtype}.")


def _check_range(name: str, values: np.ndarray, k: int, ignore: int | None) -> None:
    if values.size and (values.min() < 0 or values.max() >= k):
        bad = values[(values < 0) | (values >= k)][0]
        extra = "" if ignore is None else f" or ignore_index {ignore}"
        raise ValueError(f"{name} has value {bad}, not a class index 0..{k - 1}{extra}.")


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)
