"""Per-attribute state: what ``by_attribute`` and ``attribute_importance`` read.

- **numeric, exact mode**: the attribute's values, aligned with the
  per-sample outcome the store keeps once for all attributes (true and
  predicted class index, weight, log loss or NaN), so quantile buckets are
  cut at compute time over every value seen: 8 bytes per sample and
  attribute, plus 32 per sample;
- **numeric, binned mode** (``curve_bins``): a grid of at most
  ``GRID_BINS`` bins on ``asinh(value)`` whose width is a power of two
  (``_sketch.grid_exponent``, coarsened by halving, so merges are exact),
  each with the bucket statistics of ``_attribute_stats``; a bin ``g``
  holds the values with ``asinh(v)`` in ``((g - 1)·2^e, g·2^e]``. Buckets
  are unions of whole bins: the reported edges are exact for the rows they
  count, and a quantile edge is off by at most one bin's samples;
  ``with_loss`` comes from the joint grid of ``_loss_grid``;
- **categorical**, either mode: the bucket statistics per category
  (categories kept sorted, so any merge order gives the same arrays).

NaN values of a numeric attribute go to a ``"(missing)"`` bucket, out of
the rank correlations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import _attribute_stats as st
from . import _loss_grid
from ._attribute_input import CATEGORICAL, NUMERIC
from ._sketch import grid_exponent

#: Most bins of a binned numeric attribute's grid.
GRID_BINS = 1024


def _ceil_keys(t: np.ndarray, exponent: int) -> np.ndarray:
    return np.ceil(np.ldexp(t, -exponent)).astype(np.int64)


def _coarsen(keys: np.ndarray, old: int, new: int) -> np.ndarray:
    return -((-keys) >> (new - old)) if new > old else keys  # ceil division by 2**(new - old)


def _sum_rows(keys: np.ndarray, classes: np.ndarray, totals: np.ndarray) -> tuple:
    """Distinct sorted keys, their rows of ``classes`` and ``totals`` summed."""
    if keys.size == 0:
        return keys, classes, totals
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    # reduceat over sorted runs: np.add.at is an order of magnitude slower here
    return (
        keys[starts],
        np.add.reduceat(classes[order], starts, axis=0),
        np.add.reduceat(totals[order], starts, axis=0),
    )


@dataclass(frozen=True)
class Table:
    """Bucket statistics under a key per row (grid bin or category), plus missing values."""

    keys: np.ndarray
    classes: np.ndarray
    totals: np.ndarray

    @classmethod
    def empty(cls, k: int, keys: np.ndarray) -> Table:
        """No rows."""
        return cls(keys, np.zeros((0, 5, k)), np.zeros((0, st.TOTALS)))

    def plus(self, keys: np.ndarray, classes: np.ndarray, totals: np.ndarray) -> Table:
        """Rows added, equal keys summed."""
        return Table(*_sum_rows(
            np.concatenate([self.keys, keys]),
            np.concatenate([self.classes, classes]),
            np.concatenate([self.totals, totals]),
        ))  # fmt: skip

    def grown(self, where: np.ndarray, k: int) -> Table:
        """Classes re-indexed to a grown label list."""
        return replace(self, classes=st.grow_classes(self.classes, where, k))


@dataclass(frozen=True)
class Column:
    """One attribute's state (see the module docstring for what each kind keeps)."""

    kind: str
    values: np.ndarray | None = None  # numeric, exact mode
    table: Table | None = None  # categorical (keys: categories) or binned numeric (grid bins)
    exponent: int = 0  # binned numeric: the grid's
    extremes: np.ndarray | None = None  # binned numeric: smallest and largest value seen
    missing: Table | None = None  # binned numeric: the NaN values' statistics, one row
    loss_grid: dict[str, np.ndarray] | None = None  # binned numeric: (value, loss) pairs


def new_column(kind: str, exact: bool, k: int) -> Column:
    """An attribute with no samples yet."""
    if kind == CATEGORICAL:
        return Column(kind, table=Table.empty(k, np.zeros(0, "U1")))
    if exact:
        return Column(kind, values=np.zeros(0))
    return Column(
        kind, table=Table.empty(k, np.zeros(0, np.int64)), exponent=-52,
        extremes=np.array([np.inf, -np.inf]), missing=Table.empty(k, np.zeros(0, np.int64)),
        loss_grid=_loss_grid.empty(),
    )  # fmt: skip


