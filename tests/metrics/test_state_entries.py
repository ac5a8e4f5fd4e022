"""``from_state_dict`` of every engine on states not its own: one ValueError naming the entry.

Each case starts from a real ``state_dict()`` and breaks one entry at a time
(drops it, gives its numbers as strings, adds an axis, gives floats where
integers belong, an object array); every refusal must be a ``ValueError``
whose message names ``state`` and that entry, and the argument must be left
exactly as it was.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from runwatch.metrics import (
    ClassificationMetrics,
    DetectionMetrics,
    RegressionMetrics,
    SegmentationMetrics,
)

from .conftest import assert_same_state, through_npy

#: Entries that hold class labels, which may be numbers or strings.
LABEL_KEYS = {"labels", "config.labels", "config.positive_label"}
#: Entries that hold sample ids, which may be integers or strings.
ID_KEYS = {"samples.ids", "top.ids", "images.ids"}


def _classification(rng: np.random.Generator, **kwargs) -> ClassificationMetrics:
    labels = ["cat", "dog", "eel", "fox"]
    return _feed_classification(
        ClassificationMetrics(labels=labels, positive_label="dog", **kwargs), rng
    )


def _feed_classification(m: ClassificationMetrics, rng: np.random.Generator):
    y = rng.choice(["cat", "dog", "eel"], 60)  # "fox" absent: norm_macro_recall keeps rows pending
    proba = rng.dirichlet(np.ones(4), 60)
    proba[:5] = [0.1, 0.1, 0.1, 0.7]
    m.update(y, y_proba=proba, sample_weight=rng.uniform(0.5, 2.0, 60))
    return m


def _feed_attributes(m: ClassificationMetrics, rng: np.random.Generator):
    y = rng.choice(["cat", "dog", "eel"], 60)
    size = rng.normal(size=60)
    size[:3] = np.nan  # a missing bucket
    ids = [f"s{i}" for i in rng.integers(0, 10**6, 60)]
    attributes = {"size": size, "source": rng.choice(["web", "scan"], 60)}
    m.update(y, y_proba=rng.dirichlet(np.ones(4), 60), sample_ids=ids, attributes=attributes)
    return m


def _feed_learned(m: ClassificationMetrics, rng: np.random.Generator):
    m.update(rng.integers(0, 3, 30), y_pred=rng.integers(0, 3, 30))
    return m


def _feed_regression(m: RegressionMetrics, rng: np.random.Generator):
    y = rng.normal(size=500)
    m.update(y, y + rng.normal(scale=0.3, size=500), rng.uniform(0, 2, 500))
    return m


def _feed_detection(m: DetectionMetrics, rng: np.random.Generator):
    first = m.n_images
    for image in range(first, first + 3):
        truth = rng.uniform(0, 50, (4, 2))
        true_boxes = np.c_[truth, truth + rng.uniform(5, 20, (4, 2))]
        pred_boxes = true_boxes + rng.normal(scale=2, size=(4, 4))
        pred_boxes[:, 2:] = np.maximum(pred_boxes[:, 2:], pred_boxes[:, :2])
        m.update(
            pred_boxes, rng.uniform(0, 1, 4), rng.integers(0, 3, 4),
            true_boxes, rng.integers(0, 3, 4), image_id=image,
        )  # fmt: skip
    return m


def _feed_segmentation(m: SegmentationMetrics, rng: np.random.Generator):
    truth = rng.integers(0, 3, (2, 8, 8))
    truth[0, 0] = 255
    m.update(truth, rng.integers(0, 3, (2, 8, 8)))
    return m


def _feed_detection_attributes(m: DetectionMetrics, rng: np.random.Generator):
    n = 3
    boxes = [rng.uniform(0, 20, (2, 2)) for _ in range(n)]
    preds = [{"boxes": np.c_[b, b + 5], "scores": rng.random(2), "labels": [0, 1]} for b in boxes]
    targets = [{"boxes": np.c_[b, b + 6], "labels": [0, 2]} for b in boxes]
    m.update_batch(preds, targets, sample_ids=[f"im{i}" for i in rng.integers(0, 10**6, n)],
                   attributes={"light": [0.5, np.nan, 2.0], "source": ["a", "b", "a"]})
    return m


def _feed_segmentation_attributes(m: SegmentationMetrics, rng: np.random.Generator):
    truth = rng.integers(0, 3, (2, 4, 4))
    m.update(truth, rng.integers(0, 3, (2, 4, 4)), sample_ids=rng.integers(0, 10**6, 2),
             attributes={"light": [0.5, np.nan], "source": ["a", "b"]})
    return m


#: name: (a metric with some data, how to feed it one more batch)
CASES = {
    "classification": (_classification, _feed_classification),
    "classification binned": (
        lambda rng: _classification(rng, curve_bins=16),
        _feed_classification,
    ),
    "classification attributes": (
        lambda rng: _feed_attributes(
            ClassificationMetrics(labels=["cat", "dog", "eel", "fox"]), rng
        ),
        _feed_attributes,
    ),
    "classification attributes binned": (
        lambda rng: _feed_attributes(
            ClassificationMetrics(labels=["cat", "dog", "eel", "fox"], curve_bins=16), rng
        ),
        _feed_attributes,
    ),
    "classification learned labels": (
        lambda rng: _feed_learned(ClassificationMetrics(), rng),
        _feed_learned,
    ),
    "regression exact": (
        lambda rng: _feed_regression(RegressionMetrics(y_max=10.0), rng),
        _feed_regression,
    ),
    "regression binned": (
        lambda rng: _feed_regression(RegressionMetrics(mode="binned", y_max=10.0), rng),
        _feed_regression,
    ),
    "detection": (
        lambda rng: _feed_detection(DetectionMetrics(iou_thresholds=[0.5, 0.7]), rng),
        _feed_detection,
    ),
    "detection attributes": (
        lambda rng: _feed_detection_attributes(DetectionMetrics(labels=[0, 1, 2]), rng),
        _feed_detection_attributes,
    ),
    "segmentation attributes": (
        lambda rng: _feed_segmentation_attributes(SegmentationMetrics(num_classes=3), rng),
        _feed_segmentation_attributes,
    ),
    "segmentation": (
        lambda rng: _feed_segmentation(
            SegmentationMetrics(num_classes=3, ignore_index=255, labels=["sky", "road", "car"]),
            rng,
        ),
        _feed_segmentation,
    ),
}


@pytest.fixture(params=list(CASES))
def made(request, rng):
    make, feed = CASES[request.param]
    metric = make(rng)
    return type(metric), metric.state_dict(), feed


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "O":
        return repr(a.tolist()) == repr(b.tolist())
    return a.tobytes() == b.tobytes()


def _refused(cls, state: dict, key: str) -> str:
    """Load ``state``; it must fail with a ValueError naming ``key`` and leave ``state`` alone."""
    before = copy.deepcopy(state)
    with pytest.raises(ValueError) as caught:
        cls.from_state_dict(state)
    message = str(caught.value)
    assert "state" in message and repr(key) in message, (key, message)
    assert re.fullmatch(r"[^\n]+\.", message), message  # one sentence
    assert state.keys() == before.keys()
    for k, v in before.items():
        assert type(state[k]) is type(v) and _same(state[k], v), k
    return message


# Detection states stored before det_cm_true existed open with it unknown
# (tests/metrics/test_thresholds.py holds what they can and cannot do).
OPTIONAL_KEYS = {"det_cm_true"}


def test_every_entry_is_needed_and_a_missing_one_is_named(made):
    cls, state, _ = made
    assert cls.from_state_dict(through_npy(state)) is not None
    for key in state:
        if key not in OPTIONAL_KEYS:
            _refused(cls, {k: v for k, v in state.items() if k != key}, key)


def test_numbers_given_as_strings_are_refused_by_name(made):
    cls, state, _ = made
    numeric = [
        k for k, v in state.items() if v.dtype.kind in "biuf" and k not in LABEL_KEYS | ID_KEYS
    ]
    assert numeric
    for key in numeric:
        value = state[key]
        _refused(cls, {**state, key: value.astype(str)}, key)
        if value.ndim == 0:
            _refused(cls, {**state, key: str(value.item())}, key)  # a bare Python string


def test_text_entries_given_as_numbers_are_refused_by_name(made):
    cls, state, _ = made
    text = [k for k, v in state.items() if v.dtype.kind == "U" and k not in LABEL_KEYS]
    assert "kind" in text
    for key in text:
        _refused(cls, {**state, key: np.array(1)}, key)


def test_an_extra_axis_is_refused_by_name(made):
    cls, state, _ = made
    for key, value in state.items():
        _refused(cls, {**state, key: value[np.newaxis]}, key)


def test_floats_where_integers_or_flags_belong_are_refused_by_name(made):
    cls, state, _ = made
    whole = [k for k, v in state.items() if v.dtype.kind in "biu" and k not in LABEL_KEYS]
    assert whole
    for key in whole:
        _refused(cls, {**state, key: state[key].astype(np.float64) + 0.5}, key)


def test_object_and_complex_arrays_are_refused_by_name(made):
    cls, state, _ = made
    for key, value in state.items():
        _refused(cls, {**state, key: value.astype(object)}, key)
        if value.dtype.kind in "biuf":
            _refused(cls, {**state, key: value.astype(np.complex128)}, key)


def test_a_loaded_metric_does_not_share_memory_with_the_argument(made, rng):
    cls, state, feed = made
    before = copy.deepcopy(state)
    loaded = cls.from_state_dict(state)
    feed(loaded, rng)  # classification adds into its confusion matrices in place
    loaded.compute()
    assert_same_state(state, before)
    loaded.reset()
    assert_same_state(state, before)


@pytest.mark.parametrize("cls", [ClassificationMetrics, RegressionMetrics, DetectionMetrics,
                                 SegmentationMetrics])  # fmt: skip
def test_the_declared_config_entries_are_the_ones_state_dict_writes(cls, rng):
    # A guard for whoever adds a constructor argument: its config.* entry needs a kind.
    metric = next(CASES[name][0](rng) for name in CASES if name.startswith(cls.kind))
    state = metric.state_dict()
    assert {f"config.{k}" for k in cls._config_entries} == {
        k for k in state if k.startswith("config.")
    }
    assert set(cls._state_entries) <= set(state)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"n_samples": np.array("5")},
            "state['n_samples'] must hold integers; got the string '5'.",
        ),
        ({"format": "1"}, "state['format'] must be an integer; got the string '1'."),
        (
            {"kind": np.array("regression")},
            "state['kind'] is 'regression': a regression state,",
        ),
        ({"config.curve_bins": np.array(2)}, "state['config.curve_bins'] is not a valid"),
        ({"confmat": np.zeros((3, 3))}, "state['confmat'] has shape (3, 3); it must be (4, 4)."),
        ({"nmr_pending_weight": np.zeros(0)}, "state['nmr_pending_weight'] has 0 rows but"),
        ({"nmr_pending_true": np.full(5, 7)}, "state['nmr_pending_true'] holds classes outside"),
        ({"labels": np.array(["cat", "cat", "eel", "fox"])}, "state['labels'] holds the same"),
        ({"labels": np.array(["cat", "dog", "eel", "gnu"])}, "state['labels'] does not match"),
        ({"scores.offsets": np.arange(11)}, "state['scores.offsets'] must be 11 rising integers"),
        ({"scores.weight": np.ones(3)}, "state['scores.weight'] must be empty or"),
        ({"scores.scores": np.full(1, np.nan)}, "state['scores.scores'] must hold finite"),
        ({"counts": np.full((4, 4), 2**40, np.int64)}, None),  # a valid (if large) state
    ],
)
def test_classification_cross_checks_name_the_entry(change, message, rng):
    state = _classification(rng).state_dict()
    if "scores.scores" in change:
        change = {"scores.scores": np.where(np.arange(state["scores.scores"].size) == 3, np.nan,
                                            state["scores.scores"])}  # fmt: skip
    if "nmr_pending_true" in change:
        change = {"nmr_pending_true": np.full(state["nmr_pending_true"].size, 7)}
        assert change["nmr_pending_true"].size, "the case needs pending rows"
    broken = {**state, **change}
    if message is None:
        ClassificationMetrics.from_state_dict(broken)
        return
    with pytest.raises(ValueError) as caught:
        ClassificationMetrics.from_state_dict(broken)
    assert message in str(caught.value)
    assert "state" in str(caught.value)


def test_not_a_dict_and_non_string_keys_are_refused():
    with pytest.raises(ValueError, match=r"^state must be a dict of arrays; got list\.$"):
        ClassificationMetrics.from_state_dict([("kind", "classification")])
    state = ClassificationMetrics(labels=[0, 1]).state_dict()
    with pytest.raises(ValueError, match=r"state has the key 3"):
        ClassificationMetrics.from_state_dict({**state, 3: np.zeros(1)})


def test_a_regression_state_with_mismatched_buffers_names_both():
    m = RegressionMetrics()
    m.update([1.0, 2.0, 3.0], [1.5, 2.0, 2.0])
    state = m.state_dict()
    state["y_pred_values"] = state["y_pred_values"][:-1]
    with pytest.raises(ValueError, match=r"state\['y_true_values'\] and state\['y_pred_values'\]"):
        RegressionMetrics.from_state_dict(state)
