"""Where the model fails: the state behind ``ClassificationMetrics``' attribute tables.

It serves ``by_attribute``, ``attribute_importance``, ``samples`` and ``top_losses``.

:class:`Failures` holds the per-cell reservoirs and the top-loss heap
(``_samples``, buffered by ``_sample_pools`` so an update costs O(batch)),
the attribute columns (``_attributes``) and, in exact mode with attributes,
the per-sample outcome the numeric columns are read with (true and
predicted class index, weight, log loss or NaN). It validates a
batch's ``sample_ids`` / ``attributes`` before the engine changes anything
(:meth:`prepare`), folds it in after (:meth:`commit`), re-indexes classes
when the label list grows, merges, and reads and writes plain arrays.
Objects are replaced, never changed in place (a pool's compaction aside,
which changes no row), where the engine relabels a shallow copy during a merge.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _attributes as at
from . import _samples as sm
from ._attribute_input import CATEGORICAL, NUMERIC, check_attributes
from ._attribute_stats import bucket_rows, importance_frame
from ._sample_pools import Reservoirs, TopLosses

if TYPE_CHECKING:
    import pandas as pd

    from ._classification_batch import Batch

_OUTCOME = ("true", "pred", "weight", "loss")


@dataclass(frozen=True)
class Pending:
    """A batch's checked ids and attributes, waiting for the engine's own commit."""

    ids: np.ndarray
    attributes: dict[str, tuple[str, np.ndarray]]

    def rows(self, part: slice) -> Pending:
        """The ids and attribute values of a slice of the batch's rows (views)."""
        attributes = self.attributes.items()
        return Pending(self.ids[part], {name: (kind, v[part]) for name, (kind, v) in attributes})


