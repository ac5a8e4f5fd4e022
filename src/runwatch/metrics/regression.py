"""``RegressionMetrics``: every Azure AutoML regression metric, incrementally.

State (plain arrays; merged by addition, min/max, concatenation or, for
the two moment triples, Chan's parallel rule):

- the weighted moments ``(Σw, mean, M2)`` of ``y_true`` and of the error
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

DESIGN.md ("Metric names and meaning") fixes what each name means; the
docstring of ``compute`` says where that differs from scikit-learn or Azure.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _sketch, _validation
from ._base import Metric

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

#: Targets closer to zero than this are left out of MAPE (Azure's rule).
MAPE_EPSILON = 1e-8

#: Relative accuracy of the binned median absolute error (DDSketch's alpha).
DEFAULT_RELATIVE_ACCURACY = 1e-3
#: Most buckets per sign of the binned error sketch (alpha 1e-3: a 1.8e14 value ratio).
DEFAULT_MAX_BUCKETS = 16384
#: Most bins per axis of the binned Spearman grid (cells <= bins**2).
DEFAULT_GRID_BINS = 1024
#: Binned mode folds raw values into the sketches once this many are waiting.
PENDING_LIMIT = 65536

#: Bins of the predicted-vs-true chart: ceil(sqrt(n)) clamped to this range (Azure's rule).
MIN_CHART_BINS, MAX_CHART_BINS = 1, 100
#: Bins of the residual histogram (Azure's).
RESIDUAL_BINS = 10

# Columns of the ``lows`` / ``highs`` extremes.
_Y, _P, _E, _YW, _EW = range(5)
_BOUNDED = ("median_absolute_error", "normalized_median_absolute_error", "spearman_correlation")
_WEIGHTED = (
    "explained_variance",
    "r2_score",
    "mean_absolute_error",
    "normalized_mean_absolute_error",
    "root_mean_squared_error",
    "normalized_root_mean_squared_error",
    "root_mean_squared_log_error",
    "normalized_root_mean_squared_log_error",
    "mean_squared_error",
    "mean_error",
)


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
        if (
            isinstance(grid_bins, bool)
            or not isinstance(grid_bins, (int, np.integer))
            or grid_bins < 4
        ):
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
        self._add_state("y_moments", np.zeros(3), "sum")
        self._add_state("e_moments", np.zeros(3), "sum")
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
        batch = _prepare(y_true, y_pred, sample_weight)
        if batch is not None:
            self._commit(batch)

    def _commit(self, b: dict[str, Any]) -> None:
        """Fold a prepared batch in; nothing here can fail on user input."""
        self.n_samples = self.n_samples + b["n"]
        self.y_moments = _chan(self.y_moments, b["y_moments"])
        self.e_moments = _chan(self.e_moments, b["e_moments"])
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
            self.y_true_values = np.concatenate([self.y_true_values, y])
            self.y_pred_values = np.concatenate([self.y_pred_values, p])
            return
        with np.errstate(over="ignore", invalid="ignore"):  # only near the float limit
            self._add_errors(p - y)
            self._add_grid(y, p)

    def _add_errors(self, e: np.ndarray) -> None:
        big = np.finfo(np.float64).max
        e = np.clip(e, -big, big)  # y_pred - y_true can overflow for values near the float limit
        self.error_zero = self.error_zero + np.int64(np.count_nonzero(e == 0))
        for sign, part in (("pos", e[e > 0]), ("neg", -e[e < 0])):
            keys = _sketch.log_keys(part, self._alpha)
            keys, counts = np.unique(keys, return_counts=True)
            merged = _sketch.add_to_store(
                getattr(self, f"error_{sign}_keys"),
                getattr(self, f"error_{sign}_counts"),
                keys,
                counts.astype(np.int64),
                DEFAULT_MAX_BUCKETS,
            )
            setattr(self, f"error_{sign}_keys", merged[0])
            setattr(self, f"error_{sign}_counts", merged[1])

    def _add_grid(self, y: np.ndarray, p: np.ndarray) -> None:
        new = self._fit_grid(self.grid_exponents)
        cells = self._coarsened_cells(new)
        ty, tp = np.arcsinh(y), np.arcsinh(p)
        batch = (
            _sketch.grid_keys(ty, int(new[0])),
            _sketch.grid_keys(tp, int(new[1])),
            np.ones(y.size, np.int64),
        )
        self.grid_true, self.grid_pred, self.grid_counts = _sketch.grid_add(cells, batch)
        self.grid_exponents = new

    def _fit_grid(self, start: np.ndarray) -> np.ndarray:
        """Grid exponents for the extremes seen (all committed batches)."""
        return np.array(
            [
                _sketch.grid_exponent(
                    int(start[axis]),
                    float(np.arcsinh(self.lows[col])),
                    float(np.arcsinh(self.highs[col])),
                    self._grid_bins,
                )
                for axis, col in ((0, _Y), (1, _P))
            ],
            dtype=np.int64,
        )

    def _coarsened_cells(self, exponents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        old = self.grid_exponents
        return (
            _sketch.coarsen(self.grid_true, int(old[0]), int(exponents[0])),
            _sketch.coarsen(self.grid_pred, int(old[1]), int(exponents[1])),
            self.grid_counts,
        )

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
        total_w, _, m2_y = (float(v) for v in self.y_moments)
        _, mean_e, m2_e = (float(v) for v in self.e_moments)
        abs_sum, sq_sum, log_sum = (float(v) for v in self.sums)
        values["max_error"] = float(max(-lows[_E], highs[_E]))

        lo = float(lows[_Y]) if self._y_min is None else self._y_min
        hi = float(highs[_Y]) if self._y_max is None else self._y_max
        span = hi - lo
        no_range = (
            f"the range y_max - y_min is {span:g}, not positive (y_min {lo:g}"
            f"{' given' if self._y_min is not None else ' seen'}, y_max {hi:g}"
            f"{' given' if self._y_max is not None else ' seen'})"
        )

        if total_w > 0:
            mse = sq_sum / total_w
            values.update(
                {
                    "mean_squared_error": mse,
                    "root_mean_squared_error": math.sqrt(mse),
                    "mean_absolute_error": abs_sum / total_w,
                    "mean_error": mean_e,
                }
            )
            y_const = lows[_YW] == highs[_YW]
            e_const = lows[_EW] == highs[_EW]
            values["explained_variance"] = _force_finite(m2_e, m2_y, e_const, y_const)
            if n < 2:
                reasons["r2_score"] = "r2 needs at least 2 samples; there is 1"
            else:
                values["r2_score"] = _force_finite(sq_sum, m2_y, sq_sum == 0, y_const)
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
                elif math.log1p(hi) - math.log1p(lo) > 0:
                    values["normalized_root_mean_squared_log_error"] = rmsle / (
                        math.log1p(hi) - math.log1p(lo)
                    )
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
        n = int(self.n_samples)
        if self._mode == "exact":
            median = float(np.median(np.abs(self.y_pred_values - self.y_true_values)))
        else:
            keys, counts = _sketch.add_to_store(
                self.error_pos_keys,
                self.error_pos_counts,
                self.error_neg_keys,
                self.error_neg_counts,
                2 * DEFAULT_MAX_BUCKETS,
            )
            zero = int(self.error_zero)
            low = _sketch.order_statistic(zero, keys, counts, (n - 1) // 2, self._alpha)
            high = _sketch.order_statistic(zero, keys, counts, n // 2, self._alpha)
            median = (low + high) / 2
            bound = median * self._alpha / (1 - self._alpha)
            for keys in (self.error_pos_keys, self.error_neg_keys):
                if keys.size >= DEFAULT_MAX_BUCKETS:  # smaller errors were folded into keys[0]
                    folded = float(_sketch.log_values(keys[:1], self._alpha)[0])
                    if low <= folded:
                        bound = max(bound, folded)
            bounds["median_absolute_error"] = bound
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
        for col, name in ((_Y, "y_true"), (_P, "y_pred")):
            if self.lows[col] == self.highs[col]:
                reasons["spearman_correlation"] = (
                    f"{name} is constant, so it has no ranks to correlate"
                )
                return
        if self._mode == "exact":
            ones = np.ones(n, np.int64)
            rank_y = _sketch.midranks(self.y_true_values, ones)[0]
            rank_p = _sketch.midranks(self.y_pred_values, ones)[0]
            values["spearman_correlation"] = _sketch.weighted_pearson(rank_y, rank_p, np.ones(n))
            return
        counts = self.grid_counts.astype(np.float64)
        rank_y, _, top_y = _sketch.midranks(self.grid_true, self.grid_counts)
        rank_p, _, top_p = _sketch.midranks(self.grid_pred, self.grid_counts)
        values["spearman_correlation"] = _sketch.weighted_pearson(rank_y, rank_p, counts)
        if math.isnan(values["spearman_correlation"]):
            reasons["spearman_correlation"] = (
                "the rank grid is too coarse: one bin holds every sample"
            )
        share = (top_y / n, top_p / n)
        bounds["spearman_correlation"] = float(
            sum(math.asin(min(1.0, math.sqrt(3) * f)) for f in share)
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
        self._flush()
        with np.errstate(over="ignore", invalid="ignore"):  # only near the float limit
            return self._curves()

    def _curves(self) -> dict[str, pd.DataFrame]:
        import pandas as pd

        n = int(self.n_samples)
        pvt_columns = [
            "bin_lower",
            "bin_upper",
            "count",
            "mean_true",
            "mean_predicted",
            "std_predicted",
            "lower",
            "upper",
        ]
        if n == 0:
            empty = pd.DataFrame({c: pd.Series(dtype=float) for c in pvt_columns})
            residuals = pd.DataFrame(
                {c: pd.Series(dtype=float) for c in ("bin_lower", "bin_upper", "count")}
            )
            return {"predicted_vs_true": empty, "residuals": residuals}
        if self._mode == "exact":
            y, p = self.y_true_values, self.y_pred_values
            counts = np.ones(y.size)
            residual_values, residual_counts = p - y, counts
        else:
            y = np.clip(
                _sketch.grid_values(self.grid_true, int(self.grid_exponents[0])),
                self.lows[_Y],
                self.highs[_Y],
            )
            p = np.clip(
                _sketch.grid_values(self.grid_pred, int(self.grid_exponents[1])),
                self.lows[_P],
                self.highs[_P],
            )
            counts = self.grid_counts.astype(np.float64)
            residual_values, residual_counts = self._signed_errors()
        table = _predicted_vs_true(y, p, counts, n)
        pvt = pd.DataFrame(table, columns=pvt_columns)
        pvt["count"] = pvt["count"].round().astype(np.int64)
        std_y = math.sqrt(self.y_moments[2] / self.y_moments[0]) if self.y_moments[0] > 0 else 0.0
        edges = _residual_edges(float(self.lows[_E]), float(self.highs[_E]), std_y)
        hist = np.histogram(residual_values, bins=edges, weights=residual_counts)[0]
        residuals = pd.DataFrame(
            {
                "bin_lower": edges[:-1],
                "bin_upper": edges[1:],
                "count": hist.round().astype(np.int64),
            }
        )
        total_w, mean_e, m2_e = (float(v) for v in self.e_moments)
        residuals.attrs.update(
            {
                "mean": mean_e,
                "std": math.sqrt(m2_e / total_w) if total_w > 0 else 0.0,
                "count": n,
            }
        )
        return {"predicted_vs_true": pvt, "residuals": residuals}

    def _signed_errors(self) -> tuple[np.ndarray, np.ndarray]:
        """Bucket values and counts of the binned error sketch, both signs and zero."""
        pos = _sketch.log_values(self.error_pos_keys, self._alpha)
        neg = -_sketch.log_values(self.error_neg_keys, self._alpha)
        lo, hi = self.lows[_E], self.highs[_E]
        values = np.clip(np.concatenate([neg, [0.0], pos]), lo, hi)
        counts = np.concatenate([self.error_neg_counts, [self.error_zero], self.error_pos_counts])
        return values, counts.astype(np.float64)

    # ------------------------------------------------------ merge and state
    def _config(self) -> dict[str, Any]:
        return {
            "y_min": self._y_min,
            "y_max": self._y_max,
            "mode": self._mode,
            "relative_accuracy": self._alpha,
            "grid_bins": self._grid_bins,
        }

    def _config_arrays(self) -> dict[str, np.ndarray]:
        return {
            "y_min": np.array(np.nan if self._y_min is None else self._y_min),
            "y_max": np.array(np.nan if self._y_max is None else self._y_max),
            "mode": np.array(self._mode),
            "relative_accuracy": np.array(self._alpha),
            "grid_bins": np.array(self._grid_bins, np.int64),
        }

    @classmethod
    def _config_from_arrays(cls, config: dict[str, np.ndarray]) -> dict[str, Any]:
        try:
            bounds = {k: float(config[k]) for k in ("y_min", "y_max")}
            return {
                **{k: None if math.isnan(v) else v for k, v in bounds.items()},
                "mode": str(config["mode"]),
                "relative_accuracy": float(config["relative_accuracy"]),
                "grid_bins": int(config["grid_bins"]),
            }
        except KeyError as missing:
            raise ValueError(f"state is missing config.{missing.args[0]}.") from None

    def _state_arrays(self) -> dict[str, np.ndarray]:
        self._flush()
        return self._declared_arrays()

    def _load_state_arrays(self, state: dict[str, np.ndarray]) -> None:
        self._load_declared(state)
        shapes = {
            "y_moments": (3,),
            "e_moments": (3,),
            "sums": (3,),
            "mape": (2,),
            "lows": (5,),
            "highs": (5,),
        }
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape:
                got = getattr(self, name).shape
                raise ValueError(f"state array {name!r} has shape {got}, not {shape}.")
        if self._mode == "exact" and self.y_true_values.shape != self.y_pred_values.shape:
            raise ValueError("state arrays 'y_true_values' and 'y_pred_values' differ in length.")
        if self._mode == "binned":
            pairs = (("error_pos_keys", "error_pos_counts"), ("error_neg_keys", "error_neg_counts"),
                     ("grid_true", "grid_counts"), ("grid_pred", "grid_counts"))
            for a, b in pairs:
                if getattr(self, a).shape != getattr(self, b).shape:
                    raise ValueError(f"state arrays {a!r} and {b!r} differ in length.")

    def _merge_one(self, other: RegressionMetrics) -> None:  # type: ignore[override]
        if other._pending:
            other = copy.copy(other)  # _flush reassigns attributes, so the argument is untouched
            other._flush()
        self._flush()
        y_moments = _chan(self.y_moments, other.y_moments)
        e_moments = _chan(self.e_moments, other.e_moments)
        if self._mode == "exact":
            self._merge_declared(other)
        else:
            mine = self._declared_arrays()
            self._merge_declared(other)  # sums, extremes; the sketches are redone below
            self.grid_exponents = mine["grid_exponents"]
            exponents = self._fit_grid(np.maximum(mine["grid_exponents"], other.grid_exponents))
            self.grid_true = mine["grid_true"]
            self.grid_pred = mine["grid_pred"]
            self.grid_counts = mine["grid_counts"]
            cells = self._coarsened_cells(exponents)
            theirs = (
                _sketch.coarsen(other.grid_true, int(other.grid_exponents[0]), int(exponents[0])),
                _sketch.coarsen(other.grid_pred, int(other.grid_exponents[1]), int(exponents[1])),
                other.grid_counts,
            )
            self.grid_true, self.grid_pred, self.grid_counts = _sketch.grid_add(cells, theirs)
            self.grid_exponents = exponents
            for sign in ("pos", "neg"):
                keys, counts = _sketch.add_to_store(
                    mine[f"error_{sign}_keys"],
                    mine[f"error_{sign}_counts"],
                    getattr(other, f"error_{sign}_keys"),
                    getattr(other, f"error_{sign}_counts"),
                    DEFAULT_MAX_BUCKETS,
                )
                setattr(self, f"error_{sign}_keys", keys)
                setattr(self, f"error_{sign}_counts", counts)
        self.y_moments, self.e_moments = y_moments, e_moments


# ------------------------------------------------------------ pure helpers
def _prepare(y_true: Any, y_pred: Any, sample_weight: Any) -> dict[str, Any] | None:
    """Validate a batch and compute its contribution, without touching any state."""
    y = _validation.check_finite_numbers("y_true", y_true).astype(np.float64, copy=False)
    p = _validation.check_finite_numbers("y_pred", y_pred).astype(np.float64, copy=False)
    _validation.check_length("y_pred", p, y.shape[0])
    w = _validation.check_sample_weight(sample_weight, y.shape[0])
    n = y.shape[0]
    if n == 0:
        return None
    y, p = np.array(y, dtype=np.float64), np.array(p, dtype=np.float64)  # own copies
    with np.errstate(over="ignore", invalid="ignore"):  # only near the float limit
        return _batch_stats(n, y, p, w)


def _batch_stats(n: int, y: np.ndarray, p: np.ndarray, w: np.ndarray | None) -> dict[str, Any]:
    e = p - y
    weights = np.ones(n) if w is None else w
    valid = (y > -1) & (p > -1)
    log_error = np.log1p(p[valid]) - np.log1p(y[valid])
    keep = np.abs(y) >= MAPE_EPSILON
    positive = weights > 0
    abs_e = np.abs(e)
    return {
        "n": np.int64(n),
        "y": y,
        "p": p,
        "y_moments": _moments(y, weights),
        "e_moments": _moments(e, weights),
        "sums": np.array([
            np.sum(weights * abs_e), np.sum(weights * e * e),
            np.sum(weights[valid] * log_error * log_error),
        ]),
        "log_invalid": np.int64(n - np.count_nonzero(valid)),
        "mape": np.array([np.sum(abs_e[keep] / np.abs(y[keep])), np.count_nonzero(keep)], float),
        "lows": np.array(
            [
                y.min(),
                p.min(),
                e.min(),
                y[positive].min(initial=np.inf),
                e[positive].min(initial=np.inf),
            ]
        ),
        "highs": np.array(
            [
                y.max(),
                p.max(),
                e.max(),
                y[positive].max(initial=-np.inf),
                e[positive].max(initial=-np.inf),
            ]
        ),
    }


def _moments(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(Σw, weighted mean, Σw·(x - mean)²) of one batch, two-pass."""
    total = float(w.sum())
    if total <= 0:
        return np.zeros(3)
    mean = float(np.sum(w * x)) / total
    d = x - mean
    return np.array([total, mean, float(np.sum(w * d * d))])


