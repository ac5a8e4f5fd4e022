"""runwatch.dask.evaluate on a LocalCluster of two worker processes against one process.

Every engine the cluster returns is compared with one engine fed the same
partitions in order in this process (every value and matrix), and with
scikit-learn / scipy. dask and distributed are in the test extra: without
them this module fails to import, it does not skip.
"""

from __future__ import annotations

import math

import dask
import dask.array as da
import dask.bag as db
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import scipy.stats
from distributed import Client, LocalCluster
from sklearn.metrics import confusion_matrix

from runwatch.dask import evaluate
from runwatch.metrics import (
    ClassificationMetrics,
    DetectionMetrics,
    RegressionMetrics,
    SegmentationMetrics,
)
from runwatch.tracking import Run

from .metrics._oracle import azure_classification
from .metrics.conftest import assert_metrics_close, classification_problem
from .metrics.test_detection import random_image
from .metrics.test_regression import oracle as regression_oracle


@pytest.fixture(scope="session")
def client():
    """Two worker processes, one thread each, on loopback; closed after the session."""
    with (
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _chunks(rng: np.random.Generator, n: int, parts: int) -> tuple[int, ...]:
    """``parts`` row chunks of random sizes summing to ``n`` (a one-row chunk included)."""
    cuts = np.sort(rng.choice(np.arange(2, n - 1), parts - 2, replace=False))
    sizes = np.diff(np.r_[0, 1, cuts, n])
    return tuple(int(s) for s in sizes)


def _one_process(engine, chunks, feed):
    """The engine fed chunk after chunk in this process."""
    start = 0
    for size in chunks:
        feed(engine, slice(start, start + size))
        start += size
    return engine


def _assert_same(got: dict, want: dict, rtol: float = 0.0) -> None:
    """Equal names and values (NaN = NaN); ``rtol`` 0: bit for bit."""
    assert list(got) == list(want)
    bad = {
        k: (got[k], want[k])
        for k in want
        if not (
            (math.isnan(got[k]) and math.isnan(want[k]))
            or abs(got[k] - want[k]) <= rtol * max(1.0, abs(want[k]))
        )
    }
    assert not bad, bad


def _float_sum_tolerance(n: int) -> float:
    """README's rule for a merge: within n·2⁻⁵⁰ of one pass, relative to the scale."""
    return n * 2.0**-50


# ------------------------------------------------------------ classification
CLASSIFICATION = {
    "three classes": dict(n_classes=3),
    "string labels, one absent": dict(n_classes=5, strings=True, absent=1, imbalanced=True),
    "binary, ties, weights": dict(n_classes=2, ties=True, weights=True),
    "float32, whole weights": dict(n_classes=4, float32=True),
}


@pytest.mark.parametrize("grouped", [False, True], ids=["shuffled", "classes-by-partition"])
@pytest.mark.parametrize("case", list(CLASSIFICATION))
def test_classification_equals_one_process_and_sklearn(client, case, grouped):
    rng = np.random.default_rng([17, list(CLASSIFICATION).index(case), grouped])
    pr = classification_problem(rng, n=2500, **CLASSIFICATION[case])
    y, proba, weight, labels = pr.y, pr.proba, pr.weight, pr.labels
    if grouped:  # most partitions then miss most classes
        order = np.argsort(np.asarray(y).astype(str), kind="stable")
        y, proba = y[order], proba[order]
        weight = None if weight is None else weight[order]
    chunks = _chunks(rng, y.size, 7)
    got = evaluate(
        da.from_array(y, chunks=(chunks,)),
        da.from_array(proba, chunks=(chunks, 2)),  # columns in two chunks: rechunked whole
        task="classification",
        labels=labels,
        sample_weight=None if weight is None else da.from_array(weight, chunks=(chunks,)),
    )
    want = _one_process(
        ClassificationMetrics(labels=labels),
        chunks,
        lambda m, s: m.update(
            y[s], y_proba=proba[s], sample_weight=None if weight is None else weight[s]
        ),
    )
    exact_sums = weight is None  # fractional weights: float sums, rounded in their order
    _assert_same(got.compute(), want.compute(), 0.0 if exact_sums else _float_sum_tolerance(y.size))
    assert got.labels == want.labels == labels
    if exact_sums:
        pd.testing.assert_frame_equal(got.confusion_matrix(), want.confusion_matrix())
        for name, frame in want.curves().items():
            pd.testing.assert_frame_equal(got.curves()[name], frame, obj=name)
    else:
        pd.testing.assert_frame_equal(got.confusion_matrix(), want.confusion_matrix(), rtol=1e-12)
    assert np.array_equal(got.counts, want.counts)
    rtol = 1e-5 if proba.dtype == np.float32 else 1e-9  # sklearn's float32 log loss rounds so
    assert_metrics_close(got.compute(), azure_classification(y, proba, labels, weight), rtol=rtol)


def test_learned_string_labels_from_dataframe_columns(client):
    # labels=None, y_pred only: each partition learns the labels it sees and the merge
    # unites them (sorted), as one pass does; three partitions miss some classes.
    rng = np.random.default_rng(7)
    names = np.array(["owl", "cat", "dog", "emu", "bee"])
    y = names[np.r_[rng.integers(0, 2, 300), rng.integers(0, 5, 700), rng.integers(3, 5, 200)]]
    pred = np.where(rng.random(y.size) < 0.7, y, names[rng.integers(0, 5, y.size)])
    frame = dd.from_pandas(pd.DataFrame({"y": y, "pred": pred}), npartitions=6, sort=False)
    got = evaluate(frame["y"], y_pred=frame["pred"])
    parts = [p.compute() for p in frame.to_delayed()]
    want = ClassificationMetrics()
    for part in parts:
        want.update(part["y"], y_pred=part["pred"])
    assert got.labels == want.labels == sorted(names.tolist())
    _assert_same(got.compute(), want.compute())
    pd.testing.assert_frame_equal(got.confusion_matrix(), want.confusion_matrix())
    assert np.array_equal(
        got.confusion_matrix().to_numpy(), confusion_matrix(y, pred, labels=sorted(names.tolist()))
    )


def test_binned_from_dataframe_columns_is_within_its_bounds(client):
    rng = np.random.default_rng(8)
    pr = classification_problem(rng, n=20_000, n_classes=4, imbalanced=True)
    columns = [f"p{i}" for i in range(4)]
    frame = pd.DataFrame(pr.proba, columns=columns).assign(y=pr.y)
    ddf = dd.from_pandas(frame, npartitions=5)
    got = evaluate(ddf["y"], ddf[columns], labels=pr.labels, curve_bins=True)
    want = ClassificationMetrics(labels=pr.labels, curve_bins=True)
    exact = ClassificationMetrics(labels=pr.labels)
    for part in ddf.to_delayed():
        part = part.compute()
        want.update(part["y"], y_proba=part[columns])
        exact.update(part["y"], y_proba=part[columns])
    # The histograms are counts: merged, they are one pass's; only float sums may round.
    _assert_same(got.compute(), want.compute(), _float_sum_tolerance(pr.y.size))
    bounds, truth = got.error_bounds(), exact.compute()
    for name, bound in bounds.items():
        if bound and not math.isnan(truth[name]):
            assert abs(got.compute()[name] - truth[name]) <= bound, name
    pd.testing.assert_frame_equal(got.confusion_matrix(), exact.confusion_matrix())


# ---------------------------------------------------------------- regression
@pytest.mark.parametrize("kind", ["ties", "weights", "plain"])
def test_regression_exact_equals_one_process_and_scipy(client, kind):
    rng = np.random.default_rng([5, len(kind)])
    n = 40_000
    y = np.round(rng.gamma(2.0, 10.0, n), 1 if kind == "ties" else 6)
    p = np.round(np.maximum(0.9 * y + rng.normal(0, 3, n), 0), 1 if kind == "ties" else 6)
    w = (
        rng.integers(0, 4, n).astype(float) * rng.uniform(0.5, 1.5, n)
        if kind == "weights"
        else None
    )
    chunks = _chunks(rng, n, 9)
    wd = None if w is None else da.from_array(w, chunks=(chunks,))
    got = evaluate(
        da.from_array(y, chunks=(chunks,)),
        y_pred=da.from_array(p, chunks=(chunks,)),
        task="regression",
        sample_weight=wd,
    )
    want = _one_process(
        RegressionMetrics(),
        chunks,
        lambda m, s: m.update(y[s], p[s], None if w is None else w[s]),
    )
    values, expected = got.compute(), want.compute()
    # Sorted pairs and extremes merge exactly; the moments and error sums are float sums.
    for name in (
        "median_absolute_error",
        "spearman_correlation",
        "max_error",
        "normalized_median_absolute_error",
        "mean_absolute_percentage_error",
    ):
        assert values[name] == expected[name], name
    _assert_same(values, expected, _float_sum_tolerance(n))
    assert_metrics_close(values, regression_oracle(y, p, w))
    assert values["spearman_correlation"] == pytest.approx(
        scipy.stats.spearmanr(y, p).statistic, rel=1e-12
    )
    for name, frame in want.curves().items():
        pd.testing.assert_frame_equal(got.curves()[name], frame, obj=name, rtol=1e-12)


def test_regression_binned_bag_of_batches_equals_one_process(client):
    rng = np.random.default_rng(11)
    batches = []
    for size in rng.integers(1, 5000, 12):
        y = rng.normal(50, 20, size)
        batches.append({"y_true": y, "y_pred": y + rng.standard_t(3, size)})
    bag = db.from_sequence(batches, npartitions=4)
    got = evaluate(bag, task="regression", mode="binned")
    want = RegressionMetrics(mode="binned")
    for batch in batches:
        want.update(batch["y_true"], batch["y_pred"])
    values, expected = got.compute(), want.compute()
    # The sketch and the rank grid are counts, merged exactly: the bounded values are identical.
    for name in ("median_absolute_error", "spearman_correlation"):
        assert values[name] == expected[name], name
    assert got.error_bounds() == want.error_bounds()
    _assert_same(values, expected, _float_sum_tolerance(sum(b["y_true"].size for b in batches)))


# ---------------------------------------------------------- vision: detection
def _torchmetrics_dicts(image: dict, index: int) -> tuple[dict, dict]:
    pred = {"boxes": image["pred_boxes"], "scores": image["pred_scores"],
            "labels": image["pred_labels"]}  # fmt: skip
    target = {"boxes": image["true_boxes"], "labels": image["true_labels"]}
    if image.get("true_iscrowd") is not None:
        target["iscrowd"] = image["true_iscrowd"]
    if index % 3:  # a third of the images come without an id: they count in arrival order
        target["image_id"] = index
    return pred, target


def test_detection_bag_of_images_equals_one_process(client):
    rng = np.random.default_rng(12)
    kinds = ("plain", "ties", "crowd", "grid")
    images = [random_image(rng, 4, kinds[i % 4]) for i in range(160)]
    preds, targets = zip(*(_torchmetrics_dicts(im, i) for i, im in enumerate(images)))
    got = evaluate(
        db.from_sequence(targets, npartitions=5),
        y_pred=db.from_sequence(preds, npartitions=5),
        task="detection",
        labels=[0, 1, 2, 3],
    )
    want = DetectionMetrics(labels=[0, 1, 2, 3])
    for part in np.array_split(np.arange(len(images)), 5):  # dask.bag's partitions
        want.update_batch([preds[i] for i in part], [targets[i] for i in part])
    assert got.n_images == 160
    _assert_same(got.compute(), want.compute())
    pd.testing.assert_frame_equal(got.per_class(), want.per_class())
    pd.testing.assert_frame_equal(got.confusion_matrix(), want.confusion_matrix())


# ------------------------------------------------------- vision: segmentation
@pytest.mark.parametrize("scores", [False, True], ids=["masks", "scores"])
def test_segmentation_equals_one_process(client, scores):
    rng = np.random.default_rng(13)
    k, n = 5, 24
    truth = rng.integers(0, k, (n, 32, 40)).astype(np.uint8)
    truth[:, :2] = 255  # void rows
    logits = rng.normal(size=(n, k, 32, 40)) + 2.0 * (
        np.arange(k)[None, :, None, None] == truth[:, None]
    )
    pred = logits.argmax(axis=1)
    chunks = _chunks(rng, n, 4)
    mask_true = da.from_array(truth, chunks=(chunks, 16, 40))  # tiles rechunked to whole masks
    if scores:
        got = evaluate(
            mask_true,
            y_proba=da.from_array(logits, chunks=(chunks, k, 32, 40)),
            task="segmentation",
            labels=list("abcde"),
            ignore_index=255,
        )
    else:
        got = evaluate(
            mask_true,
            y_pred=da.from_array(pred, chunks=(chunks, 32, 40)),
            task="segmentation",
            labels=list("abcde"),
            ignore_index=255,
        )
    want = SegmentationMetrics(num_classes=k, ignore_index=255, labels=list("abcde"))
    want.update(truth, pred)
    _assert_same(got.compute(), want.compute())
    pd.testing.assert_frame_equal(got.confusion_matrix(), want.confusion_matrix())
    valid = truth != 255
    assert np.array_equal(
        got.confusion_matrix().to_numpy(),
        confusion_matrix(truth[valid], pred[valid], labels=range(k)),
    )


# ------------------------------------------------------------------ feeding
def test_evaluate_feeds_an_iteration(client, tmp_path):
    rng = np.random.default_rng(14)
    pr = classification_problem(rng, n=3000, n_classes=3, strings=True)
    chunks = _chunks(rng, pr.y.size, 5)
    engine = evaluate(
        da.from_array(pr.y, chunks=(chunks,)),
        da.from_array(pr.proba, chunks=(chunks, 3)),
        labels=pr.labels,
    )
    run = Run("cluster", labels=pr.labels, store=str(tmp_path / "runs.db"))
    with run.iteration("model") as it:
        it.update_from(engine, split="validation")
    _assert_same(it.metrics("validation"), engine.compute())
    assert it.dataset_stats("validation")["n_samples"] == 3000


# ---------------------------------------------------------------- bad input
def _poisoned(n: int, chunks: tuple[int, ...], width: int | None = None) -> da.Array:
    """A dask array whose chunks raise if anything ever computes them."""

    def boom(size):
        raise RuntimeError("a chunk was computed")

    blocks = [
        da.from_delayed(
            dask.delayed(boom)(size), (size,) if width is None else (size, width), float
        )
        for size in chunks
    ]
    return da.concatenate(blocks)


def test_mismatched_chunks_are_refused_before_any_work(client):
    y = _poisoned(300, (100, 100, 100))
    proba = _poisoned(300, (150, 150), width=3)
    with pytest.raises(ValueError, match=r"^y_proba has 2 partitions but y_true has 3"):
        evaluate(y, proba, labels=[0, 1, 2])
    proba = _poisoned(300, (50, 150, 100), width=3)
    with pytest.raises(ValueError, match=r"^y_proba has row chunks \(50, 150, 100\) but y_true"):
        evaluate(y, proba, labels=[0, 1, 2])
    weight = _poisoned(300, (100, 120, 80))
    with pytest.raises(ValueError, match=r"^sample_weight has row chunks"):
        evaluate(y, y_pred=_poisoned(300, (100, 100, 100)), sample_weight=weight, task="regression")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda y: evaluate(np.zeros(3), y_pred=y), r"^y_true must be a dask Array"),
        (lambda y: evaluate(None, y_pred=y), r"^y_true is required"),
        (
            lambda y: evaluate(y, y_proba=y, task="regression"),
            r"^y_proba is not used by a regression evaluation",
        ),
        (lambda y: evaluate(y, task="regression"), r"^y_pred is required"),
        (lambda y: evaluate(y, y_pred=y, task="clustering"), r"^task must be one of"),
        (lambda y: evaluate(y, y_pred=y, curve_bins="many"), r"^curve_bins must be"),
        (lambda y: evaluate(y, y_pred=y, bins=3), r"^bins is not an argument"),
        (
            lambda y: evaluate(y, y_pred=y, task="regression", labels=[0, 1]),
            r"^labels is not used by RegressionMetrics",
        ),
        (lambda y: evaluate(y, y_pred=y, task="segmentation"), r"^labels must name the classes"),
        (lambda y: evaluate(y, y_pred=y, split_every=1), r"^split_every must be"),
    ],
)
def test_bad_arguments_are_refused_in_one_sentence_before_any_work(client, call, message):
    with pytest.raises(ValueError, match=message):
        call(_poisoned(300, (100, 100, 100)))


def test_a_partition_the_engine_refuses_raises_its_error(client):
    proba = np.full((30, 2), 0.5)
    proba[17] = np.nan
    with pytest.raises(ValueError, match="y_proba"):
        evaluate(
            da.from_array(np.zeros(30, int), chunks=10),
            da.from_array(proba, chunks=(10, 2)),
            labels=[0, 1],
        )


def test_partitions_of_different_frames_are_refused(client):
    frame = pd.DataFrame({"y": np.arange(40) % 2, "p": np.arange(40) % 3 == 0})
    a = dd.from_pandas(frame, npartitions=4)
    b = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(ValueError, match=r"^y_pred has 2 partitions but y_true has 4"):
        evaluate(a["y"], y_pred=b["p"].astype(int))
    shifted = dd.from_pandas(frame.set_index(frame.index + 5), npartitions=4)
    with pytest.raises(ValueError, match=r"^y_pred has divisions"):
        evaluate(a["y"], y_pred=shifted["p"].astype(int))