class Failures:
    """Reservoirs, top losses and attribute columns of one classification engine."""

    def __init__(self, exact: bool, k: int) -> None:
        self.exact = exact
        self.kinds: dict[str, str] = {}  # attribute name -> numeric | categorical, in given order
        self.columns: dict[str, at.Column] = {}
        self.outcome = {
            "true": np.zeros(0, np.int64), "pred": np.zeros(0, np.int64),
            "weight": np.zeros(0), "loss": np.zeros(0),
        }  # fmt: skip
        self._samples = Reservoirs()
        self._top = TopLosses()
        self.k = k

    @property
    def samples(self) -> sm.Kept:
        """The per-cell reservoirs, compacted."""
        return self._samples.kept

    @property
    def top(self) -> sm.Kept:
        """The top-loss rows, compacted, highest loss first."""
        return self._top.kept

    # ------------------------------------------------------------------ update
    def _known_ids(self) -> np.ndarray:
        return self._samples.some_ids()

    def prepare(self, sample_ids: Any, attributes: Any, n: int, start: int) -> Pending:
        """Check a batch's ids and attributes (``ValueError`` naming the argument)."""
        ids = sm.check_ids(sample_ids, n, start, self._known_ids())
        return Pending(ids, check_attributes(attributes, n, self.kinds))

    def commit(self, pending: Pending, batch: Batch) -> None:
        """Fold a batch the engine has accepted in (classes index ``batch.labels``)."""
        k = len(batch.labels)
        n = batch.true.size
        loss = np.full(n, np.nan)
        if batch.proba is not None:
            p_true = batch.proba[np.arange(n), batch.true].astype(np.float64)
            loss = -np.log(np.clip(p_true, batch.eps, 1 - batch.eps))
        rows = sm.Kept(pending.ids, sm.id_hash(pending.ids), batch.true, batch.pred, loss)
        self._samples.add(rows, k)
        if batch.proba is not None:
            self._top.add(rows, k)
        if not pending.attributes:
            return
        weight = np.ones(n) if batch.weight is None else batch.weight
        outcome = (batch.true, batch.pred, weight, loss)
        if not self.kinds:
            self.kinds = {name: kind for name, (kind, _) in pending.attributes.items()}
            self.columns = {name: at.new_column(kind, self.exact, k) for name, kind in
                            self.kinds.items()}  # fmt: skip
        for name, (_, values) in pending.attributes.items():
            self.columns[name] = at.add_values(self.columns[name], values, k, outcome)
        if self._keeps_rows():
            for key, part in zip(_OUTCOME, outcome):
                self.outcome[key] = np.concatenate([self.outcome[key], part])

    def _keeps_rows(self) -> bool:
        # Quantiles of numeric attributes are cut at compute time over every value (exact
        # mode): the rows' outcome is kept beside the values; categories need only sums.
        return self.exact and NUMERIC in self.kinds.values()

    def relabeled(self, where: np.ndarray, k: int) -> Failures:
        """A copy with class indices moved to a grown label list (``where[old] = new``)."""
        out = copy.copy(self)
        out.k = k
        out._samples, out._top = self._samples.relabeled(where), self._top.relabeled(where)
        out.columns = {name: at.grow_column(c, where, k) for name, c in self.columns.items()}
        out.outcome = dict(self.outcome)
        for key in ("true", "pred"):
            if out.outcome[key].size:
                out.outcome[key] = where[out.outcome[key]]
        return out

    # ------------------------------------------------------------------ merge
    @staticmethod
    def check_merge(states: list[Failures]) -> None:
        """Refuse (``ValueError`` naming ``other``) states whose attributes or ids differ."""
        kinds: dict[str, str] = {}
        id_kind = None
        for state in states:
            if state.kinds:
                if kinds and state.kinds != kinds:
                    raise ValueError(
                        f"other has the attributes {state.kinds} where this metric has {kinds}; "
                        "only states given the same attributes merge."
                    )
                kinds = state.kinds
            ids = state._samples.some_ids()
            if ids.size:
                kind = ids.dtype.kind == "U"
                if id_kind is not None and id_kind != kind:
                    raise ValueError(
                        "other's sample_ids are strings where this metric's are integers "
                        "(or the reverse); they cannot be merged."
                    )
                id_kind = kind

    def merge(self, other: Failures) -> None:
        """Fold ``other`` in (labels already aligned, compatibility checked)."""
        self._samples = self._samples.merged(other._samples)
        self._top = self._top.merged(other._top)
        if not other.kinds:
            return
        if not self.kinds:
            self.kinds, self.columns = dict(other.kinds), dict(other.columns)
        else:
            self.columns = {name: at.merge_columns(self.columns[name], other.columns[name])
                            for name in self.kinds}  # fmt: skip
        if self._keeps_rows():
            for key in _OUTCOME:
                self.outcome[key] = np.concatenate([self.outcome[key], other.outcome[key]])

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, np.ndarray]:
        """Plain arrays: ``samples.*``, ``top.*``, ``attr.*``."""
        out = {**self.samples.state("samples"), **self.top.state("top")}
        out["attr.names"] = np.array(list(self.kinds), dtype=str) if self.kinds else np.zeros(
            0, "U1")  # fmt: skip
        out["attr.kinds"] = np.array(list(self.kinds.values()), dtype=str) if self.kinds else (
            np.zeros(0, "U1"))  # fmt: skip
        for key, value in self.outcome.items():
            out[f"attr.{key}"] = value
        for i, col in enumerate(self.columns.values()):
            out.update(at.column_state(col, f"attr.{i}"))
        return out

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], exact: bool, k: int) -> Failures:
        """The state back from ``state`` (entries checked, ``ValueError`` naming the entry)."""
        out = cls(exact, k)
        samples = sm.Kept.from_state(state, "samples", k)
        top = sm.Kept.from_state(state, "top", k)
        if (
            samples.ids.size
            and top.ids.size
            and ((samples.ids.dtype.kind == "U") != (top.ids.dtype.kind == "U"))
        ):
            raise ValueError("state['top.ids'] and state['samples.ids'] hold ids of two kinds.")
        # Sorted as the pools keep them (a no-op for a state_dict's own output).
        out._samples = Reservoirs(sm.keep_per_cell(samples))
        out._top = TopLosses(sm.keep_top(top))
        names, kinds = state["attr.names"], state["attr.kinds"]
        if names.size and names.dtype.kind != "U":
            raise ValueError("state['attr.names'] must hold the attributes' names as strings.")
        if kinds.shape != names.shape or any(x not in (NUMERIC, CATEGORICAL) for x in
                                              kinds.tolist()):  # fmt: skip
            raise ValueError("state['attr.kinds'] must hold 'numeric' or 'categorical' per name.")
        n = state["attr.true"].size
        for key, dtype in zip(_OUTCOME, (np.int64, np.int64, np.float64, np.float64)):
            value = state[f"attr.{key}"]
            if value.shape != (n,):
                raise ValueError(f"state['attr.{key}'] has shape {value.shape}; it must be ({n},).")
            if key in ("true", "pred") and value.dtype.kind not in "iu":
                raise ValueError(f"state['attr.{key}'] must hold class indices (integers).")
            out.outcome[key] = value.astype(dtype)
        for key in ("true", "pred"):
            if n and (out.outcome[key].min() < 0 or out.outcome[key].max() >= k):
                raise ValueError(f"state['attr.{key}'] holds classes outside the {k} labels.")
        out.kinds = dict(zip(names.tolist(), kinds.tolist()))
        out.columns = {
            name: at.column_from_state(state, f"attr.{i}", kind, exact, k, n)
            for i, (name, kind) in enumerate(out.kinds.items())
        }
        return out

    # ---------------------------------------------------------------- reading
    def _exact_outcome(self) -> tuple:
        o = self.outcome
        return o["true"], o["pred"], o["weight"], o["loss"], self.k

    def by_attribute(
        self, name: str, bins: Any, max_categories: int, labels: list[Any]
    ) -> pd.DataFrame:
        """One row per bucket of attribute ``name`` (``ClassificationMetrics.by_attribute``)."""
        import pandas as pd

        if name not in self.columns:
            known = ", ".join(repr(n) for n in self.kinds) or "none yet"
            raise ValueError(f"name {name!r} is not an attribute given to update (known: {known}).")
        col = self.columns[name]
        if col.kind == CATEGORICAL:
            if not isinstance(max_categories, (int, np.integer)) or max_categories < 1:
                raise ValueError(f"max_categories must be an int >= 1; got {max_categories!r}.")
            assert col.table is not None
            names, classes, totals = at.fold_categories(col.table, int(max_categories))
            frame = pd.DataFrame({"bucket": names, "lo": np.nan, "hi": np.nan})
        else:
            bins = at.check_bins(bins)
            classes, totals, edges, missing = at.numeric_buckets(col, bins, self._exact_outcome())
            lo, hi = edges[:-1], edges[1:]
            names = [
                f"{'[' if i == 0 else '('}{a:.6g}, {b:.6g}]" for i, (a, b) in enumerate(zip(lo, hi))
            ]
            if missing is not None:
                names.append("(missing)")
                lo, hi = np.r_[lo, np.nan], np.r_[hi, np.nan]
                classes = np.concatenate([classes, missing.classes])
                totals = np.concatenate([totals, missing.totals])
            frame = pd.DataFrame({"bucket": names, "lo": lo, "hi": hi})
        # All columns at once: one per class's recall, set one by one, fragments the frame
        # (pandas warns past 100 columns).
        rows = pd.DataFrame(bucket_rows(classes, totals, labels), index=frame.index)
        return pd.concat([frame, rows], axis=1)

    def importance(self) -> pd.DataFrame:
        """Per attribute, its rank correlation (or correlation ratio) with error and loss."""
        rows = []
        for name, col in self.columns.items():
            measure, with_error, with_loss = at.importance(col, self._exact_outcome())
            rows.append((name, col.kind, measure, with_error, with_loss))
        return importance_frame(rows)

    def cell_samples(self, true: int, pred: int, k: int) -> list[Any]:
        """Up to ``k`` ids of the cell (all of them when it holds at most ``k``)."""
        return sm.cell_ids(self.samples, true, pred, k)

    def top_losses(self, k: int, labels: list[Any]) -> pd.DataFrame:
        """The ``k`` rows of highest log loss: id, true, predicted, loss."""
        import pandas as pd

        rows = self.top.take(np.arange(min(k, self.top.ids.size)))
        return pd.DataFrame({
            "id": rows.ids.tolist(),
            "true": [labels[i] for i in rows.true.tolist()],
            "predicted": [labels[i] for i in rows.pred.tolist()],
            "loss": rows.loss,
        })  # fmt: skip