def add_values(col: Column, values: np.ndarray, k: int, outcome: tuple) -> Column:
    """``col`` with one batch's values added; ``outcome``: (true, pred, weight, loss)."""
    if col.values is not None:
        return replace(col, values=np.concatenate([col.values, values]))
    assert col.table is not None
    if col.kind == CATEGORICAL:
        keys, inverse = np.unique(values, return_inverse=True)
        return replace(col, table=col.table.plus(keys, *st.bucket_stats(
            inverse.reshape(-1), keys.size, k, *outcome)))  # fmt: skip
    true, pred, weight, loss = outcome
    finite = ~np.isnan(values)
    lo = min(float(col.extremes[0]), float(values[finite].min(initial=np.inf)))
    hi = max(float(col.extremes[1]), float(values[finite].max(initial=-np.inf)))
    exponent = grid_exponent(col.exponent, float(np.arcsinh(lo)), float(np.arcsinh(hi)),
                             GRID_BINS - 1)  # fmt: skip
    table = replace(col.table, keys=_coarsen(col.table.keys, col.exponent, exponent))
    keys, inverse = np.unique(_ceil_keys(np.arcsinh(values[finite]), exponent),
                              return_inverse=True)  # fmt: skip
    part = (a[finite] if a is not None else None for a in (true, pred, weight, loss))
    table = table.plus(keys, *st.bucket_stats(inverse.reshape(-1), keys.size, k, *part))
    missing = col.missing
    assert missing is not None
    if not finite.all():
        gone = ~finite
        rest = (a[gone] if a is not None else None for a in (true, pred, weight, loss))
        stats = st.bucket_stats(np.zeros(int(gone.sum()), np.int64), 1, k, *rest)
        missing = missing.plus(np.zeros(1, np.int64), *stats)
    assert col.loss_grid is not None
    loss_grid = col.loss_grid
    if loss is not None:
        pairs = finite & ~np.isnan(loss)
        loss_grid = _loss_grid.add(loss_grid, values[pairs], loss[pairs])
    return Column(col.kind, table=table, exponent=exponent, extremes=np.array([lo, hi]),
                  missing=missing, loss_grid=loss_grid)  # fmt: skip


def merge_columns(a: Column, b: Column) -> Column:
    """The state of both columns' samples (same kind and mode; labels already aligned)."""
    if a.values is not None:
        assert b.values is not None
        return replace(a, values=np.concatenate([a.values, b.values]))
    assert a.table is not None and b.table is not None
    if a.kind == CATEGORICAL:
        return replace(a, table=a.table.plus(b.table.keys, b.table.classes, b.table.totals))
    assert a.extremes is not None and b.extremes is not None
    assert a.missing is not None and b.missing is not None
    lo, hi = min(a.extremes[0], b.extremes[0]), max(a.extremes[1], b.extremes[1])
    exponent = grid_exponent(max(a.exponent, b.exponent), float(np.arcsinh(lo)),
                             float(np.arcsinh(hi)), GRID_BINS - 1)  # fmt: skip
    table = replace(a.table, keys=_coarsen(a.table.keys, a.exponent, exponent)).plus(
        _coarsen(b.table.keys, b.exponent, exponent), b.table.classes, b.table.totals
    )
    missing = a.missing.plus(b.missing.keys, b.missing.classes, b.missing.totals)
    assert a.loss_grid is not None and b.loss_grid is not None
    loss_grid = _loss_grid.merge(a.loss_grid, b.loss_grid)
    return Column(a.kind, table=table, exponent=exponent, extremes=np.array([lo, hi]),
                  missing=missing, loss_grid=loss_grid)  # fmt: skip


def grow_column(col: Column, where: np.ndarray, k: int) -> Column:
    """``col`` with its classes re-indexed to a grown label list."""
    return replace(
        col,
        table=None if col.table is None else col.table.grown(where, k),
        missing=None if col.missing is None else col.missing.grown(where, k),
    )


# ------------------------------------------------------------------- state
def column_state(col: Column, prefix: str) -> dict[str, np.ndarray]:
    """The column as plain arrays under ``prefix``."""
    if col.values is not None:
        return {f"{prefix}.values": col.values}
    assert col.table is not None
    out = {f"{prefix}.keys": col.table.keys, f"{prefix}.classes": col.table.classes,
           f"{prefix}.totals": col.table.totals}  # fmt: skip
    if col.kind == NUMERIC:
        assert col.missing is not None and col.extremes is not None
        out[f"{prefix}.exponent"] = np.array(col.exponent, np.int64)
        out[f"{prefix}.extremes"] = col.extremes
        out[f"{prefix}.missing_classes"] = col.missing.classes
        out[f"{prefix}.missing_totals"] = col.missing.totals
        assert col.loss_grid is not None
        out.update(_loss_grid.state(col.loss_grid, f"{prefix}.loss"))
    return out


