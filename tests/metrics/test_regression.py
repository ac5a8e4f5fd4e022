"""RegressionMetrics against scikit-learn / scipy, streamed in random batches and merged."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest
import scipy.stats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from runwatch.metrics.regression import REGRESSION_METRICS, RegressionMetrics

from .conftest import assert_metrics_close, assert_same_state, stream_and_merge, through_npy

NAMES = set(REGRESSION_METRICS)


# --------------------------------------------------------------------- oracle
def _exactly_constant_cases(y, p, w) -> dict[str, float]:
    """scikit-learn's force_finite rule where its own rounding cannot apply it.

    On an exactly constant y (or error), scikit-learn's float mean can miss the
    constant by an ulp, so its variance is 1e-33 instead of 0 and r2 comes out
    as -1e30 (or explained variance 0 instead of 1). The rule it means to
    apply: a zero denominator gives 1.0 for a perfect fit, else 0.0.
    """
    used = np.ones(y.size, bool) if w is None else np.asarray(w) > 0
    e = p - y
    y_const = np.all(y[used] == y[used][0])
    e_const = np.all(e[used] == e[used][0])
    out = {}
    if y_const:
        if y.size >= 2:  # with one sample scikit-learn's r2 is NaN, and stays so
            out["r2_score"] = 1.0 if np.all(e[used] == 0) else 0.0
        out["explained_variance"] = 1.0 if e_const else 0.0
    elif e_const:
        out["explained_variance"] = 1.0
    return out


def oracle(y, p, w=None, y_min=None, y_max=None) -> dict[str, float]:
    """Every name computed directly with scikit-learn / scipy on the whole data."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    nan = float("nan")
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = w is None or np.sum(w) > 0
        if weighted:
            out["explained_variance"] = skm.explained_variance_score(y, p, sample_weight=w)
            out["r2_score"] = skm.r2_score(y, p, sample_weight=w)
            out.update(_exactly_constant_cases(y, p, w))
            out["mean_absolute_error"] = skm.mean_absolute_error(y, p, sample_weight=w)
            out["root_mean_squared_error"] = skm.root_mean_squared_error(y, p, sample_weight=w)
            out["mean_squared_error"] = skm.mean_squared_error(y, p, sample_weight=w)
            out["mean_error"] = np.average(p - y, weights=w)
            if np.all(y > -1) and np.all(p > -1):
                out["root_mean_squared_log_error"] = skm.root_mean_squared_log_error(
                    y, p, sample_weight=w
                )
            else:
                with pytest.raises(ValueError):
                    skm.root_mean_squared_log_error(y, p, sample_weight=w)
                out["root_mean_squared_log_error"] = nan
        else:
            for name in (
                "explained_variance",
                "r2_score",
                "mean_absolute_error",
                "root_mean_squared_error",
                "mean_squared_error",
                "mean_error",
                "root_mean_squared_log_error",
            ):
                out[name] = nan
        out["spearman_correlation"] = scipy.stats.spearmanr(y, p).statistic if y.size > 1 else nan
        out["median_absolute_error"] = skm.median_absolute_error(y, p)
        out["max_error"] = skm.max_error(y, p)
        keep = np.abs(y) >= 1e-8
        out["mean_absolute_percentage_error"] = (
            100 * skm.mean_absolute_percentage_error(y[keep], p[keep]) if keep.any() else nan
        )
    lo = y.min() if y_min is None else y_min
    hi = y.max() if y_max is None else y_max
    for name in ("mean_absolute_error", "median_absolute_error", "root_mean_squared_error"):
        out[f"normalized_{name}"] = out[name] / (hi - lo) if hi > lo else nan
    log_range = math.log1p(hi) - math.log1p(lo) if lo > -1 else 0.0
    out["normalized_root_mean_squared_log_error"] = (
        out["root_mean_squared_log_error"] / log_range if log_range > 0 else nan
    )
    assert set(out) == NAMES
    return {k: float(v) for k, v in out.items()}


