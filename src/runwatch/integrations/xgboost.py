"""XGBoost: a ``TrainingCallback`` that logs each fit as one iteration.

Works with ``xgboost.train(..., callbacks=[cb])`` and the scikit-learn
interface (``XGBClassifier(callbacks=[cb])``). Each boosting round's eval
results become logged metrics (``"validation_0-logloss"``) and each eval set's
first metric the loss of its split; after the last round the booster's
predictions on ``X_valid`` are scored as the validation split.

For example::

    cb = XGBoostCallback(run, "xgb", X_valid=X_va, y_valid=y_va)
    with cb:  # fails / cancels the iteration if the fit raises
        XGBClassifier(n_estimators=3, callbacks=[cb]).fit(
            X_tr, y_tr, eval_set=[(X_tr, y_tr), (X_va, y_va)])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xgboost as xgb

from runwatch.tracking import Run

from ._fit import FitLogger

__all__ = ["XGBoostCallback"]

# XGBoost's scikit-learn interface names its eval sets validation_0, validation_1, ...;
# with two, the first is conventionally the training data.
_SKLEARN_PAIR = {"validation_0": "train", "validation_1": "validation"}


class XGBoostCallback(xgb.callback.TrainingCallback, FitLogger):
    """Log every fit of an XGBoost model as an iteration of `run`.

    Parameters are :class:`~runwatch.integrations._fit.FitLogger`'s. With the
    scikit-learn interface and two eval sets (and no `splits`), the first one
    (``validation_0``) is taken as the train split and the second as the
    validation split.
    """

    def __init__(
        self,
        run: Run,
        name: str = "xgboost",
        params: Mapping[str, Any] | None = None,
        X_valid: Any = None,
        y_valid: Any = None,
        splits: Mapping[str, str] | None = None,
    ) -> None:
        xgb.callback.TrainingCallback.__init__(self)
        FitLogger.__init__(self, run, name, params, X_valid, y_valid, splits)
        self._explicit = splits is not None

    def before_training(self, model: Any) -> Any:
        """Start the fit's iteration."""
        self.begin()
        self.predict = lambda X: model.predict(xgb.DMatrix(X))
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        """Log the round's eval results; never stops training."""
        if not self._explicit and set(evals_log) == set(_SKLEARN_PAIR):
            self.splits = dict(_SKLEARN_PAIR)
        results = [
            (eval_name, metric, values[-1])
            for eval_name, per_metric in evals_log.items()
            for metric, values in per_metric.items()
        ]
        self.log_round(epoch, [(n, m, _value(v)) for n, m, v in results])
        return False

    def after_training(self, model: Any) -> Any:
        """Score the validation predictions and complete the iteration."""
        self.end(lambda X: model.predict(xgb.DMatrix(X)))
        return model


def _value(entry: Any) -> float:
    # With cross-validation (xgb.cv) each entry is a (mean, std) pair.
    return float(entry[0] if isinstance(entry, tuple) else entry)