def column_from_state(
    state: dict[str, np.ndarray], prefix: str, kind: str, exact: bool, k: int, n: int
) -> Column:
    """A column back from ``state`` (``n``: the per-sample rows in exact mode); checked."""

    def get(name: str, kinds: str, ndim: int) -> np.ndarray:
        key = f"{prefix}.{name}"
        if key not in state:
            raise ValueError(f"state is missing the entry {key!r}.")
        value = state[key]
        if value.dtype.kind not in kinds or value.ndim != ndim:
            raise ValueError(f"state[{key!r}] has dtype {value.dtype} and {value.ndim} dims; "
                             f"it must be a {ndim}-D array of kind {kinds!r}.")  # fmt: skip
        return value

    if kind == NUMERIC and exact:
        values = get("values", "iuf", 1).astype(np.float64)
        if values.size != n:
            raise ValueError(f"state['{prefix}.values'] has {values.size} values for {n} samples.")
        return Column(kind, values=values)
    keys = get("keys", "U" if kind == CATEGORICAL else "iu", 1)
    classes = get("classes", "iuf", 3).astype(np.float64)
    totals = get("totals", "iuf", 2).astype(np.float64)
    if classes.shape != (keys.size, 5, k) or totals.shape != (keys.size, st.TOTALS):
        raise ValueError(
            f"state['{prefix}.classes'] and state['{prefix}.totals'] must have "
            f"shapes ({keys.size}, 5, {k}) and ({keys.size}, {st.TOTALS})."
        )
    if keys.size > 1 and not np.all(keys[1:] > keys[:-1]):
        raise ValueError(f"state['{prefix}.keys'] must be sorted and distinct.")
    if kind == CATEGORICAL:
        return Column(kind, table=Table(keys, classes, totals))
    missing_classes = get("missing_classes", "iuf", 3).astype(np.float64)
    missing_totals = get("missing_totals", "iuf", 2).astype(np.float64)
    m = missing_totals.shape[0]
    if m > 1 or missing_classes.shape != (m, 5, k) or missing_totals.shape != (m, st.TOTALS):
        raise ValueError(f"state['{prefix}.missing_classes'] must have shape (0 or 1, 5, {k}).")
    extremes = get("extremes", "iuf", 1).astype(np.float64)
    if extremes.shape != (2,):
        raise ValueError(f"state['{prefix}.extremes'] must hold 2 numbers.")
    return Column(
        kind, table=Table(keys.astype(np.int64), classes, totals),
        exponent=int(get("exponent", "iu", 0)), extremes=extremes,
        missing=Table(np.zeros(m, np.int64), missing_classes, missing_totals),
        loss_grid=_loss_grid.from_state(state, f"{prefix}.loss"),
    )  # fmt: skip


# ---------------------------------------------------------------- reading
def numeric_buckets(
    col: Column, bins: Any, outcome: tuple | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Table | None]:
    """Bucket ``classes``, ``totals``, ``edges`` and the missing values' row of a numeric column.

    ``bins``: the number of quantile buckets or increasing edges; ``outcome``
    (exact mode): the per-sample (true, pred, weight, loss) and ``k``.
    """
    if col.values is not None:
        assert outcome is not None
        true, pred, weight, loss, k = outcome
        values = col.values
        finite = ~np.isnan(values)
        edges = quantile_edges(values[finite], bins)
        b, inside = bucket_index(values, edges)
        part = (a[inside] if a is not None else None for a in (true, pred, weight, loss))
        classes, totals = st.bucket_stats(b[inside], max(edges.size - 1, 0), k, *part)
        missing = None
        if not finite.all():
            rest = (a[~finite] if a is not None else None for a in (true, pred, weight, loss))
            row = st.bucket_stats(np.zeros(int((~finite).sum()), np.int64), 1, k, *rest)
            missing = Table(np.zeros(1, np.int64), *row)
        return classes, totals, edges, missing
    table, e = col.table, col.exponent
    assert table is not None and col.extremes is not None
    count = table.classes[:, st.TRUE_N].sum(axis=1)
    if isinstance(bins, (int, np.integer)):
        cumulative = np.cumsum(count)
        targets = cumulative[-1] * np.arange(1, bins) / bins if count.size else np.zeros(0)
        ends = np.unique(np.r_[np.searchsorted(cumulative, targets, side="left"), count.size - 1])
        ends = ends[ends < count.size]
        group = np.searchsorted(ends, np.arange(count.size), side="left")
        inner = np.sinh(np.ldexp(table.keys[ends[:-1]].astype(np.float64), e))
        edges = np.r_[col.extremes[0], inner, col.extremes[1]] if count.size else np.zeros(0)
    else:
        given = np.asarray(bins, dtype=np.float64)
        edge_keys = _ceil_keys(np.arcsinh(given), e)
        edges = np.sinh(np.ldexp(edge_keys.astype(np.float64), e))
        group = np.clip(np.searchsorted(edge_keys, table.keys, side="left") - 1, 0, None)
        keep = (table.keys >= edge_keys[0]) & (table.keys <= edge_keys[-1])
        table = Table(table.keys[keep], table.classes[keep], table.totals[keep])
        group = group[keep]
    n_buckets = max(edges.size - 1, 0)
    classes = np.zeros((n_buckets, 5, table.classes.shape[2]))
    totals = np.zeros((n_buckets, st.TOTALS))
    np.add.at(classes, group, table.classes)
    np.add.at(totals, group, table.totals)
    missing = col.missing if col.missing is not None and col.missing.keys.size else None
    return classes, totals, edges, missing