# -------------------------------------------------------------------- helpers
def stream(y, p, w=None, *, rng, parts=3, **kwargs) -> RegressionMetrics:
    """``stream_and_merge`` over ``parts`` workers of ``RegressionMetrics(**kwargs)``."""

    def feed(metric, part):
        metric.update(y[part], p[part], None if w is None else w[part])

    return stream_and_merge(lambda: RegressionMetrics(**kwargs), feed, len(y), rng, workers=parts)


def make_case(rng: np.random.Generator, kind: str, n: int):
    y = rng.normal(3.0, 2.0, n)
    p = y + rng.normal(0.0, 1.0, n)
    w = None
    if kind == "ties":
        y = rng.integers(0, 5, n).astype(float)
        p = rng.integers(0, 5, n).astype(float)
    elif kind == "outliers":
        hit = rng.random(n) < 0.05
        p[hit] += rng.choice([-1, 1], hit.sum()) * 1e6
        y[rng.random(n) < 0.02] = 5e7
    elif kind == "constant_y":
        y = np.full(n, 3.0)
    elif kind == "constant_p":
        p = np.full(n, -0.5)
    elif kind == "perfect":
        p = y.copy()
    elif kind == "log_ok":  # negatives above -1 are fine for the log error
        y = rng.uniform(-0.99, 2.0, n)
        p = rng.uniform(-0.99, 2.0, n)
    elif kind == "log_bad":
        y = rng.uniform(-2.0, 2.0, n)
    elif kind == "tiny":
        y[rng.random(n) < 0.3] = 0.0
        y[rng.random(n) < 0.2] = 1e-10
        y[rng.random(n) < 0.1] = -5e-9
    elif kind == "weights":
        w = rng.exponential(1.0, n)
        w[rng.random(n) < 0.2] = 0.0
    elif kind == "zero_weights":
        w = np.zeros(n)
    elif kind == "int_weights":
        w = rng.integers(0, 4, n).astype(float)
        y = np.round(y)
    elif kind == "large_offset":  # cancellation trap for Σy² - n·ȳ²
        y = 1e9 + rng.normal(0, 1, n)
        p = y + rng.normal(0, 0.1, n)
    return y, p, w


KINDS = [
    "plain",
    "ties",
    "outliers",
    "constant_y",
    "constant_p",
    "perfect",
    "log_ok",
    "log_bad",
    "tiny",
    "weights",
    "zero_weights",
    "int_weights",
    "large_offset",
]


# ---------------------------------------------------------------------- exact
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kind", KINDS)
def test_exact_equals_oracle_streamed_and_merged(kind, seed):
    rng = np.random.default_rng([zlib.crc32(kind.encode()), seed])
    for _ in range(12):
        n = int(rng.choice([1, 2, 3, 7, 50, 333, 2000]))
        y, p, w = make_case(rng, kind, n)
        if kind == "constant_y" and n == 1:
            continue
        m = stream(y, p, w, rng=rng, parts=int(rng.integers(1, 5)))
        got = m.compute()
        assert list(got) == list(REGRESSION_METRICS)
        want = oracle(y, p, w)
        if n < 2:
            assert math.isnan(got["r2_score"])
            if w is None or w.sum() > 0:
                assert "2 samples" in m.reasons()["r2_score"]
        assert_metrics_close(got, want)
        for name, value in got.items():
            if math.isnan(value):
                assert name in m.reasons()


def test_given_range_divides_the_normalised_errors(rng):
    y, p, w = make_case(rng, "weights", 500)
    m = stream(y, p, w, rng=rng, y_min=-10.0, y_max=20.0)
    assert_metrics_close(m.compute(), oracle(y, p, w, y_min=-10.0, y_max=20.0))
    only_max = stream(y, p, w, rng=rng, y_max=50.0)
    assert_metrics_close(only_max.compute(), oracle(y, p, w, y_max=50.0))
    assert only_max.compute()["normalized_mean_absolute_error"] == pytest.approx(
        skm.mean_absolute_error(y, p, sample_weight=w) / (50.0 - y.min()), rel=1e-12
    )


