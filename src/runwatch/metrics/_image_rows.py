"""Per-image rows of a vision engine: ids, attributes and a few task numbers per image.

Detection and segmentation score images, not samples, so "where does the
model fail" slices images: ``by_attribute`` cuts the images in buckets (the
quantile buckets and category folding of the classification attributes,
``_attributes``), and the engine recomputes its metrics on each bucket's
images from what it keeps per image. That needs one row per image, in
exact mode (the only one the vision engines have):

- ``ids``: the image's sample id (integers or strings, one kind per stream;
  checked by ``_samples.check_ids``), hashed when a reservoir is sampled;
  ``defaulted`` marks the ids that are the image's running index (none was
  given): a merge renumbers the other state's ones after this one's images,
  so merged states hold the ids one pass would have given;
- one array per attribute (``_attribute_input.check_attributes``): numbers
  (NaN missing) or strings, 8 bytes per image for a number;
- ``extra``: the engine's own per-image arrays (detection: the image's key
  and auto flag; segmentation: its per-class pixel counts).

Rows concatenate under merges, so any split merged gives one pass's rows
(in the engine's merge order). :meth:`ImageRows.buckets` gives each image's
bucket of an attribute; :meth:`ImageRows.importance` the rank correlation
of each attribute with the engine's per-image error and loss, as
``ClassificationMetrics.attribute_importance`` does per sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _attribute_stats as st
from . import _attributes as at
from . import _samples as sm
from ._attribute_input import CATEGORICAL, MISSING, NUMERIC, check_attributes

if TYPE_CHECKING:
    import pandas as pd

#: How a length mismatch names a vision batch.
ROWS = "the batch has {n} images"


@dataclass(frozen=True)
class Pending:
    """One batch's checked ids, attributes and extra arrays, before the engine commits it."""

    ids: np.ndarray
    defaulted: np.ndarray
    attributes: dict[str, tuple[str, np.ndarray]]