class ClassificationFailures:
    """``ClassificationMetrics``' "where the model fails" methods, over its :class:`Failures`.

    A mixin: ``self`` is the engine (its ``_failures`` and ``_labels``).
    """

    def by_attribute(self, name: str, bins: Any = 10, max_categories: int = 20) -> pd.DataFrame:
        """Performance per bucket of the attribute ``name`` given to ``update``.

        One row per bucket: ``bucket``, its edges ``lo``/``hi`` (numeric; a
        bucket holds ``lo < value <= hi``, the first one ``lo`` too, as
        ``pandas.qcut``), ``count``, ``weight``, ``accuracy``,
        ``precision_macro``, ``recall_macro``, ``f1_macro`` (averaged over
        the labels seen in the bucket's ``y_true`` or predicted,
        ``zero_division=0``: scikit-learn's defaults on the bucket's rows),
        ``log_loss`` (with scores) and ``recall[<label>]`` per class (NaN
        where the class is absent from the bucket's ``y_true``).

        ``bins``: the number of quantile buckets over the values seen
        (equal quantiles merge), or increasing edges (values outside them
        are left out). NaN values make a last ``(missing)`` row. In binned
        mode (``curve_bins``) the buckets are unions of the bins of a grid
        on ``asinh(value)`` (at most 1,024): the edges reported are exact for
        the rows counted, a quantile edge or a given edge moves to the
        bin boundary at or above it. Categorical values are their own buckets,
        largest first; past ``max_categories`` the smallest fold into
        ``(other)``.
        """
        return self._failures.by_attribute(name, bins, max_categories, self._labels)

    def attribute_importance(self) -> pd.DataFrame:
        """How strongly each attribute relates to being wrong, strongest first.

        Columns ``attribute``, ``kind``, ``measure``, ``with_error`` (against
        the per-sample error, 1 wrong, 0 right) and ``with_loss`` (against the
        per-sample log loss; NaN without scores). Numeric attributes:
        Spearman's rho (ties by midranks, as ``scipy.stats.spearmanr``; the
        sign says whether larger values go with more errors), missing values
        left out; in binned mode the values of a grid bin tie (and, for
        ``with_loss``, the losses of a bin of a joint grid). Categorical
        attributes: the correlation ratio η in [0, 1] (unsigned: categories
        have no order). Sorted by ``|with_error|``, then ``|with_loss|``;
        samples count unweighted.
        """
        return self._failures.importance()

    def samples(self, true: Any, pred: Any, k: int = 50) -> list[Any]:
        """Ids of the samples of the confusion-matrix cell (``true``, ``pred``), sorted.

        All of them when the cell holds at most ``k``; otherwise a uniform
        sample of exactly ``k`` without replacement: the ``k`` ids of
        smallest seeded hash (bottom-k sampling), deterministic and the same
        after any merge as in one pass. ``k`` is at most 100.
        """
        from ._samples import RESERVOIR, check_cell, check_k

        k = check_k(k, RESERVOIR)
        return self._failures.cell_samples(*check_cell(true, pred, self._labels), k)

    def top_losses(self, k: int = 20) -> pd.DataFrame:
        """The ``k`` samples of highest log loss: ``id``, ``true``, ``predicted``, ``loss``.

        Exact (ties: a seeded hash of the id decides), merged exactly; only
        batches given ``y_proba`` have a loss. ``k`` is at most 100.
        """
        from ._samples import TOP_LOSSES, check_k

        return self._failures.top_losses(check_k(k, TOP_LOSSES), self._labels)