def test_edges_reasons():
    m = RegressionMetrics()
    assert all(math.isnan(v) for v in m.compute().values())
    assert set(m.reasons()) == NAMES
    m.update([2.0], [3.5])
    values, reasons = m.compute(), m.reasons()
    assert values["mean_absolute_error"] == 1.5 and values["max_error"] == 1.5
    assert values["mean_error"] == 1.5
    for name in ("r2_score", "spearman_correlation", "normalized_mean_absolute_error"):
        assert math.isnan(values[name]) and name in reasons
    # values are not clipped: r2 below -1, normalised error above 1
    m = RegressionMetrics()
    m.update([0.0, 1.0], [10.0, -10.0])
    assert m.compute()["r2_score"] == pytest.approx(skm.r2_score([0, 1], [10, -10]))
    assert m.compute()["r2_score"] < -1
    assert m.compute()["normalized_root_mean_squared_error"] > 1
    m = RegressionMetrics()
    m.update([0.0, 0.0, 1e-9], [1.0, 2.0, 3.0])
    assert math.isnan(m.compute()["mean_absolute_percentage_error"])
    assert "1e-08" in m.reasons()["mean_absolute_percentage_error"]
    m = RegressionMetrics(y_min=-3.0, y_max=5.0)
    m.update([0.0, 1.0], [0.5, 2.0])
    assert math.isnan(m.compute()["normalized_root_mean_squared_log_error"])
    assert "-1" in m.reasons()["normalized_root_mean_squared_log_error"]
    assert not math.isnan(m.compute()["root_mean_squared_log_error"])


def test_rmsle_becomes_nan_without_raising_and_recovers_on_reset():
    m = RegressionMetrics()
    m.update([0.5, 1.0], [0.2, 3.0])
    assert not math.isnan(m.compute()["root_mean_squared_log_error"])
    m.update([-1.0], [0.0])  # y_true at -1: log1p(-1) = -inf
    assert math.isnan(m.compute()["root_mean_squared_log_error"])
    assert "-1" in m.reasons()["root_mean_squared_log_error"]
    m.reset()
    m.update([0.5, 1.0], [0.2, 3.0])
    assert m.compute()["root_mean_squared_log_error"] == pytest.approx(
        skm.root_mean_squared_log_error([0.5, 1.0], [0.2, 3.0]), rel=1e-12
    )


def test_constant_target_follows_force_finite():
    m = RegressionMetrics()
    m.update([0.1] * 3, [0.2, 0.1, 0.3])  # scikit-learn's rounded mean gives -8.7e31 here
    assert m.compute()["r2_score"] == 0.0
    assert m.compute()["explained_variance"] == 0.0
    m = RegressionMetrics()
    m.update([0.1] * 3, [0.1] * 3)
    assert m.compute()["r2_score"] == 1.0
    assert skm.r2_score([2.0] * 4, [2.0] * 4) == 1.0


def test_accepts_lists_series_column_vectors_float32_and_empty_batches():
    import pandas as pd

    y = np.array([1.0, 2.0, 4.0, 8.0])
    p = np.array([1.5, 1.0, 5.0, 7.0])
    ref = RegressionMetrics()
    ref.update(y, p)
    m = RegressionMetrics()
    m.update([], [])
    m.update(pd.Series(y[:2], index=[10, 3]), p[:2].tolist())
    m.update(y[2:].reshape(-1, 1), p[2:].astype(np.float32))
    assert_metrics_close(m.compute(), ref.compute())
    m.update(np.zeros(0), np.zeros(0), sample_weight=np.zeros(0))
    assert int(m.n_samples) == 4


BAD = [
    (lambda: ([1.0, 2.0], [1.0]), "y_pred"),
    (lambda: ([1.0, np.nan], [1.0, 2.0]), "y_true"),
    (lambda: ([1.0, 2.0], [np.inf, 2.0]), "y_pred"),
    (lambda: (np.ones((2, 2)), np.ones((2, 2))), "y_true"),
    (lambda: (["a", "b"], [1.0, 2.0]), "y_true"),
    (lambda: ("12", [1.0, 2.0]), "y_true"),
    (lambda: ([1.0, 2.0], [[1.0], [2.0], [3.0]]), "y_pred"),
]


