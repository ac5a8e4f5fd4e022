"""LightGBM: a callback function that logs each fit as one iteration.

Pass it to ``lightgbm.train(..., callbacks=[cb])`` or
``LGBMClassifier().fit(..., callbacks=[cb])``. Each boosting round's eval
results become logged metrics (``"valid_0-multi_logloss"``) and each eval
set's first metric the loss of its split (LightGBM names the training set
``"training"``); after the last round the booster's predictions on
``X_valid`` are scored as the validation split.

Early stopping ends the loop without telling its callbacks: use the
callback as a context manager around the fit (``with cb: ...``), which
completes the iteration then, and fails or cancels it when the fit raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runwatch.tracking import Run

from ._fit import FitLogger

__all__ = ["LightGBMCallback"]


class LightGBMCallback(FitLogger):
    """Log every fit of a LightGBM model as an iteration of `run`.

    Parameters are :class:`~runwatch.integrations._fit.FitLogger`'s.
    """

    order = 5  # before LightGBM's own early stopping (30), which ends the loop by raising
    before_iteration = False

    def __init__(
        self,
        run: Run,
        name: str = "lightgbm",
        params: Mapping[str, Any] | None = None,
        X_valid: Any = None,
        y_valid: Any = None,
        splits: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(run, name, params, X_valid, y_valid, splits)

    def __call__(self, env: Any) -> None:
        """Log one round (``lightgbm.callback.CallbackEnv``)."""
        if env.iteration == env.begin_iteration:
            self.begin()
        model = env.model
        self.predict = model.predict
        results = [(entry[0], entry[1], entry[2]) for entry in env.evaluation_result_list or []]
        self.log_round(env.iteration - env.begin_iteration, results)
        if env.iteration == env.end_iteration - 1:
            self.end(model.predict)
