"""The task -> engine registry."""

from __future__ import annotations

import numpy as np
import pytest

from runwatch.tracking import Run
from runwatch.tracking.engines import ENGINES, engine_class, register_engine


def test_classification_resolves_to_the_engine():
    from runwatch.metrics import ClassificationMetrics

    assert engine_class("classification") is ClassificationMetrics


def test_a_task_without_an_engine_fails_on_update_only(db, monkeypatch):
    monkeypatch.setitem(ENGINES, "detection", "runwatch.metrics:NoSuchEngine")
    engine_class.cache_clear()
    run = Run("det", task="detection", store=db)
    with run.iteration("it") as it:
        it.log_loss(0.5)  # losses need no engine
        with pytest.raises(ValueError, match="detection"):
            it.update("validation", [0], y_pred=[0])
    engine_class.cache_clear()


def test_register_engine_validates_the_path():
    with pytest.raises(ValueError, match="path"):
        register_engine("classification", "no-colon")


def test_tracking_imports_no_widget_stack():
    from .conftest import run_child

    out = run_child(
        """
        import sys
        import runwatch.tracking, runwatch.cli
        heavy = ("altair", "traitlets", "anywidget", "ipywidgets", "runwatch.widget",
                 "runwatch.views", "pandas")
        print(sorted(m for m in heavy if m in sys.modules))
        """
    ).stdout
    assert out.strip() == "[]"


def test_regression_plugs_in_through_the_registry(db):
    y = np.array([1.0, 2.0, 3.0, 4.0, 6.0])
    pred = np.array([1.5, 1.5, 3.0, 5.0, 5.5])
    run = Run("reg", task="regression", primary_metric="mean_absolute_error", store=db)
    assert run.goal == "minimize"
    with run.iteration("lin") as it:
        it.update("validation", y[:2], y_pred=pred[:2])
        it.update("validation", y[2:], y_pred=pred[2:])
        with pytest.raises(ValueError, match="y_proba"):
            it.update("validation", y, y_proba=pred)
    expected = float(np.mean(np.abs(y - pred)))
    assert it.metrics("validation")["mean_absolute_error"] == pytest.approx(expected)
    assert run.iterations()["metric"].iloc[0] == pytest.approx(expected)
    assert it.dataset_stats("validation")["n_samples"] == 5


def test_update_passes_positional_arguments_as_the_engine_names_them(db):
    # A regression batch given as (y_true, y_pred), the engine's own order, is
    # scored (it used to land in y_proba and be refused).
    y = np.array([1.0, 2.0, 4.0])
    pred = np.array([1.5, 2.0, 3.0])
    run = Run("reg", task="regression", primary_metric="max_error", store=db)
    with run.iteration("lin") as it:
        it.update("validation", y, pred)
        with pytest.raises(ValueError, match=r"must fit RegressionMetrics.update\(y_true, y_pred"):
            it.update("validation", y, pred, None, 3)
    assert it.metrics("validation")["max_error"] == 1.0
    assert it.dataset_stats("validation")["n_samples"] == 3


def test_vision_tasks_resolve_to_their_engines():
    from runwatch.metrics import (
        DetectionMetrics,
        InstanceSegmentationMetrics,
        SegmentationMetrics,
    )

    assert engine_class("detection") is DetectionMetrics
    assert engine_class("instance_segmentation") is InstanceSegmentationMetrics
    assert engine_class("segmentation") is SegmentationMetrics
