"""Hugging Face: a ``transformers.TrainerCallback`` that logs each training as one iteration.

Every ``Trainer`` log (``loss``, ``learning_rate``, ``eval_loss``,
``eval_accuracy``, ...) becomes logged metrics at the trainer's global step;
``loss`` is the train loss and ``eval_loss`` the validation loss. The
validation predictions are those of the last evaluation: pass
``compute_metrics=cb.compute_metrics`` to the ``Trainer`` (it returns no
metric of its own) and they are scored as the validation split when training
ends. The Trainer has no hook for a training that raises: use the callback as
a context manager (``with cb: trainer.train()``) and such a run's iteration
reads failed (canceled on Ctrl-C).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import transformers

from runwatch.tracking import Run

from ._fit import FitLogger

__all__ = ["TransformersCallback"]

# Trainer's end-of-training summary: timings, counters and the mean train loss (the
# epochs' own losses are logged already).
_SUMMARY = ("epoch", "train_loss", "total_flos", "train_runtime", "train_samples_per_second",
            "train_steps_per_second", "eval_runtime", "eval_samples_per_second",
            "eval_steps_per_second")  # fmt: skip


class TransformersCallback(transformers.TrainerCallback, FitLogger):
    """Log every ``trainer.train()`` as an iteration of `run`.

    Parameters are :class:`~runwatch.integrations._fit.FitLogger`'s, without
    ``X_valid``: the validation predictions come from ``compute_metrics``.
    """

    def __init__(
        self,
        run: Run,
        name: str = "transformers",
        params: Mapping[str, Any] | None = None,
        output: str = "logits",
    ) -> None:
        FitLogger.__init__(self, run, name, params, output=output)
        self._last: tuple[Any, Any] | None = None

    def compute_metrics(self, prediction: Any) -> dict[str, float]:
        """Keep an evaluation's predictions (``Trainer(compute_metrics=...)``)."""
        predictions = prediction.predictions
        if isinstance(predictions, tuple):
            predictions = predictions[0]
        self._last = (np.asarray(predictions), np.asarray(prediction.label_ids))
        return {}

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Start the training's iteration."""
        self.begin()
        self._last = None

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        """Log one Trainer log at its global step."""
        values = {k: v for k, v in (logs or {}).items() if k not in _SUMMARY}
        self.log_named(int(state.global_step), values)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Score the last evaluation's predictions and complete the iteration."""
        if self._last is not None:
            predictions, labels = self._last
            self.X_valid, self.y_valid = predictions, labels
            self.end(lambda X: X)
        else:
            self.end(None)