@pytest.mark.parametrize("mode", ["exact", "binned"])
def test_bad_input_names_the_argument_and_changes_nothing(mode):
    m = RegressionMetrics(mode=mode)
    m.update([1.0, 2.0, 3.0], [1.5, 2.5, 2.0])
    m.update([4.0], [4.0])  # still waiting to be folded in binned mode
    before = m.state_dict()
    values = m.compute()
    for make, arg in BAD:
        y, p = make()
        with pytest.raises(ValueError, match=arg) as info:
            m.update(y, p)
        assert str(info.value).count(".") >= 1 and "\n" not in str(info.value)
    for weight in ([1.0, -1.0], [1.0], [1.0, np.nan], "ab", [[1.0, 1.0]]):
        with pytest.raises(ValueError, match="sample_weight"):
            m.update([1.0, 2.0], [1.0, 2.0], sample_weight=weight)
    assert_same_state(before, m.state_dict())
    assert_metrics_close(m.compute(), values, rtol=0, atol=0)


@pytest.mark.parametrize("mode", ["exact", "binned"])
def test_state_dict_round_trip_without_pickle(mode, rng):
    y, p, w = make_case(rng, "weights", 3000)
    m = RegressionMetrics(mode=mode, y_min=-5.0)
    m.update(y[:1000], p[:1000], w[:1000])
    m.update(y[1000:2000], p[1000:2000], w[1000:2000])
    copied = through_npy(m.state_dict())
    back = RegressionMetrics.from_state_dict(copied)
    assert back.mode == mode and repr(back) == repr(m)
    assert_metrics_close(back.compute(), m.compute(), rtol=0, atol=0)
    for metric in (m, back):
        metric.update(y[2000:], p[2000:], w[2000:])
    assert_metrics_close(back.compute(), m.compute(), rtol=0, atol=0)
    with pytest.raises(ValueError, match="state"):
        RegressionMetrics.from_state_dict({k: v for k, v in copied.items() if k != "sums"})


def test_merge_checks_its_argument_and_leaves_it_alone():
    a, b = RegressionMetrics(), RegressionMetrics()
    a.update([1.0, 2.0], [1.0, 3.0])
    b.update([5.0], [4.0])
    b_state = b.state_dict()
    a.merge(b)
    assert_same_state(b_state, b.state_dict())
    assert_metrics_close(a.compute(), oracle(np.array([1.0, 2.0, 5.0]), np.array([1.0, 3.0, 4.0])))
    with pytest.raises(ValueError, match="other"):
        a.merge(RegressionMetrics(y_max=3.0))
    with pytest.raises(ValueError, match="other"):
        a.merge(RegressionMetrics(mode="binned"))


def test_constructor_arguments_are_checked():
    for kwargs in (
        {"y_min": "0"},
        {"y_max": np.nan},
        {"y_min": 2.0, "y_max": 1.0},
        {"mode": "fast"},
        {"relative_accuracy": 0.0},
        {"grid_bins": 2},
    ):
        with pytest.raises(ValueError):
            RegressionMetrics(**kwargs)


# --------------------------------------------------------------------- binned
def test_binned_mode_is_exact_except_median_and_spearman(rng):
    y, p, w = make_case(rng, "weights", 5000)
    binned = stream(y, p, w, rng=rng, mode="binned")
    exact_names = NAMES - {
        "median_absolute_error",
        "normalized_median_absolute_error",
        "spearman_correlation",
    }
    want = oracle(y, p, w)
    assert_metrics_close(binned.compute(), {name: want[name] for name in exact_names})