class ImageRows:
    """One row per image: id, attribute values and ``extra`` arrays (see the module docstring)."""

    def __init__(self, extra: dict[str, np.ndarray]) -> None:
        self.ids: np.ndarray = np.zeros(0, np.int64)
        self.defaulted = np.zeros(0, bool)
        self.kinds: dict[str, str] = {}
        self.values: dict[str, np.ndarray] = {}
        self.extra = {name: empty.copy() for name, empty in extra.items()}
        self._empty = extra
        self.known = True  # False: loaded from a state stored before the rows existed

    @property
    def n(self) -> int:
        """Images held."""
        return int(self.ids.size)

    # ------------------------------------------------------------------ update
    def prepare(
        self,
        sample_ids: Any,
        attributes: Any,
        default_ids: np.ndarray,
        defaulted: np.ndarray | None = None,
    ) -> Pending:
        """Check a batch's ids and attributes (``ValueError`` naming the argument).

        ``default_ids``: the ids without ``sample_ids``; ``defaulted``: which
        of them are running indices (default: all).
        """
        n = default_ids.size
        ids = sm.check_ids(sample_ids, n, default_ids, self.ids if self.n else None, ROWS)
        checked = check_attributes(attributes, n, self.kinds, ROWS)
        if n and self.kinds and not checked:
            raise ValueError(
                f"attributes were given to earlier batches ({sorted(self.kinds)}); give them to "
                "every batch, one value per image."
            )
        if n and self.n and checked and not self.kinds:
            raise ValueError(
                f"attributes: {self.n} images came before without attributes; give them from "
                "the first batch on (every image needs its value)."
            )
        if sample_ids is not None:
            defaulted = np.zeros(n, bool)
        elif defaulted is None:
            defaulted = np.ones(n, bool)
        return Pending(ids, defaulted, checked)

    def commit(self, pending: Pending, extra: dict[str, np.ndarray]) -> None:
        """Append a checked batch's rows (nothing here can fail on user input)."""
        if pending.ids.size == 0:
            return
        self.ids = pending.ids if self.n == 0 else np.concatenate([self.ids, pending.ids])
        self.defaulted = np.concatenate([self.defaulted, pending.defaulted])
        if pending.attributes and not self.kinds:
            self.kinds = {name: kind for name, (kind, _) in pending.attributes.items()}
            self.values = {name: values for name, (_, values) in pending.attributes.items()}
        else:
            for name, (_, values) in pending.attributes.items():
                self.values[name] = np.concatenate([self.values[name], values])
        for name, value in extra.items():
            self.extra[name] = np.concatenate([self.extra[name], value])

    # ------------------------------------------------------------------- merge
    def check_merge(self, other: ImageRows) -> None:
        """Refuse (``ValueError`` naming ``other``) rows whose attributes or id kinds differ."""
        if self.kinds and other.kinds and self.kinds != other.kinds:
            raise ValueError(
                f"other has the attributes {other.kinds} where this metric has {self.kinds}; "
                "only states given the same attributes merge."
            )
        if (self.kinds and not other.kinds and other.n) or (other.kinds and not self.kinds
                                                             and self.n):  # fmt: skip
            raise ValueError(
                "other's images have no attributes where this metric's have them (or the "
                "reverse); only states given the same attributes merge."
            )
        if self.n and other.n and (self.ids.dtype.kind == "U") != (other.ids.dtype.kind == "U"):
            raise ValueError(
                "other's sample_ids are strings where this metric's are integers "
                "(or the reverse); they cannot be merged."
            )

    def merge(self, other: ImageRows, extra: dict[str, np.ndarray]) -> None:
        """Append ``other``'s rows, its ``extra`` arrays replaced by ``extra`` (checked before)."""
        self.known = self.known and other.known
        if other.n == 0:
            return
        ids = other.ids
        if other.defaulted.any():
            ids = np.where(other.defaulted, ids + self.n, ids)
        self.ids = ids if self.n == 0 else np.concatenate([self.ids, ids])
        self.defaulted = np.concatenate([self.defaulted, other.defaulted])
        if not self.kinds:
            self.kinds, self.values = dict(other.kinds), dict(other.values)
        else:
            self.values = {k: np.concatenate([v, other.values[k]]) for k, v in self.values.items()}
        for name, value in extra.items():
            self.extra[name] = np.concatenate([self.extra[name], value])

    # ------------------------------------------------------------------- state
    def state(self) -> dict[str, np.ndarray]:
        """Plain arrays under ``images.``."""
        if not self.known:
            return {}
        out = {"images.ids": self.ids, "images.defaulted": self.defaulted,
               "images.attr_names": np.array(list(self.kinds), dtype=str).reshape(-1),
               "images.attr_kinds": np.array(list(self.kinds.values()), dtype=str).reshape(-1)}
        for i, values in enumerate(self.values.values()):
            out[f"images.attr.{i}"] = values
        for name, value in self.extra.items():
            out[f"images.{name}"] = value
        return out  # fmt: skip

    @classmethod
    def from_state(
        cls, state: dict[str, np.ndarray], extra: dict[str, np.ndarray], n: int
    ) -> ImageRows:
        """The rows of ``state``, checked to be ``n`` images (``ValueError`` naming the entry).

        A state stored before vision engines kept per-image rows has none of
        ``images.*``: it opens with its rows unknown (everything but the
        per-image tables works).
        """
        out = cls(extra)
        if not any(key.startswith("images.") for key in state):
            out.known = n == 0
            return out

        def get(key: str) -> np.ndarray:
            if key not in state:
                raise ValueError(f"state is missing the entry {key!r}.")
            return state[key]

        ids = get("images.ids")
        if ids.ndim != 1 or ids.dtype.kind not in "iuU" or ids.size != n:
            many = f"{n} " if n >= 0 else ""
            raise ValueError(
                f"state['images.ids'] must be a 1-D array of {many}integer or string ids, one "
                "per image."
            )
        names, kinds = get("images.attr_names"), get("images.attr_kinds")
        if names.ndim != 1 or (names.size and names.dtype.kind != "U"):
            raise ValueError("state['images.attr_names'] must hold the attributes' names.")
        if kinds.shape != names.shape or any(k not in (NUMERIC, CATEGORICAL)
                                             for k in kinds.tolist()):  # fmt: skip
            raise ValueError("state['images.attr_kinds'] must hold 'numeric' or 'categorical'.")
        out.ids = ids.astype(np.int64) if ids.dtype.kind in "iu" else ids
        defaulted = get("images.defaulted")
        if defaulted.shape != ids.shape or defaulted.dtype.kind != "b":
            raise ValueError("state['images.defaulted'] must hold one boolean per image id.")
        if defaulted.any() and ids.dtype.kind == "U":
            raise ValueError("state['images.defaulted'] marks string ids as running indices.")
        out.defaulted = defaulted.copy()
        out.kinds = dict(zip(names.tolist(), kinds.tolist()))
        for i, (name, kind) in enumerate(out.kinds.items()):
            key = f"images.attr.{i}"
            value = get(key)
            ok = value.shape == (n,) and value.dtype.kind in ("iuf" if kind == NUMERIC else "U")
            if not ok:
                raise ValueError(f"state[{key!r}] must hold {n} {kind} values, one per image.")
            out.values[name] = value.astype(np.float64) if kind == NUMERIC else value
        for name, empty in extra.items():
            key = f"images.{name}"
            value = get(key)
            if value.ndim != empty.ndim or value.shape != (n, *empty.shape[1:]):
                raise ValueError(f"state[{key!r}] has shape {value.shape}; it does not fit.")
            if value.dtype.kind not in ("b" if empty.dtype.kind == "b" else "biu"
                                        if empty.dtype.kind in "iu" else "biuf"):  # fmt: skip
                raise ValueError(f"state[{key!r}] must hold {empty.dtype.kind}-kind values.")
            out.extra[name] = value.astype(empty.dtype)
        return out

    # ----------------------------------------------------------------- reading
    def check_known(self, what: str) -> None:
        """``ValueError`` when the rows were not stored (a state from before they existed)."""
        if not self.known:
            raise ValueError(
                f"{what}: this metric holds images stored before runwatch kept per-image rows."
            )

    def buckets(
        self, name: str, bins: Any, max_categories: int
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The buckets of attribute ``name`` (``bucket``, ``lo``, ``hi``) and each image's.

        Numeric: quantile buckets over the images' values (or the edges
        given), ``lo < v <= hi`` (the first closed), then ``(missing)`` for
        NaN; categorical: by count, past ``max_categories`` folded into
        ``(other)``. An image in no bucket (outside given edges) is -1.
        """
        import pandas as pd

        self.check_known("by_attribute")
        if name not in self.kinds:
            known = ", ".join(repr(n) for n in self.kinds) or "none yet"
            raise ValueError(f"name {name!r} is not an attribute given to update (known: {known}).")
        values = self.values[name]
        if self.kinds[name] == CATEGORICAL:
            most = max_categories
            if not isinstance(most, (int, np.integer)) or isinstance(most, bool) or most < 1:
                raise ValueError(f"max_categories must be an int >= 1; got {max_categories!r}.")
            keys, inverse, count = np.unique(values, return_inverse=True, return_counts=True)
            names, group = at.fold_order(keys, count, int(max_categories))
            frame = pd.DataFrame({"bucket": names, "lo": np.nan, "hi": np.nan})
            return frame, group[inverse.reshape(-1)] if values.size else np.zeros(0, np.int64)
        bins = at.check_bins(bins)
        finite = ~np.isnan(values)
        edges = at.quantile_edges(values[finite], bins)
        b, inside = at.bucket_index(values, edges)
        lo, hi = edges[:-1], edges[1:]
        names = [
            f"{'[' if i == 0 else '('}{a:.6g}, {c:.6g}]" for i, (a, c) in enumerate(zip(lo, hi))
        ]
        group = np.where(inside, b, -1)
        if not finite.all():
            group[~finite] = len(names)
            names.append(MISSING)
            lo, hi = np.r_[lo, np.nan], np.r_[hi, np.nan]
        return pd.DataFrame({"bucket": names, "lo": lo, "hi": hi}), group

    def importance(self, error: np.ndarray, loss: np.ndarray) -> pd.DataFrame:
        """Per attribute, its relation to the per-image ``error`` and ``loss`` (NaN: left out).

        Numeric: Spearman's rho over the images with a value (and an error);
        categorical: the correlation ratio η. Strongest ``|with_error|``
        first, then ``|with_loss|``.
        """
        self.check_known("attribute_importance")
        rows = []
        for name, kind in self.kinds.items():
            values = self.values[name]
            pair = []
            for target in (error, loss):
                use = ~np.isnan(target)
                if kind == NUMERIC:
                    use &= ~np.isnan(values)
                    pair.append(st.spearman(values[use], target[use]))
                else:
                    keys, inverse = np.unique(values[use], return_inverse=True)
                    inverse = inverse.reshape(-1)
                    y = target[use]
                    pair.append(st.correlation_ratio(
                        np.bincount(inverse, minlength=keys.size).astype(np.float64),
                        np.bincount(inverse, y, keys.size), np.bincount(inverse, y * y, keys.size),
                    ))  # fmt: skip
            measure = "spearman" if kind == NUMERIC else "correlation ratio"
            rows.append((name, kind, measure, *pair))
        return st.importance_frame(rows)

    def top(self, loss: np.ndarray, k: int) -> np.ndarray:
        """Row indices of the ``k`` images of highest ``loss`` (NaN left out), highest first.

        Ties: smaller seeded hash of the id, then smaller id, as the
        classification heap (``_samples.keep_top``): the same rows after any merge.
        """
        rows = np.flatnonzero(~np.isnan(loss))
        kept = sm.Kept(self.ids[rows], sm.id_hash(self.ids[rows]), rows, rows, loss[rows])
        return sm.keep_top(kept, k).true
