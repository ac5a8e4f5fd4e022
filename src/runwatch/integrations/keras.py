"""Keras 3: a ``keras.callbacks.Callback`` that logs each ``fit`` as one iteration.

Any backend (tested with torch, which it picks when ``KERAS_BACKEND`` is
unset and TensorFlow is not installed). Each epoch's logs become logged metrics under
Keras's own names (``loss``, ``accuracy``, ``val_loss``, ...); ``loss`` is the
train loss and ``val_loss`` the validation loss of that epoch (step = epoch,
from 0). After the last epoch the model's predictions on ``X_valid`` are
scored as the validation split. Keras has no hook for a fit that raises: use
the callback as a context manager (``with cb: model.fit(...)``) and such a
fit's iteration reads failed (canceled on Ctrl-C).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from typing import Any

# Keras defaults to TensorFlow; runwatch[keras] brings torch instead. Choose it
# only where nothing chose before (no KERAS_BACKEND, keras not imported yet)
# and TensorFlow is absent, so that `import keras` works as installed; hence
# the import below comes after this code.
if (
    "keras" not in sys.modules
    and "KERAS_BACKEND" not in os.environ
    and importlib.util.find_spec("tensorflow") is None
    and importlib.util.find_spec("torch") is not None
):
    os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402

from runwatch.tracking import Run

from ._fit import FitLogger

__all__ = ["KerasCallback"]


class KerasCallback(keras.callbacks.Callback, FitLogger):
    """Log every ``fit`` of a Keras model as an iteration of `run`.

    Parameters are :class:`~runwatch.integrations._fit.FitLogger`'s; a
    classifier's outputs are probabilities (softmax or sigmoid) unless
    ``output="logits"``.
    """

    def __init__(
        self,
        run: Run,
        name: str = "keras",
        params: Mapping[str, Any] | None = None,
        X_valid: Any = None,
        y_valid: Any = None,
        output: str = "proba",
    ) -> None:
        keras.callbacks.Callback.__init__(self)
        FitLogger.__init__(self, run, name, params, X_valid, y_valid, output=output)

    def on_train_begin(self, logs: Any = None) -> None:
        """Start the fit's iteration."""
        self.begin()
        self.predict = self._predict

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        """Log the epoch's losses and metrics."""
        self.log_named(epoch, dict(logs or {}))

    def on_train_end(self, logs: Any = None) -> None:
        """Score the validation predictions and complete the iteration."""
        self.end(self._predict)

    def _predict(self, X: Any) -> Any:
        return self.model.predict(X, verbose=0)