@pytest.mark.parametrize("kind", ["normal", "lognormal", "outliers", "integers", "offset"])
def test_binned_error_within_its_bound(kind, record_property, rng):
    n = 200_000
    if kind == "normal":
        y = rng.normal(0, 1, n)
        p = y + rng.normal(0, 0.5, n)
    elif kind == "lognormal":  # house-price-like targets
        y = rng.lognormal(12, 0.6, n)
        p = y * rng.lognormal(0, 0.2, n)
    elif kind == "outliers":
        y = rng.normal(10, 1, n)
        p = y + rng.standard_t(2, n)
        y[:20] = 1e8
    elif kind == "integers":
        y = rng.integers(0, 50, n).astype(float)
        p = y + rng.integers(-3, 4, n)
    else:
        y = 1000 + rng.normal(0, 1, n)
        p = y + rng.normal(0, 0.3, n)
    m = stream(y, p, rng=rng, mode="binned", parts=4)
    got, bounds = m.compute(), m.error_bounds()
    exact_median = float(np.median(np.abs(p - y)))
    exact_rho = float(scipy.stats.spearmanr(y, p).statistic)
    median_err = abs(got["median_absolute_error"] - exact_median)
    rho_err = abs(got["spearman_correlation"] - exact_rho)
    record_property("median_rel_error", median_err / exact_median)
    record_property("spearman_abs_error", rho_err)
    record_property("spearman_bound", bounds["spearman_correlation"])
    print(
        f"{kind}: median rel err {median_err / exact_median:.2e}, spearman err {rho_err:.2e} "
        f"(bound {bounds['spearman_correlation']:.2e})"
    )
    assert median_err <= bounds["median_absolute_error"] + 1e-12
    assert median_err <= 1e-3 * exact_median * 1.001
    assert rho_err <= bounds["spearman_correlation"]
    assert rho_err < (1e-2 if kind == "outliers" else 1e-3)
    cells = m.state_dict()["grid_counts"].size
    assert cells <= 1024**2 and m.state_dict()["error_pos_keys"].size <= 16384


def test_binned_spearman_is_exact_when_bins_hold_single_values(rng):
    y = rng.integers(0, 30, 1000).astype(float)
    p = y + rng.integers(-5, 6, 1000)
    m = stream(y, p, rng=rng, mode="binned")
    assert m.compute()["spearman_correlation"] == pytest.approx(
        scipy.stats.spearmanr(y, p).statistic, abs=1e-12
    )


def test_binned_memory_does_not_grow_with_samples(rng):
    m = RegressionMetrics(mode="binned", grid_bins=64)
    sizes = []
    for _ in range(4):
        y = rng.normal(0, 1, 100_000)
        m.update(y, y + rng.normal(0, 1, y.size))
        sizes.append(sum(a.nbytes for a in m.state_dict().values()))
    assert max(sizes) < 200_000  # 400k samples would be 6.4 MB raw
    assert int(m.n_samples) == 400_000


# -------------------------------------------------------------- merge property
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.lists(
        st.tuples(
            st.floats(-1e3, 1e3, allow_subnormal=False),
            st.floats(-1e3, 1e3, allow_subnormal=False),
            st.sampled_from([0.0, 0.5, 1.0, 3.0]),
        ),
        min_size=0,
        max_size=60,
    ),
    cuts=st.lists(st.integers(0, 60), max_size=5),
    mode=st.sampled_from(["exact", "binned"]),
)
def test_merge_of_any_split_equals_one_pass(data, cuts, mode):
    y = np.array([d[0] for d in data], float)
    p = np.array([d[1] for d in data], float)
    w = np.array([d[2] for d in data], float)
    one = RegressionMetrics(mode=mode, grid_bins=16)
    one.update(y, p, w)
    bounds = [0, *sorted(c for c in cuts if c <= len(data)), len(data)]
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        part = RegressionMetrics(mode=mode, grid_bins=16)
        part.update(y[a:b], p[a:b], w[a:b])
        parts.append(part)
    merged = parts[0].merge(*parts[1:])
    assert_metrics_close(merged.compute(), one.compute(), rtol=1e-9, atol=1e-9)
    s1, s2 = one.state_dict(), merged.state_dict()
    for key in s1:
        if s1[key].dtype.kind in "iu":  # counts and sketch keys: bit for bit
            assert np.array_equal(s1[key], s2[key]), key


