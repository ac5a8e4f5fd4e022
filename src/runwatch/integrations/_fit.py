"""One fit of a boosting or training loop as one iteration: the callbacks' shared part.

A :class:`FitLogger` starts an iteration when training starts, logs each
round's evaluation results (every metric of every eval set as a logged metric
named ``"<eval set>-<metric>"``, as XGBoost prints them, and each eval set's
first metric as the loss of its split), and at the end feeds the model's
predictions on the validation data to the engine and completes the
iteration. Used as a context manager around the fit, it also fails the
iteration when the fit raises, and cancels it on Ctrl-C.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from runwatch.tracking import Iteration, Run
from runwatch.tracking._validate import SPLITS, check_mapping, check_name

from ._common import check_pair, check_run


class FitLogger:
    """Log one fit per iteration of `run` (see the module docstring).

    Parameters
    ----------
    run : Run
    name : str
        The iterations' name.
    params : dict, optional
        Hyper-parameters to record with each iteration.
    X_valid, y_valid : array-like, optional
        Data whose final predictions are scored as the validation split; a
        classifier's labels are the class indices the model was trained on
        (0..C-1), mapped through the run's labels when it has them.
    splits : dict, optional
        ``{eval set name: split}``. Default: a name containing "train" is the
        train split, one containing "test" the test split, any other the
        validation split.
    output : {"proba", "logits"}, default "proba"
        What a classifier's predictions are: probabilities, or logits turned
        into probabilities by a softmax (a sigmoid for one column).
    """

    def __init__(
        self,
        run: Run,
        name: str,
        params: Mapping[str, Any] | None = None,
        X_valid: Any = None,
        y_valid: Any = None,
        splits: Mapping[str, str] | None = None,
        output: str = "proba",
    ) -> None:
        check_run(run)
        if output not in ("proba", "logits"):
            raise ValueError(f"output must be 'proba' or 'logits', got {output!r}")
        self.output = output
        check_name(name, "name")
        self.params = check_mapping(params, "params")
        check_pair(X_valid, y_valid, "X_valid", "y_valid", required=False)
        self.splits = dict(check_mapping(splits, "splits"))
        for key, split in self.splits.items():
            if split not in SPLITS:
                raise ValueError(f"splits[{key!r}] must be one of {sorted(SPLITS)}, got {split!r}")
        self.run = run
        self.name = name
        self.X_valid = X_valid
        self.y_valid = y_valid
        self.iteration: Iteration | None = None
        self._loss_source: dict[str, str] = {}
        # How to predict with the model as trained so far; set by the callbacks
        # each round so that a fit cut short by early stopping can still be scored.
        self.predict: Any = None

    # -------------------------------------------------------------- lifecycle

    def begin(self) -> Iteration:
        """Start a fresh iteration for a new fit."""
        self._abandon("the fit stopped before its last round")
        self.iteration = self.run.iteration(self.name, params=self.params).start()
        self._loss_source = {}
        return self.iteration

    def split_of(self, eval_name: str) -> str:
        """The split an eval set's results belong to."""
        if eval_name in self.splits:
            return self.splits[eval_name]
        lowered = eval_name.lower()
        if "train" in lowered:
            return "train"
        if "test" in lowered:
            return "test"
        return "validation"

    def log_round(self, step: int, results: list[tuple[str, str, float]]) -> None:
        """Log one round's ``(eval set, metric, value)`` results."""
        metrics: dict[str, float] = {}
        losses: dict[str, float] = {}
        seen: set[str] = set()
        for eval_name, metric, value in results:
            first = eval_name not in seen
            seen.add(eval_name)
            metrics[f"{eval_name}-{metric}"] = float(value)
            split = self.split_of(eval_name)
            # Two eval sets of one split: the first one's first metric is its loss.
            if first and self._loss_source.setdefault(split, eval_name) == eval_name:
                losses[split] = float(value)
        self.log_values(step, losses, metrics)

    def log_named(self, step: Any, values: dict[str, Any]) -> None:
        """Log ``{name: value}`` as named by Keras, Lightning or Hugging Face.

        Every value is a logged metric; a name holding "loss" is also the loss
        of its split (a ``val``/``eval`` prefix or infix: validation, ``test``:
        test, else train).
        """
        metrics = {}
        losses = {}
        for key, value in values.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            metrics[key] = number
            if "loss" in key.lower():
                losses.setdefault(self.split_of(_split_hint(key)), number)
        self.log_values(step, losses, metrics)

    def log_values(self, step: Any, losses: dict[str, float], metrics: dict[str, float]) -> None:
        """Log one step's losses (by split) and metrics (by name); non-finite ones are left out."""
        it = self.iteration
        if it is None or it.status != "running":
            return
        # math.isfinite: a training loop's hook, numpy's scalar call costs ~10x more.
        for name, value in metrics.items():
            if math.isfinite(value):
                it.log_metric(name, value, step=step)
        for split, value in losses.items():
            if math.isfinite(value):
                it.log_loss(value, split=split, step=step)

    def end(self, predict: Any) -> None:
        """Score ``predict(X_valid)`` as the validation split and complete the iteration."""
        it = self.iteration
        if it is None or it.status != "running":
            return
        try:
            if self.X_valid is not None and predict is not None:
                self._feed(predict(self.X_valid))
        except BaseException as exc:
            it.fail(exc)
            raise
        it.complete()

    def _feed(self, output: Any) -> None:
        it = self.iteration
        assert it is not None
        out = np.asarray(output, dtype=np.float64)
        if self.run.task != "classification":
            it.update("validation", np.asarray(self.y_valid).ravel(), y_pred=out.ravel())
            return
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if self.output == "logits":
            out = _probabilities(out)
        if out.ndim == 1:
            out = np.column_stack([1.0 - out, out])
        y = np.asarray(self.y_valid).ravel()
        labels = self.run.labels
        if labels is not None:
            if len(labels) != out.shape[1]:
                raise ValueError(
                    f"the model scores {out.shape[1]} classes but the run has {len(labels)} labels"
                )
            y = np.asarray(labels, dtype=object)[y.astype(np.int64)]
        it.update("validation", y, y_proba=out)

    def _abandon(self, why: str) -> None:
        it = self.iteration
        if it is not None and it.status == "running":
            it.fail(why)

    def __enter__(self) -> FitLogger:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        it = self.iteration
        if it is not None and it.status == "running":
            if exc_type is None:
                self.end(self.predict)  # early stopping: the last round seen was the last
            elif issubclass(exc_type, KeyboardInterrupt):
                it.cancel()
            else:
                it.fail(f"{exc_type.__name__}: {exc}")
        return False


def _split_hint(key: str) -> str:
    """An eval-set-like name for a Keras / Lightning / HF metric name (val_loss: valid)."""
    lowered = key.lower()
    if lowered.startswith(("val", "eval")) or "_val" in lowered or "/val" in lowered:
        return "validation"
    if "test" in lowered:
        return "test"
    return "train"


def _probabilities(logits: np.ndarray) -> np.ndarray:
    if logits.ndim == 1:
        return 1.0 / (1.0 + np.exp(-logits))
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