def _chan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Chan et al.'s parallel combination of two (Σw, mean, M2) triples."""
    wa, ma, qa = (float(v) for v in a)
    wb, mb, qb = (float(v) for v in b)
    if wb <= 0:
        return np.array(a, dtype=np.float64)
    if wa <= 0:
        return np.array(b, dtype=np.float64)
    total = wa + wb
    delta = mb - ma
    return np.array([total, ma + delta * (wb / total), qa + qb + delta * delta * (wa * wb / total)])


def _force_finite(numerator: float, denominator: float, num_zero: bool, den_zero: bool) -> float:
    """``1 - numerator/denominator`` with scikit-learn's ``force_finite`` for zeros.

    A zero is an exactly constant series (the flags) or a sum that underflowed.
    """
    num_zero = num_zero or numerator == 0
    if den_zero or denominator == 0:
        return 1.0 if num_zero else 0.0
    if num_zero:
        return 1.0
    return 1.0 - numerator / denominator


def _check_bound(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a number or None; got {value!r}.")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite; got {value!r}.")
    return float(value)


def _chart_edges(y: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """Azure's predicted-vs-true bin edges on (possibly grouped) ``y_true`` values.

    The outer bins hold what lies below the 1st and above the 99th percentile;
    ``ceil(sqrt(n))`` bins in all (clamped to [1, 100]), the inner ones of equal
    width; when the two percentiles coincide (skewed data) they are pulled
    towards the nearest distinct value and 3 bins are used. Edges are rounded
    for display (2 significant digits of the bin width) and zero-width bins
    dropped, as Azure's ``make_dataset_bins`` does.
    """
    lo, hi = float(y.min()), float(y.max())
    if hi == lo:
        return np.array([lo, hi])
    order = np.argsort(y, kind="stable")
    ys, cs = y[order], counts[order]
    first_end, last_start = _percentiles(ys, cs, (1.0, 99.0), "linear")
    if first_end == last_start:
        first_end, last_start = _unskew(ys, cs, first_end, last_start)
        bins = 3
    else:
        bins = int(min(MAX_CHART_BINS, max(MIN_CHART_BINS, math.ceil(math.sqrt(n)))))
    width = (last_start - first_end) / bins
    if not (width > 0 and math.isfinite(width)):
        return np.array([lo, hi])
    inner = np.linspace(first_end, last_start, bins - 1)
    edges = np.unique(np.r_[
        _round_edge(lo, width, "down"),
        [_round_edge(edge, width, "nearest") for edge in inner],
        _round_edge(hi, width, "up"),
    ])
    return edges if np.all(np.isfinite(edges)) else np.array([lo, hi])  # near the float limit


def _unskew(ys: np.ndarray, cs: np.ndarray, first_end: float, last_start: float) -> tuple:
    """Pull equal 1st/99th percentiles apart: 1/20 of the way to the next distinct percentile."""
    probes = [1 / 2**i for i in range(32)] + [0.0]
    for value in _percentiles(ys, cs, tuple(probes), "lower"):
        if value != first_end:
            first_end = (first_end * 19 + value) / 20
            break
    for value in _percentiles(ys, cs, tuple(100 - q for q in probes), "higher"):
        if value != last_start:
            last_start = (last_start * 19 + value) / 20
            break
    return first_end, last_start


def _round_edge(edge: float, width: float, direction: str) -> float:
    """An edge rounded to two digits past the bin width's magnitude (Azure's display rounding)."""
    digits = -int(np.log10(width)) + 2
    if direction == "nearest":
        return float(np.around(edge, 2 if width >= 1 else digits))
    scale = 10.0**digits
    step = np.ceil if direction == "up" else np.floor
    return float(np.around(step(edge * scale) / scale, digits))


def _percentiles(
    sorted_y: np.ndarray, counts: np.ndarray, qs: tuple[float, ...], method: str
) -> list[float]:
    """Percentiles of ``sorted_y`` repeated ``counts`` times, as ``np.percentile(method=)``."""
    cumulative = np.cumsum(counts)
    total = cumulative[-1]
    out = []
    for q in qs:
        position = q / 100.0 * (total - 1)
        below = math.floor(position)
        frac = position - below
        at = np.searchsorted(cumulative, [below + 1, min(below + 2, total)], side="left")
        a, b = float(sorted_y[at[0]]), float(sorted_y[at[1]])
        if method == "lower" or (method == "linear" and frac == 0):
            out.append(a)
        elif method == "higher":
            out.append(a if frac == 0 else b)
        else:  # numpy's lerp, from whichever end is nearer
            out.append(a + (b - a) * frac if frac < 0.5 else b - (b - a) * (1 - frac))
    return out


def _predicted_vs_true(y: np.ndarray, p: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """One row per non-empty bin: lower, upper, count, mean y, mean ŷ, std ŷ, mean ± std."""
    edges = _chart_edges(y, counts, n)
    which = np.digitize(y, edges[1:-1], right=True)
    k = edges.size - 1
    count = np.bincount(which, counts, k)
    filled = count > 0
    safe = np.where(filled, count, 1.0)
    mean_y = np.bincount(which, counts * y, k) / safe
    mean_p = np.bincount(which, counts * p, k) / safe
    dev = p - mean_p[which]
    std_p = np.sqrt(np.maximum(np.bincount(which, counts * dev * dev, k) / safe, 0.0))
    rows = np.column_stack(
        [edges[:-1], edges[1:], count, mean_y, mean_p, std_p, mean_p - std_p, mean_p + std_p]
    )
    return rows[filled]


def _residual_edges(e_min: float, e_max: float, std_y: float) -> np.ndarray:
    """Azure's residual histogram edges: ±2·std(y) split in 8, plus the extremes."""
    b = _round_up(2.0 * std_y)
    if b <= 0:
        b = _round_up(max(abs(e_min), abs(e_max))) or 1.0
    inner = np.linspace(-b, b, RESIDUAL_BINS - 1)
    return np.concatenate([[min(e_min, -b)], inner, [max(e_max, b)]])


def _round_up(x: float) -> float:
    """``x`` rounded up to two significant digits (0 stays 0)."""
    if x <= 0 or not math.isfinite(x):
        return 0.0
    scale = 10.0 ** (math.floor(math.log10(x)) - 1)
    return math.ceil(x / scale - 1e-9) * scale