# --------------------------------------------------------------------- charts
def _azure_edges(y):
    """Azure's make_dataset_bins (notes/engine.md §2.4), restated with np.percentile."""

    def rounded(edge, width, how):
        digits = -int(np.log10(width)) + 2
        if how == "nearest":
            return np.around(edge, 2 if width >= 1 else digits)
        f = np.ceil if how == "up" else np.floor
        return np.around(f(edge * 10.0**digits) / 10.0**digits, digits)

    first, last = np.percentile(y, [1, 99])
    bins = min(100, max(1, math.ceil(math.sqrt(y.size))))
    if first == last:
        probes = [1 / 2**i for i in range(32)] + [0]
        lower = np.percentile(y, probes, method="lower")
        higher = np.percentile(y, [100 - q for q in probes], method="higher")
        first = (first * 19 + lower[lower != first][0]) / 20
        last = (last * 19 + higher[higher != last][0]) / 20
        bins = 3
    width = (last - first) / bins
    inner = [rounded(e, width, "nearest") for e in np.linspace(first, last, bins - 1)]
    return np.unique(np.r_[rounded(y.min(), width, "down"), inner, rounded(y.max(), width, "up")])


def _azure_bins(y, p):
    import pandas as pd

    edges = _azure_edges(y)
    which = np.digitize(y, edges[1:], right=True)
    frame = pd.DataFrame({"bin": which, "y": y, "p": p})
    grouped = frame.groupby("bin")
    return edges, grouped.size(), grouped["y"].mean(), grouped["p"].mean(), grouped["p"].std(ddof=0)


@pytest.mark.parametrize("kind", ["outliers", "plain", "ties", "skewed", "small"])
def test_predicted_vs_true_matches_azure_binning(kind, rng):
    n = 7 if kind == "small" else 2500
    y, p, _ = make_case(rng, "plain" if kind in ("skewed", "small") else kind, n)
    if kind == "skewed":  # 1st and 99th percentiles equal
        y[: n - 20] = 4.0
    m = stream(y, p, rng=rng)
    table = m.curves()["predicted_vs_true"]
    edges, size, mean_y, mean_p, std_p = _azure_bins(y, p)
    assert table["count"].tolist() == size.tolist()
    assert np.allclose(table["mean_true"], mean_y.to_numpy(), rtol=1e-12)
    assert np.allclose(table["mean_predicted"], mean_p.to_numpy(), rtol=1e-12)
    assert np.allclose(table["std_predicted"], std_p.to_numpy(), rtol=1e-9, atol=1e-9)
    assert np.allclose(table["bin_lower"], edges[size.index.to_numpy()])
    assert np.allclose(table["bin_upper"], edges[size.index.to_numpy() + 1])
    assert np.allclose(table["upper"] - table["lower"], 2 * table["std_predicted"])
    assert table["count"].sum() == n
    assert len(table) <= min(100, math.ceil(math.sqrt(n))) + (kind == "skewed") * 3


def test_residual_histogram(rng):
    y, p, _ = make_case(rng, "plain", 1000)
    m = stream(y, p, rng=rng)
    res = m.curves()["residuals"]
    assert len(res) == 10
    b = res["bin_upper"].iloc[0] * -1
    assert 2 * np.std(y) <= b <= 2 * np.std(y) * 1.1
    edges = np.r_[res["bin_lower"].to_numpy(), res["bin_upper"].iloc[-1]]
    assert np.allclose(edges[1:-1], np.linspace(-b, b, 9))
    assert edges[0] == min((p - y).min(), -b) and edges[-1] == max((p - y).max(), b)
    assert res["count"].tolist() == np.histogram(p - y, edges)[0].tolist()
    assert res.attrs["mean"] == pytest.approx(np.mean(p - y))
    assert res.attrs["std"] == pytest.approx(np.std(p - y))


def test_binned_curves_are_close(rng):
    y, p, _ = make_case(rng, "plain", 20000)
    exact = stream(y, p, rng=rng).curves()
    binned = stream(y, p, rng=rng, mode="binned").curves()
    assert binned["predicted_vs_true"]["count"].sum() == 20000
    assert binned["residuals"]["count"].sum() == 20000
    diff = np.abs(binned["residuals"]["count"] - exact["residuals"]["count"]).sum()
    assert diff <= 0.01 * 20000
    assert np.allclose(
        binned["predicted_vs_true"]["mean_predicted"].mean(),
        exact["predicted_vs_true"]["mean_predicted"].mean(),
        rtol=0.05,
    )


