"""``RegressionMetrics``: every Azure AutoML regression metric, incrementally.

State (plain arrays; merged by addition, min/max, concatenation or, for
the two moment triples, Chan's parallel rule):

- the weighted moments ``(Σw, mean, M2, shift)`` of ``y_true`` and of the error
  ``e = y_pred - y_true`` (Chan/Welford: stable, never ``Σy² - n·ȳ²``);
- ``Σw·|e|``, ``Σw·e²``, ``Σw·(log1p ŷ - log1p y)²`` and the count of samples
  at or below -1 (where the log error is undefined);
- the MAPE sum ``Σ|e/y|`` and count over targets with ``|y| >= 1e-8``;
- the extremes of ``y_true``, ``y_pred`` and ``e`` (over all samples, and
  over the samples of positive weight);
- for the median absolute error, Spearman and the charts, which need the
  data, either the raw ``y_true`` and ``y_pred`` (exact mode, 16 bytes per
  sample) or, in binned mode, a log-spaced quantile sketch of the error and
  a 2-D grid of the ranks (``_sketch.py``; memory independent of the
  number of samples, error bounds in ``error_bounds()``).

A batch is validated and turned into the first four in ``_moments.py``; the
charts are binned in ``_regression_curves.py``. DESIGN.md ("Metric names and
meaning") fixes what each name means; the docstring of ``compute`` says where
that differs from scikit-learn or Azure.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _abs_error_counts, _moments, _sketch, _sorted_pairs
from ._base import Metric
from ._moments import EW, MAPE_EPSILON, YW, E, P, Y

if TYPE_CHECKING:  # pandas is imported when a table is asked for, not with the engine
    import pandas as pd

#: The names ``compute()`` returns, in this order.
REGRESSION_METRICS = (
    "explained_variance", "r2_score", "spearman_correlation",
    "mean_absolute_error", "normalized_mean_absolute_error",
    "median_absolute_error", "normalized_median_absolute_error",
    "root_mean_squared_error", "normalized_root_mean_squared_error",
    "root_mean_squared_log_error", "normalized_root_mean_squared_log_error",
    "mean_absolute_percentage_error",
    "mean_squared_error", "max_error", "mean_error",
)  # fmt: skip

#: Relative accuracy of the binned median absolute error (DDSketch's alpha).
DEFAULT_RELATIVE_ACCURACY = 1e-3
#: Most buckets per sign of the binned error sketch (alpha 1e-3: a 1.8e14 value ratio).
DEFAULT_MAX_BUCKETS = 16384
#: Most bins per axis of the binned Spearman grid (cells <= bins**2).
DEFAULT_GRID_BINS = 1024
#: Binned mode folds raw values into the sketches once this many are waiting.
PENDING_LIMIT = 65536

# Names with an error bound in binned mode; names that ignore sample_weight; the others.
_BOUNDED = ("median_absolute_error", "normalized_median_absolute_error", "spearman_correlation")
_UNWEIGHTED = (*_BOUNDED, "mean_absolute_percentage_error", "max_error")
_WEIGHTED = tuple(name for name in REGRESSION_METRICS if name not in _UNWEIGHTED)


class RegressionMetrics(Metric):
    """Regression metrics computed batch by batch, by their Azure AutoML names.

    Parameters
    ----------
    y_min, y_max : float, optional
        The range the normalised errors divide by (Azure passes the full
        dataset's). Either one not given is the smallest / largest
        ``y_true`` seen so far.
    mode : {"exact", "binned"}
        ``"exact"`` (default) keeps every ``y_true`` and ``y_pred`` (16 bytes
        a sample) for the median absolute error, Spearman and the charts, and
        equals scikit-learn / scipy. ``"binned"`` keeps a log-spaced sketch
        of the errors and a grid of the ranks instead: memory independent of
        the number of samples; those three metrics then carry the bound of
        ``error_bounds()``. Every other metric is exact in both modes.
    relative_accuracy : float
        Binned mode: the median absolute error is within this relative
        error (default 1e-3).
    grid_bins : int
        Binned mode: bins per axis of the Spearman grid (default 1024).

    Examples
    --------
    >>> m = RegressionMetrics()
    >>> m.update([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0])
    >>> m.compute()["mean_absolute_error"]
    0.5
    >>> round(m.compute()["r2_score"], 4)
    0.9486
    >>> m.update([1.0], [-1.0])  # log1p(-1) is -inf: RMSLE is NaN from now on
    >>> m.reasons()["root_mean_squared_log_error"]
    'a y_true or y_pred value is at or below -1 (log1p undefined)'
    """

    kind = "regression"
    _config_entries = {"y_min": "number", "y_max": "number", "mode": "text",
                       "relative_accuracy": "number", "grid_bins": "int"}  # fmt: skip

    def __init__(
        self,
        y_min: float | None = None,
        y_max: float | None = None,
        mode: str = "exact",
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        grid_bins: int = DEFAULT_GRID_BINS,
    ) -> None:
        super().__init__()
        self._y_min = _check_bound("y_min", y_min)
        self._y_max = _check_bound("y_max", y_max)
        if self._y_min is not None and self._y_max is not None and self._y_max < self._y_min:
            raise ValueError(f"y_max ({self._y_max}) must not be below y_min ({self._y_min}).")
        if mode not in ("exact", "binned"):
            raise ValueError(f"mode must be 'exact' or 'binned'; got {mode!r}.")
        if (
            isinstance(relative_accuracy, bool)
            or not isinstance(relative_accuracy, (int, float, np.integer, np.floating))
            or not 0 < relative_accuracy < 0.5
        ):
            raise ValueError(
                f"relative_accuracy must be a number in (0, 0.5); got {relative_accuracy!r}."
            )
        whole = isinstance(grid_bins, (int, np.integer)) and not isinstance(grid_bins, bool)
        if not whole or grid_bins < 4:
            raise ValueError(f"grid_bins must be an int >= 4; got {grid_bins!r}.")
        self._mode = mode
        self._alpha = float(relative_accuracy)
        self._grid_bins = int(grid_bins)
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget every batch."""
        self._declared = {}
        self._add_state("n_samples", np.int64(0), "sum")
        # (Σw, weighted mean, M2) of y_true and of e; merged by Chan's rule in _merge_one.
        self._add_state("y_moments", np.zeros(4), "sum")
        self._add_state("e_moments", np.zeros(4), "sum")
        self._add_state("sums", np.zeros(3), "sum")  # Σw|e|, Σw e², Σw Δlog1p² (valid rows)
        self._add_state("log_invalid", np.int64(0), "sum")
        self._add_state("mape", np.zeros(2), "sum")  # Σ|e/y|, count with |y| >= 1e-8
        self._add_state("lows", np.full(5, np.inf), "min")  # y, ŷ, e, y (w>0), e (w>0)
        self._add_state("highs", np.full(5, -np.inf), "max")
        if self._mode == "exact":
            self._add_state("y_true_values", np.zeros(0), "cat")
            self._add_state("y_pred_values", np.zeros(0), "cat")
        else:
            self._add_state("error_zero", np.int64(0), "sum")
            for sign in ("pos", "neg"):
                self._add_state(f"error_{sign}_keys", np.zeros(0, np.int64), "cat")
                self._add_state(f"error_{sign}_counts", np.zeros(0, np.int64), "cat")
            finest = np.full(2, _sketch.GRID_MIN_EXPONENT, np.int64)
            self._add_state("grid_exponents", finest, "max")
            self._add_state("grid_true", np.zeros(0, np.int64), "cat")
            self._add_state("grid_pred", np.zeros(0, np.int64), "cat")
            self._add_state("grid_counts", np.zeros(0, np.int64), "cat")
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0
        # Exact mode: the order of y_pred over the y-sorted pairs (None: rebuilt when needed).
        self._order: _sorted_pairs.PredOrder | None = _sorted_pairs.pred_order(np.zeros(0))
        # Exact mode: the errors' bucket counts for the median (None: built at the next compute).
        self._error_counts: np.ndarray | None = None
        self._cache = None

    @property
    def mode(self) -> str:
        """``"exact"`` or ``"binned"``."""
        return self._mode

    # ----------------------------------------------------------------- update
    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch of targets and predictions.

        Parameters
        ----------
        y_true : array-like of shape (n,)
            True values: finite numbers.
        y_pred : array-like of shape (n,)
            Predicted values: finite numbers.
        sample_weight : array-like of shape (n,), optional
            Non-negative weights. The median absolute error, Spearman, MAPE,
            ``max_error`` and the charts ignore them (as Azure, scikit-learn).

        Raises
        ------
        ValueError
            Naming the argument, when the batch is not valid; the state is then
            exactly as before the call. An empty batch is a no-op.
        """
        batch = _moments.prepare_batch(y_true, y_pred, sample_weight)
        if batch is not None:
            self._commit(batch)

    def _commit(self, b: dict[str, Any]) -> None:
        """Fold a prepared batch in; nothing here can fail on user input."""
        self.n_samples = self.n_samples + b["n"]
        self.y_moments = _moments.chan(self.y_moments, b["y_moments"])
        self.e_moments = _moments.chan(self.e_moments, b["e_moments"])
        self.sums = self.sums + b["sums"]
        self.log_invalid = self.log_invalid + b["log_invalid"]
        self.mape = self.mape + b["mape"]
        self.lows = np.minimum(self.lows, b["lows"])
        self.highs = np.maximum(self.highs, b["highs"])
        self._pending.append((b["y"], b["p"]))
        self._pending_size += b["n"]
        if self._mode == "binned" and self._pending_size >= PENDING_LIMIT:
            self._flush()
        self._cache = None

    def _flush(self) -> None:
        """Fold the waiting raw batches into the buffers or sketches (reassigns, never in place)."""
        if not self._pending:
            return
        y = np.concatenate([c[0] for c in self._pending])
        p = np.concatenate([c[1] for c in self._pending])
        self._pending, self._pending_size = [], 0
        if self._mode == "exact":
            self._add_pairs(y, p)
            return
        with np.errstate(over="ignore", invalid="ignore"):  # only near the float limit
            binned = _sketch.binned_add(
                self._binned(),
                y,
                p,
                self._extremes(),
                self._alpha,
                self._grid_bins,
                DEFAULT_MAX_BUCKETS,
            )
        self._set_binned(binned)

    def _add_pairs(self, y: np.ndarray, p: np.ndarray) -> None:
        """Merge pairs into the y-sorted exact state (and the caches built so far)."""
        if self._error_counts is not None:
            with np.errstate(over="ignore"):  # only near the float limit
                errors = np.abs(p - y)
            self._error_counts = self._error_counts + _abs_error_counts.bucket_counts(errors)
        self.y_true_values, self.y_pred_values, self._order = _sorted_pairs.add_pairs(
            self.y_true_values, self.y_pred_values, self._order, y, p
        )

    def _pred_order(self) -> _sorted_pairs.PredOrder:
        if self._order is None:  # after a load: one sort, kept up to date from then on
            self._order = _sorted_pairs.pred_order(self.y_pred_values)
        return self._order

    def _binned(self) -> dict[str, np.ndarray]:
        """The binned mode's sketch and grid (``_sketch.BINNED_STATE``), by name."""
        return {name: getattr(self, name) for name in _sketch.BINNED_STATE}

    def _set_binned(self, arrays: dict[str, np.ndarray]) -> None:
        for name, value in arrays.items():
            setattr(self, name, value)

    def _extremes(self) -> tuple[np.ndarray, np.ndarray]:
        """Smallest and largest (y_true, y_pred) seen: they set the grid's exponents."""
        return self.lows[[Y, P]], self.highs[[Y, P]]

    # ---------------------------------------------------------------- compute
    def compute(self) -> dict[str, float]:
        """Every Azure AutoML regression metric (and three more), by name.

        ``e = y_pred - y_true``. Weighted by ``sample_weight``: explained
        variance ``1 - Var_w(e)/Var_w(y)``, ``r2_score`` ``1 - Σw·e²/Σw·(y-ȳ)²``,
        the mean absolute / squared / root-mean-squared (log) errors and
        ``mean_error`` (``Σw·e/Σw``). Unweighted: ``median_absolute_error``,
        ``spearman_correlation`` (Pearson of average ranks, as scipy),
        ``mean_absolute_percentage_error`` (Azure's: ``100·mean|e/y|`` over
        the targets with ``|y| >= 1e-8``) and ``max_error`` (``max|e|``).

        Edges (values are never clipped, unlike Azure's r2 and normalised
        errors): r2 needs 2 samples; when the positive-weight ``y_true`` are all
        equal, r2 and explained variance follow scikit-learn's
        ``force_finite`` (1.0 if the errors vanish, else 0.0; scikit-learn
        itself can miss this when its mean of equal values rounds, e.g.
        ``[0.1] * 3``). Normalised errors divide by ``y_max - y_min`` (given,
        else seen) and are NaN for a zero range; the log error by
        ``log1p(y_max) - log1p(y_min)``. RMSLE is NaN once any value is at or
        below -1 (scikit-learn raises there; Azure is NaN for any negative).
        Spearman is NaN for fewer than 2 samples or a constant series; MAPE is
        NaN when every target is within 1e-8 of zero; the weighted metrics are
        NaN when every weight is 0. ``reasons()`` says why; nothing raises.
        """
        if self._cache is None:
            self._flush()
            with np.errstate(over="ignore", invalid="ignore"):  # only near the float limit
                self._cache = self._compute()
        return dict(self._cache["values"])

    def error_bounds(self) -> dict[str, float]:
        """How far the median absolute errors and Spearman may be from the exact values.

        0 in exact mode (and for every other metric). Binned mode: the
        sketch's relative accuracy times the median; for Spearman,
        ``arcsin(√3·f_y) + arcsin(√3·f_ŷ)`` with ``f`` the largest grid bin's
        share of the samples (notes/engine.md §4.3).
        """
        self.compute()
        assert self._cache is not None
        return dict(self._cache["bounds"])

    def _compute(self) -> dict[str, Any]:
        values = dict.fromkeys(REGRESSION_METRICS, float("nan"))
        bounds = dict.fromkeys(_BOUNDED, 0.0)
        n = int(self.n_samples)
        if n == 0:
            reasons = dict.fromkeys(REGRESSION_METRICS, "no samples yet")
            return {"values": values, "reasons": reasons, "bounds": bounds}
        reasons: dict[str, str] = {}
        lows, highs = self.lows, self.highs
        total_w, m2_y = float(self.y_moments[0]), float(self.y_moments[2])
        mean_e, m2_e = _moments.mean(self.e_moments), float(self.e_moments[2])
        abs_sum, sq_sum, log_sum = (float(v) for v in self.sums)
        # max|e| from the extreme errors; abs, not negation, so a perfect fit gives 0.0, not -0.0.
        values["max_error"] = float(max(abs(lows[E]), abs(highs[E])))

        lo = float(lows[Y]) if self._y_min is None else self._y_min
        hi = float(highs[Y]) if self._y_max is None else self._y_max
        span = hi - lo
        no_range = (
            f"the range y_max - y_min is {span:g}, not positive (y_min {lo:g}"
            f"{' given' if self._y_min is not None else ' seen'}, y_max {hi:g}"
            f"{' given' if self._y_max is not None else ' seen'})"
        )

        if total_w > 0:
            mse = sq_sum / total_w
            values["mean_squared_error"], values["root_mean_squared_error"] = mse, math.sqrt(mse)
            values["mean_absolute_error"], values["mean_error"] = abs_sum / total_w, mean_e
            y_const, e_const = lows[YW] == highs[YW], lows[EW] == highs[EW]  # constant series
            values["explained_variance"] = _moments.force_finite(m2_e, m2_y, e_const, y_const)
            if n < 2:
                reasons["r2_score"] = "r2 needs at least 2 samples; there is 1"
            else:
                values["r2_score"] = _moments.force_finite(sq_sum, m2_y, sq_sum == 0, y_const)
            if self.log_invalid:
                why = "a y_true or y_pred value is at or below -1 (log1p undefined)"
                reasons["root_mean_squared_log_error"] = why
                reasons["normalized_root_mean_squared_log_error"] = why
            else:
                values["root_mean_squared_log_error"] = math.sqrt(log_sum / total_w)
            if span > 0:
                for name in ("mean_absolute_error", "root_mean_squared_error"):
                    values[f"normalized_{name}"] = values[name] / span
            else:
                reasons["normalized_mean_absolute_error"] = no_range
                reasons["normalized_root_mean_squared_error"] = no_range
            rmsle = values["root_mean_squared_log_error"]
            if not self.log_invalid:
                if lo <= -1:
                    reasons["normalized_root_mean_squared_log_error"] = (
                        f"y_min ({lo:g}) is at or below -1, so log1p(y_min) is undefined"
                    )
                elif (log_span := math.log1p(hi) - math.log1p(lo)) > 0:
                    values["normalized_root_mean_squared_log_error"] = rmsle / log_span
                else:
                    reasons["normalized_root_mean_squared_log_error"] = no_range
        else:
            reasons.update(dict.fromkeys(_WEIGHTED, "every sample has weight 0"))

        self._median(values, reasons, bounds, span, no_range)
        self._spearman(values, reasons, bounds, n)
        mape_sum, mape_count = (float(v) for v in self.mape)
        if mape_count > 0:
            values["mean_absolute_percentage_error"] = 100.0 * mape_sum / mape_count
        else:
            reasons["mean_absolute_percentage_error"] = (
                f"every y_true is within {MAPE_EPSILON:g} of 0, so no percentage error is defined"
            )
        for name, value in values.items():
            if math.isnan(value) and name not in reasons:
                reasons[name] = "undefined for the data so far"
        return {"values": values, "reasons": reasons, "bounds": bounds}

    def _median(
        self, values: dict, reasons: dict, bounds: dict, span: float, no_range: str
    ) -> None:
        if self._mode == "exact":
            errors = self.y_pred_values - self.y_true_values
            errors = np.abs(errors, out=errors)
            if self._error_counts is None:  # one pass, then kept up to date batch by batch
                self._error_counts = _abs_error_counts.bucket_counts(errors)
            median = _abs_error_counts.median(errors, self._error_counts)
        else:
            median, bounds["median_absolute_error"] = _sketch.binned_median(
                self._binned(), int(self.n_samples), self._alpha, DEFAULT_MAX_BUCKETS
            )
        values["median_absolute_error"] = median
        if span > 0:
            values["normalized_median_absolute_error"] = median / span
            bounds["normalized_median_absolute_error"] = bounds["median_absolute_error"] / span
        else:
            reasons["normalized_median_absolute_error"] = no_range

    def _spearman(self, values: dict, reasons: dict, bounds: dict, n: int) -> None:
        if n < 2:
            reasons["spearman_correlation"] = "spearman needs at least 2 samples; there is 1"
            return
        for col, name in ((Y, "y_true"), (P, "y_pred")):
            if self.lows[col] == self.highs[col]:
                why = f"{name} is constant, so it has no ranks to correlate"
                reasons["spearman_correlation"] = why
                return
        if self._mode == "exact":
            values["spearman_correlation"] = _sorted_pairs.rank_correlation(
                self.y_true_values, self._pred_order()
            )
            return
        rho, bounds["spearman_correlation"] = _sketch.binned_spearman(self._binned(), n)
        values["spearman_correlation"] = rho
        if math.isnan(rho):
            reasons["spearman_correlation"] = (
                "the rank grid is too coarse: one bin holds every sample"
            )

    # ----------------------------------------------------------------- charts
    def curves(self) -> dict[str, pd.DataFrame]:
        """Chart data: ``predicted_vs_true`` and ``residuals``, unweighted.

        ``predicted_vs_true``: ``y_true`` cut into ``ceil(sqrt(n))`` bins
        (clamped to [1, 100]): the outer two hold the values below the 1st and
        above the 99th percentile and the inner ones split that range evenly,
        edges rounded for display (Azure's ``make_dataset_bins``). Each
        non-empty bin gives ``bin_lower``, ``bin_upper``, ``count``,
        ``mean_true``, ``mean_predicted``, ``std_predicted`` (population) and
        the band ``lower``/``upper`` = mean ± std. A sample equal to an edge
        falls in the lower bin.

        ``residuals``: counts of ``y_pred - y_true`` in 10 bins, inner edges
        ``linspace(-b, b, 9)`` with ``b`` twice the (weighted) std of
        ``y_true`` rounded up to two significant digits, outer edges at the
        extreme residuals (Azure's); ``attrs`` hold mean, std and count.

        In binned mode both come from the sketches: bins snap to grid bins and
        values are bin centres.
        """
        from . import _regression_curves as charts

        self._flush()
        n = int(self.n_samples)
        if n == 0:
            return charts.empty_tables()
        lo_e, hi_e = float(self.lows[E]), float(self.highs[E])
        with np.errstate(over="ignore", invalid="ignore"):  # only near the float limit
            if self._mode == "exact":
                y, p = self.y_true_values, self.y_pred_values
                counts = np.ones(y.size)
                errors, error_counts = p - y, counts
            else:
                binned = self._binned()
                y, p, counts = _sketch.binned_points(binned, self._extremes())
                errors, error_counts = _sketch.binned_errors(binned, self._alpha, lo_e, hi_e)
            std_y, std_e = _moments.std(self.y_moments), _moments.std(self.e_moments)
            summary = {"mean": _moments.mean(self.e_moments), "std": std_e, "count": n}
            return {
                "predicted_vs_true": charts.predicted_vs_true(y, p, counts, n),
                "residuals": charts.residuals(errors, error_counts, (lo_e, hi_e), std_y, summary),
            }

    # ------------------------------------------------------ merge and state
    def _config(self) -> dict[str, Any]:
        return {"y_min": self._y_min, "y_max": self._y_max, "mode": self._mode,
                "relative_accuracy": self._alpha, "grid_bins": self._grid_bins}  # fmt: skip

    def _config_arrays(self) -> dict[str, np.ndarray]:
        arrays = {k: np.array(np.nan if v is None else v) for k, v in self._config().items()}
        return {**arrays, "grid_bins": np.array(self._grid_bins, np.int64)}  # a bound None: NaN

    @classmethod
    def _config_from_arrays(cls, config: dict[str, np.ndarray]) -> dict[str, Any]:
        bounds = {k: float(config[k]) for k in ("y_min", "y_max")}
        return {
            **{k: None if math.isnan(v) else v for k, v in bounds.items()},
            "mode": str(config["mode"]),
            "relative_accuracy": float(config["relative_accuracy"]),
            "grid_bins": int(config["grid_bins"]),
        }

    def _state_arrays(self) -> dict[str, np.ndarray]:
        self._flush()
        return self._declared_arrays()

    def _load_state_arrays(self, state: dict[str, np.ndarray]) -> None:
        self._load_declared(state)
        if self._mode == "exact" and self.y_true_values.shape != self.y_pred_values.shape:
            raise ValueError("state['y_true_values'] and state['y_pred_values'] differ in length.")
        if self._mode == "exact":  # a state of this version is sorted already: a linear pass
            self.y_true_values, self.y_pred_values = _sorted_pairs.sort_pairs(
                self.y_true_values, self.y_pred_values
            )
            self._order, self._error_counts = None, None
        if self._mode == "binned":
            _sketch.check_binned(self._binned())

    def _merge_one(self, other: RegressionMetrics) -> None:  # type: ignore[override]
        if other._pending:
            other = copy.copy(other)  # _flush reassigns attributes, so the argument is untouched
            other._flush()
        self._flush()
        y_moments = _moments.chan(self.y_moments, other.y_moments)
        e_moments = _moments.chan(self.e_moments, other.e_moments)
        mine = self._binned() if self._mode == "binned" else None
        pairs = (self.y_true_values, self.y_pred_values) if self._mode == "exact" else None
        self._merge_declared(other)  # the pairs, sketch and grid are redone below
        if pairs is not None:
            self.y_true_values, self.y_pred_values = pairs
            self._add_pairs(other.y_true_values, other.y_pred_values)
        if mine is not None:
            binned = _sketch.binned_merge(
                mine, other._binned(), self._extremes(), self._grid_bins, DEFAULT_MAX_BUCKETS
            )
            self._set_binned(binned)
        self.y_moments, self.e_moments = y_moments, e_moments


# ------------------------------------------------------------ pure helpers
def _check_bound(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a number or None; got {value!r}.")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite; got {value!r}.")
    return float(value)
