"""``samples`` (per-cell reservoirs) and ``top_losses``: uniform, exact, mergeable."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from runwatch.metrics import ClassificationMetrics
from runwatch.metrics._samples import Kept, cell_ids, id_hash, keep_per_cell

from .conftest import classification_problem, random_batches, stream_and_merge, through_npy


def _bottom_k(ids: np.ndarray, k: int, seed: int) -> list:
    rows = Kept(ids, id_hash(ids, seed), np.zeros(ids.size, np.int64),
                np.zeros(ids.size, np.int64), np.zeros(ids.size))  # fmt: skip
    return cell_ids(keep_per_cell(rows, cap=k), 0, 0, k)


@pytest.mark.parametrize(
    "ids",
    [np.arange(30, dtype=np.int64) * 1000 + 17, np.array([f"img_{i:04d}.png" for i in range(30)])],
)
def test_the_reservoir_is_a_uniform_sample_over_seeds(ids):
    # Over 3,000 fixed seeds, each of 30 ids is kept in a sample of 5 about 500 times.
    seeds, k = 3000, 5
    kept = np.zeros(ids.size)
    position = {v: i for i, v in enumerate(ids.tolist())}
    pairs = np.zeros((ids.size, ids.size))
    for seed in range(seeds):
        sample = _bottom_k(ids, k, seed)
        assert len(sample) == k == len(set(sample))
        where = [position[v] for v in sample]
        kept[where] += 1
        pairs[np.ix_(where, where)] += 1
    assert stats.chisquare(kept).pvalue > 0.01
    # Pairs too (a sample without replacement, not just fair margins): each pair k(k-1)/(n(n-1)).
    off = pairs[~np.eye(ids.size, dtype=bool)]
    assert stats.chisquare(off).pvalue > 0.01


def test_a_cell_gives_all_its_ids_up_to_k_and_exactly_k_beyond(rng):
    y = rng.integers(0, 3, 2000)
    pred = np.where(rng.random(2000) < 0.9, y, (y + 1) % 3)
    ids = np.array([f"s{i}" for i in rng.permutation(2000)])
    m = ClassificationMetrics(labels=[0, 1, 2])
    m.update(y, y_pred=pred, sample_ids=ids)
    for t in range(3):
        for p in range(3):
            cell = ids[(y == t) & (pred == p)]
            for k in (1, 10, 50, 100):
                got = m.samples(t, p, k=k)
                if cell.size <= k:
                    assert got == sorted(cell.tolist())
                else:
                    assert len(got) == k and set(got) <= set(cell.tolist())
                    assert got == sorted(got)


@pytest.mark.parametrize("curve_bins", [None, 64])
def test_samples_and_top_losses_are_the_same_streamed_merged_and_in_one_pass(rng, curve_bins):
    for _ in range(8):
        _check_same(rng, curve_bins)


def _check_same(rng, curve_bins):
    n_classes, n = int(rng.integers(2, 5)), int(rng.integers(100, 900))
    weights = bool(rng.random() < 0.5)
    p = classification_problem(rng, n_classes, n, strings=True, weights=weights, ties=True)
    ids = rng.permutation(p.y.size) + 10**12  # large ints, as row ids of a big table

    def make():
        return ClassificationMetrics(labels=p.labels, curve_bins=curve_bins)

    def feed(m, part):
        weight = None if p.weight is None else p.weight[part]
        m.update(p.y[part], y_proba=p.proba[part], sample_weight=weight, sample_ids=ids[part])

    one = make()
    feed(one, slice(None))
    streamed = make()
    for part in random_batches(rng, p.y.size):
        feed(streamed, part)
    merged = stream_and_merge(make, feed, p.y.size, rng)
    reloaded = ClassificationMetrics.from_state_dict(through_npy(one.state_dict()))
    for other in (streamed, merged, reloaded):
        for t in p.labels:
            for q in p.labels:
                assert other.samples(t, q, k=20) == one.samples(t, q, k=20)
        assert other.top_losses(100).equals(one.top_losses(100))
        for key in ("samples.ids", "samples.hash", "top.ids", "top.loss"):
            np.testing.assert_array_equal(other.state_dict()[key], one.state_dict()[key])


def test_top_losses_equal_a_direct_computation(rng):
    for _ in range(10):
        p = classification_problem(rng, int(rng.integers(2, 6)), 500, strings=True,
                                   float32=bool(rng.random() < 0.5), ties=True)  # fmt: skip
        m = ClassificationMetrics(labels=p.labels)
        ids = np.array([f"row-{i}" for i in range(p.y.size)])
        for part in random_batches(rng, p.y.size):
            m.update(p.y[part], y_proba=p.proba[part], sample_ids=ids[part])
        truth = np.searchsorted(np.asarray(p.labels, dtype=object), np.asarray(p.y, dtype=object))
        eps = np.finfo(p.proba.dtype).eps
        loss = -np.log(np.clip(p.proba[np.arange(p.y.size), truth].astype(float), eps, 1 - eps))
        top = m.top_losses(20)
        want = np.sort(loss)[::-1][:20]
        np.testing.assert_array_equal(top["loss"].to_numpy(), want)
        for _, row in top.iterrows():
            i = int(row["id"].split("-")[1])
            assert row["loss"] == loss[i]
            assert row["true"] == p.y[i]
            assert row["predicted"] == p.labels[int(np.argmax(p.proba[i]))]


def test_default_ids_are_the_running_index_and_no_scores_means_no_losses():
    m = ClassificationMetrics(labels=["a", "b"])
    m.update(["a", "b", "a"], y_pred=["a", "a", "a"])
    m.update(["b", "b"], y_pred=["a", "b"])
    assert m.samples("b", "a") == [1, 3]
    assert m.samples("a", "a") == [0, 2]
    assert m.top_losses().empty


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([1, 2], "sample_ids has 2 ids but y_true has 3 samples."),
        ([[1], [2], [3]], "sample_ids must be a 1-D sequence of integers or strings; got shape"),
        (np.array([[1], "a", {}], dtype=object), "sample_ids must hold integers or strings; got"),
        ([1.5, 2.5, 3.5], "sample_ids must hold integers or strings; got dtype float64."),
        ("abc", "sample_ids must be a sequence of ids, not a single string."),
        (["x", "y", "z"], "sample_ids are strings but earlier batches gave integers."),
        (np.array(["x", 1, 2], dtype=object), "sample_ids mixes integers and strings"),
    ],
)
def test_bad_ids_are_refused_by_name_and_change_nothing(ids, message):
    m = ClassificationMetrics(labels=[0, 1])
    m.update([0, 1], y_proba=[[0.9, 0.1], [0.3, 0.7]], sample_ids=[10, 11])
    before = m.state_dict()
    with pytest.raises(ValueError) as caught:
        m.update([0, 1, 1], y_proba=[[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]], sample_ids=ids)
    assert str(caught.value).startswith(message), str(caught.value)
    for key, value in m.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_bad_k_and_labels_are_refused():
    m = ClassificationMetrics(labels=[0, 1])
    m.update([0, 1], y_pred=[0, 1])
    for k in (0, 101, 2.0, True):
        with pytest.raises(ValueError, match=r"^k must be an int from 1 to 100"):
            m.samples(0, 1, k=k)
        with pytest.raises(ValueError, match=r"^k must be an int from 1 to 100"):
            m.top_losses(k=k)
    with pytest.raises(ValueError, match=r"^pred 7 is not one of the labels"):
        m.samples(0, 7)


def test_merging_integer_and_string_ids_is_refused():
    a, b = ClassificationMetrics(labels=[0, 1]), ClassificationMetrics(labels=[0, 1])
    a.update([0, 1], y_pred=[0, 1])
    b.update([0, 1], y_pred=[0, 1], sample_ids=["u", "v"])
    with pytest.raises(ValueError, match=r"^other's sample_ids are strings"):
        a.merge(b)


def test_an_id_hashes_the_same_whatever_the_width_of_its_batch():
    # numpy pads a batch's strings to its longest: the padding must not change the hash
    short = np.array(["a7", "b"])
    wide = np.array(["a7", "a-much-longer-id"])
    assert id_hash(short)[0] == id_hash(wide)[0]
    assert id_hash(np.array(["a7"], dtype=">U2"))[0] == id_hash(short)[0]  # byte order too


@pytest.mark.parametrize("low_bits_only", [False, True])
def test_keep_per_cell_orders_by_cell_then_the_whole_hash(rng, low_bits_only):
    # Hashes that differ only in their lowest bits (below what a packed cell-and-hash key
    # keeps) must still be ordered by the whole hash; equal ids repeat within a cell.
    k, n, cap = 9, 3_000, 40
    hashes = rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2)
    if low_bits_only:
        hashes = np.uint64(0xABCD_0000_0000_0000) | rng.integers(0, 8, n).astype(np.uint64)
    ids = hashes.view(np.int64) // 3  # one id per hash, repeated where the hash repeats
    true, pred = rng.integers(0, k, n), rng.integers(0, k, n)
    got = keep_per_cell(Kept(ids, hashes, true, pred, np.zeros(n)), cap=cap)
    want_hashes, want_cells = [], []
    for t in range(k):
        for p in range(k):
            mine = sorted(hashes[(true == t) & (pred == p)].tolist())[:cap]
            want_hashes += mine
            want_cells += [(t, p)] * len(mine)
    assert got.hashes.tolist() == want_hashes
    assert list(zip(got.true.tolist(), got.pred.tolist())) == want_cells
    assert got.ids.tolist() == [h // 3 for h in np.array(want_hashes, np.uint64).view(np.int64)]