def test_curves_when_empty_or_constant():
    m = RegressionMetrics()
    empty = m.curves()
    assert empty["predicted_vs_true"].empty and empty["residuals"].empty
    m.update([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    table = m.curves()["predicted_vs_true"]
    assert table["count"].tolist() == [3] and table["mean_predicted"].tolist() == [2.0]
    assert m.curves()["residuals"]["count"].sum() == 3


def test_engine_import_does_not_load_pandas():
    code = (
        "import sys; import runwatch.metrics.regression, runwatch.metrics.segmentation; "
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.integers(-50, 50), max_size=80),
    cuts=st.lists(st.integers(0, 80), max_size=4),
    cap=st.integers(1, 12),
)
def test_collapsing_sketch_store_merges_like_one_pass(keys, cuts, cap):
    from runwatch.metrics import _sketch

    def store(part):
        k, c = np.unique(np.array(part, np.int64), return_counts=True)
        return _sketch.add_to_store(np.zeros(0, np.int64), np.zeros(0, np.int64), k, c, cap)

    one = store(keys)
    bounds = [0, *sorted(c for c in cuts if c <= len(keys)), len(keys)]
    merged = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    for a, b in zip(bounds[:-1], bounds[1:]):
        merged = _sketch.add_to_store(*merged, *store(keys[a:b]), cap)
    assert np.array_equal(one[0], merged[0]) and np.array_equal(one[1], merged[1])
    assert one[1].sum() == len(keys) and one[0].size <= cap
    if keys:  # the top ``cap`` distinct keys are kept exactly
        top = sorted(set(keys))[-cap:]
        assert one[0].tolist() == top


@pytest.mark.parametrize("mode", ["exact", "binned"])
def test_values_near_the_float_limit_neither_raise_nor_warn(mode):
    m = RegressionMetrics(mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.update([1e308, -1e308, 5e-324, 0.0], [-1e308, 1e308, 0.0, -0.0], [1, 2, 0, 1])
        values, reasons = m.compute(), m.reasons()
        m.curves()
    assert values["max_error"] == np.inf and "-1" in reasons["root_mean_squared_log_error"]
    assert all(name in reasons for name, v in values.items() if math.isnan(v))


def test_binned_median_bound_covers_folded_buckets(rng):
    e = 10 ** rng.uniform(-300, 10, 50_000)  # a 1e310 range: more buckets than kept
    m = RegressionMetrics(mode="binned")
    m.update(np.zeros(e.size), e)
    assert m.state_dict()["error_pos_keys"].size == 16384
    err = abs(m.compute()["median_absolute_error"] - np.median(e))
    assert err <= m.error_bounds()["median_absolute_error"]


@pytest.mark.parametrize("mode", ["exact", "binned"])
def test_a_perfect_fit_scores_zero_never_minus_zero(mode, rng):
    # -0.0 prints as "-0.0" in tables and JSON; scikit-learn's max_error gives 0.0.
    cases = [
        (rng.normal(size=50), None),
        (-np.abs(rng.normal(size=50)), rng.uniform(0, 2, 50)),  # only negative targets
        (np.zeros(7), None),
        (np.array([-0.0, 0.0, -0.0]), None),
    ]
    for y, w in cases:
        one = RegressionMetrics(mode=mode)
        one.update(y, y.copy(), w)
        halves = RegressionMetrics(mode=mode)
        halves.update(y[:3], y[:3].copy())
        other = RegressionMetrics(mode=mode)
        other.update(y[3:], np.where(y[3:] == 0, 0.0, y[3:]))
        halves.merge(other)
        for metric in (one, halves):
            values = metric.compute()
            assert values["max_error"] == skm.max_error(y, y) == 0.0
            negative_zeros = [k for k, v in values.items() if v == 0 and math.copysign(1, v) < 0]
            assert negative_zeros == []


# ------------------------------------------------- exact mode: sorted pairs
class _SortCounter:
    """numpy, as seen by the regression modules, counting the elements each sort is given."""

    SORTS = ("sort", "argsort", "unique", "lexsort")

    def __init__(self) -> None:
        self.sorted = 0

    def __getattr__(self, name):
        attr = getattr(np, name)
        if name not in self.SORTS:
            return attr

        def counted(values, *args, **kwargs):
            self.sorted += int(np.size(values))
            return attr(values, *args, **kwargs)

        return counted


def test_exact_computes_sort_each_pair_once_not_at_every_compute(monkeypatch, rng):
    # Issue 17: each compute re-sorted all the data for the median and Spearman
    # (c computes over n points: c·n log n). Kept sorted, a point is sorted once, in
    # its batch (by y_true and by y_pred), however many computes follow.
    import runwatch.metrics._sketch as sketch_module
    import runwatch.metrics._sorted_pairs as pairs_module
    import runwatch.metrics.regression as regression_module

    counter = _SortCounter()
    for module in (regression_module, sketch_module, pairs_module):
        monkeypatch.setattr(module, "np", counter)
    y = np.round(rng.gamma(2.0, 10.0, 20_000), 1)  # ties
    p = np.round(y + rng.normal(0, 3, y.size), 1)
    m = RegressionMetrics()
    for part in np.array_split(np.arange(y.size), 20):
        m.update(y[part], p[part])
        m.compute()
    monkeypatch.undo()
    assert counter.sorted <= 2 * y.size
    assert m.compute()["spearman_correlation"] == pytest.approx(
        scipy.stats.spearmanr(y, p).statistic, rel=1e-12
    )


def test_exact_median_partitions_the_middle_buckets_not_every_error(monkeypatch, rng):
    # Issue 17: np.median partitioned all n errors at every compute. The errors' bucket
    # counts are kept batch by batch, so a compute partitions only the middle bucket's.
    partitioned = []
    real = np.partition

    def partition(a, kth, *args, **kwargs):
        partitioned.append(int(np.size(a)))
        return real(a, kth, *args, **kwargs)

    y = np.round(rng.gamma(2.0, 10.0, 40_000), 2)
    p = np.maximum(0.9 * y + rng.normal(0, 3, y.size), 0.0)
    m = RegressionMetrics()
    monkeypatch.setattr(np, "partition", partition)
    for i, part in enumerate(np.array_split(np.arange(y.size), 8)):
        m.update(y[part], p[part])
        if i == 3:  # a reload drops the counts: rebuilt from the pairs at the next compute
            m = RegressionMetrics.from_state_dict(m.state_dict())
        got = m.compute()["median_absolute_error"]
        monkeypatch.undo()
        assert got == skm.median_absolute_error(y[: part[-1] + 1], p[: part[-1] + 1])
        monkeypatch.setattr(np, "partition", partition)
    monkeypatch.undo()
    assert len(partitioned) == 8 and max(partitioned) < y.size // 10


@pytest.mark.parametrize("kind", ["ties", "weights", "plain", "constant_y"])
def test_exact_interleaved_computes_merges_and_loads_equal_the_oracle(kind, rng):
    # The order of y_pred is kept across batches, merges and a reload: each compute
    # along the way equals scipy/scikit-learn on the data so far.
    y, p, w = make_case(rng, kind, 3000)
    cuts = np.sort(rng.choice(np.arange(1, y.size), 9, replace=False))
    m = RegressionMetrics()
    for i, part in enumerate(np.split(np.arange(y.size), cuts)):
        other = RegressionMetrics()
        other.update(y[part], p[part], None if w is None else w[part])
        if i % 3 == 0:
            m.update(y[part], p[part], None if w is None else w[part])
        elif i % 3 == 1:
            m.merge(other)
        else:
            m = RegressionMetrics.from_state_dict(m.state_dict()).merge(other)
        seen = np.arange(part[-1] + 1)
        assert_metrics_close(
            m.compute(), oracle(y[seen], p[seen], None if w is None else w[seen])
        )
