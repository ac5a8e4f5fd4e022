"""What the integrations' callbacks cost a training loop, per epoch (boosting round).

For Keras (torch backend), Lightning, XGBoost and LightGBM, a small model is
trained on the digits data (1,257 training rows, 64 features, 10 classes)
with the runwatch callback, whose per-epoch hook is timed on its own
(``perf_counter`` around the call): the figure is that time as a share of the
epoch's (round's) wall time, p50 / p95 / max over the epochs, plus the
per-event hook latency. The issue's bar is under 2% of the epoch. Writes
go to a temporary store. Run: ``.venv/bin/python benchmarks/bench_integrations.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import runwatch as rw  # noqa: E402

EPOCHS = 30
# Boosting rounds take milliseconds: 300 of them make the 95th percentile a
# percentile (of 30, it is the second slowest).
ROUNDS = 300


def _timed(cb: Any, method: str, sink: list[float]) -> None:
    """Wrap cb.<method> so each call's duration lands in `sink`."""
    inner = getattr(cb, method)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            sink.append(time.perf_counter() - started)

    setattr(cb, method, wrapper)


def _report(name: str, hook: list[float], epoch: list[float]) -> None:
    n = min(len(hook), len(epoch))
    # The first hook also creates the iteration in the store: a cost per fit,
    # reported as a share of the whole fit, not of one epoch.
    print(
        f"{name:<10} first hook (creates the iteration) {hook[0] * 1e3:6.2f} ms = "
        f"{hook[0] / sum(epoch[:n]):6.3%} of the fit"
    )
    hook, epoch, n = hook[1:n], epoch[1:n], n - 1
    share = sorted(h / e for h, e in zip(hook, epoch))
    lat = sorted(hook)

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]

    print(
        f"{name:<10} epochs {n:>3}  epoch p50 {statistics.median(epoch) * 1e3:7.1f} ms  "
        f"hook p50/p95/max {pct(lat, 0.5) * 1e3:6.2f} / {pct(lat, 0.95) * 1e3:6.2f} / "
        f"{lat[-1] * 1e3:6.2f} ms  share p50/p95/max {pct(share, 0.5):6.2%} / "
        f"{pct(share, 0.95):6.2%} / {share[-1]:6.2%}"
    )


def bench_keras(run: rw.Run, data: tuple) -> None:
    """A Keras MLP (torch backend), EPOCHS epochs."""
    import keras

    from runwatch.integrations.keras import KerasCallback

    Xtr, ytr, Xva, yva = data
    hook: list[float] = []
    epoch: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, e, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, e, logs=None):
            epoch.append(time.perf_counter() - self.t)

    cb = KerasCallback(run, "keras", X_valid=Xva, y_valid=yva)
    _timed(cb, "on_epoch_end", hook)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])  # fmt: skip
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(Xtr, ytr, validation_data=(Xva, yva), epochs=EPOCHS, batch_size=64, verbose=0,
              callbacks=[Clock(), cb])  # fmt: skip
    # Clock's on_epoch_end runs before cb's: add the hook to the epoch it belongs to.
    _report("keras", hook, [e + h for e, h in zip(epoch, hook)])


def bench_lightning(run: rw.Run, data: tuple) -> None:
    """A Lightning MLP, EPOCHS epochs."""
    import lightning.pytorch as pl
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from runwatch.integrations.lightning import LightningCallback

    Xtr, ytr, Xva, yva = data
    hook: list[float] = []
    epoch: list[float] = []

    class Net(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                           torch.nn.Linear(64, 10))  # fmt: skip

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, _):
            loss = torch.nn.functional.cross_entropy(self(batch[0]), batch[1])
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch, _):
            self.log("val_loss", torch.nn.functional.cross_entropy(self(batch[0]), batch[1]))

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    class Clock(pl.Callback):
        def on_train_epoch_start(self, trainer, module):
            self.t = time.perf_counter()

        def on_train_epoch_end(self, trainer, module):
            epoch.append(time.perf_counter() - self.t)

    def loader(X, y):
        ds = TensorDataset(torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y))
        return DataLoader(ds, batch_size=64)

    cb = LightningCallback(run, "lightning", X_valid=Xva, y_valid=yva)
    _timed(cb, "on_train_epoch_end", hook)
    trainer = pl.Trainer(max_epochs=EPOCHS, accelerator="cpu", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[Clock(), cb])  # fmt: skip
    trainer.fit(Net(), loader(Xtr, ytr), loader(Xva, yva))
    _report("lightning", hook, [e + h for e, h in zip(epoch, hook)])


def bench_xgboost(run: rw.Run, data: tuple) -> None:
    """XGBClassifier, ROUNDS rounds with two eval sets."""
    import xgboost as xgb

    from runwatch.integrations.xgboost import XGBoostCallback

    Xtr, ytr, Xva, yva = data
    hook: list[float] = []
    rounds: list[float] = []

    class Clock(xgb.callback.TrainingCallback):
        def before_iteration(self, model, epoch, evals_log):
            self.t = time.perf_counter()
            return False

        def after_iteration(self, model, epoch, evals_log):
            rounds.append(time.perf_counter() - self.t)
            return False

    cb = XGBoostCallback(run, "xgboost", X_valid=Xva, y_valid=yva)
    _timed(cb, "after_iteration", hook)
    model = xgb.XGBClassifier(n_estimators=ROUNDS, max_depth=4, n_jobs=1,
                              callbacks=[Clock(), cb])  # fmt: skip
    model.fit(Xtr, ytr, eval_set=[(Xtr, ytr), (Xva, yva)], verbose=False)
    _report("xgboost", hook, [r + h for r, h in zip(rounds, hook)])


def bench_lightgbm(run: rw.Run, data: tuple) -> None:
    """LGBMClassifier, ROUNDS rounds with two eval sets."""
    import lightgbm as lgb

    from runwatch.integrations.lightgbm import LightGBMCallback

    Xtr, ytr, Xva, yva = data
    hook: list[float] = []
    stamps: list[float] = []

    def clock(env):
        stamps.append(time.perf_counter())

    clock.order = 1  # type: ignore[attr-defined]
    cb = LightGBMCallback(run, "lightgbm", X_valid=Xva, y_valid=yva)
    _timed(cb, "__call__", hook)

    def timed_cb(env):
        return cb.__call__(env)

    timed_cb.order = cb.order  # type: ignore[attr-defined]
    model = lgb.LGBMClassifier(n_estimators=ROUNDS, num_leaves=15, n_jobs=1, verbose=-1)
    model.fit(Xtr, ytr, eval_X=(Xtr, Xva), eval_y=(ytr, yva), callbacks=[clock, timed_cb])
    # A round is the time between two clock stamps (taken before the hook runs).
    rounds = [b - a for a, b in zip(stamps, stamps[1:])]
    _report("lightgbm", hook[:-1], rounds)


def main() -> None:
    """Train each framework's small model with its callback and print the shares."""
    X, y = load_digits(return_X_y=True)
    Xtr, Xva, ytr, yva = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
    with tempfile.TemporaryDirectory() as folder:
        run = rw.Run("bench", labels=list(range(10)), store=os.path.join(folder, "b.db"))
        only = sys.argv[1:] or ["keras", "lightning", "xgboost", "lightgbm"]
        for name in only:
            globals()[f"bench_{name}"](run, (Xtr, ytr, Xva, yva))
        run.flush()


if __name__ == "__main__":
    main()