def bucket_index(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's bucket (``lo < v <= hi``, the first one closed) and whether it has one.

    NaN values, values outside the edges, and every value when there are no
    edges (every value missing) have none.
    """
    b = np.clip(np.searchsorted(edges, values, side="left") - 1, 0, max(edges.size - 2, 0))
    inside = (
        ~np.isnan(values)
        & (values >= edges[:1].min(initial=np.inf))
        & (values <= edges[-1:].max(initial=-np.inf))
    )
    return b, inside


def quantile_edges(values: np.ndarray, bins: Any) -> np.ndarray:
    """Edges of ``bins`` quantile buckets of ``values`` (equal quantiles merge), or ``bins``."""
    if not isinstance(bins, (int, np.integer)):
        return np.asarray(bins, dtype=np.float64)
    if values.size == 0:
        return np.zeros(0)
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, int(bins) + 1)))
    return np.r_[edges, edges] if edges.size == 1 else edges


def check_bins(bins: Any) -> Any:
    """``bins`` as an int >= 1 or increasing finite edges; ``ValueError`` naming ``bins``."""
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        if bins < 1:
            raise ValueError(f"bins must be an int >= 1 or increasing edges; got {bins}.")
        return int(bins)
    try:
        edges = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"bins must be an int >= 1 or increasing edges; got {bins!r}.") from None
    if (
        edges.ndim != 1
        or edges.size < 2
        or not np.all(np.isfinite(edges))
        or not np.all(np.diff(edges) > 0)
    ):
        raise ValueError(
            f"bins must be an int >= 1 or at least 2 finite, increasing edges; got {bins!r}."
        )
    return edges


def fold_categories(table: Table, most: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Categories by count (largest first, then by name), past ``most`` folded into (other)."""
    names, group = fold_order(table.keys, table.classes[:, st.TRUE_N].sum(axis=1), most)
    classes = np.zeros((len(names), *table.classes.shape[1:]))
    totals = np.zeros((len(names), table.totals.shape[1]))
    np.add.at(classes, group, table.classes)
    np.add.at(totals, group, table.totals)
    return names, classes, totals


def fold_order(keys: np.ndarray, count: np.ndarray, most: int) -> tuple[list[str], np.ndarray]:
    """Bucket names by count (largest first, then by name), past ``most`` one ``(other)``.

    Also returns each key's bucket.
    """
    order = np.lexsort((keys, -count))
    group = np.empty(keys.size, np.int64)
    group[order] = np.minimum(np.arange(keys.size), most - 1)
    names = keys[order].tolist()
    if len(names) > most:
        names = [*names[: most - 1], "(other)"]
    return names, group


def importance(col: Column, outcome: tuple | None) -> tuple[str, float, float]:
    """(measure, with_error, with_loss) of one attribute (see ``attribute_importance``)."""
    if col.kind == CATEGORICAL:
        assert col.table is not None
        c, t = col.table.classes, col.table.totals
        n = c[:, st.TRUE_N].sum(axis=1)
        wrong = n - t[:, st.CORRECT]
        with_error = st.correlation_ratio(n, wrong, wrong)
        with_loss = st.correlation_ratio(t[:, st.SCORED], t[:, st.LOSS], t[:, st.LOSS_SQ])
        return "correlation ratio", with_error, with_loss
    if col.values is not None:
        assert outcome is not None
        true, pred, _, loss, _ = outcome
        finite = ~np.isnan(col.values)
        values = col.values[finite]
        ranks = st.midranks(values)
        with_error = st.spearman(values, (true != pred)[finite], ranks)
        scored = ~np.isnan(loss[finite])
        with_loss = st.spearman(values[scored], loss[finite][scored],
                                ranks if scored.all() else None)  # fmt: skip
        return "spearman", with_error, with_loss
    assert col.table is not None and col.loss_grid is not None
    n = col.table.classes[:, st.TRUE_N].sum(axis=1)
    wrong = n - col.table.totals[:, st.CORRECT]
    return "spearman", st.binned_spearman_error(n, wrong), _loss_grid.spearman(col.loss_grid)[0]
