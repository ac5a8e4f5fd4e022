"""PyTorch Lightning: a ``lightning.pytorch.Callback`` that logs each fit as one iteration.

At the end of every training epoch (after its validation loop) the values
the module logged with ``self.log`` (``trainer.callback_metrics``) become
logged metrics; a name holding "loss" is also the loss of its split
(``val_loss``: validation, ``train_loss``: train), step = epoch from 0.
After the fit, the module's outputs on ``X_valid`` (a tensor or array
passed to its forward in eval mode; logits by default) are scored as the
validation split. Lightning reports a fit that raises: its iteration reads
failed, or canceled on Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch

from runwatch.tracking import Run

from ._fit import FitLogger

__all__ = ["LightningCallback"]


class LightningCallback(pl.Callback, FitLogger):
    """Log every ``trainer.fit`` as an iteration of `run`.

    Parameters are :class:`~runwatch.integrations._fit.FitLogger`'s; a
    classifier's outputs are logits unless ``output="proba"``.
    """

    def __init__(
        self,
        run: Run,
        name: str = "lightning",
        params: Mapping[str, Any] | None = None,
        X_valid: Any = None,
        y_valid: Any = None,
        output: str = "logits",
    ) -> None:
        pl.Callback.__init__(self)
        FitLogger.__init__(self, run, name, params, X_valid, y_valid, output=output)

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        """Start the fit's iteration."""
        self.begin()
        self.predict = lambda X: _forward(pl_module, X)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Log what the module logged this epoch."""
        if trainer.sanity_checking:
            return
        values = {
            k: v.item() if hasattr(v, "item") else v for k, v in trainer.callback_metrics.items()
        }
        self.log_named(trainer.current_epoch, values)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        """Score the validation predictions and complete the iteration."""
        self.end(lambda X: _forward(pl_module, X))

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        """Fail the iteration (cancel it on Ctrl-C)."""
        it = self.iteration
        if it is None or it.status != "running":
            return
        if isinstance(exception, KeyboardInterrupt):
            it.cancel()
        else:
            it.fail(exception)


def _forward(module: Any, X: Any) -> np.ndarray:
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            tensor = torch.as_tensor(np.asarray(X), dtype=torch.float32).to(module.device)
            return module(tensor).detach().cpu().double().numpy()
    finally:
        module.train(was_training)
