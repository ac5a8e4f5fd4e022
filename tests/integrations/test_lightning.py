"""LightningCallback: one iteration per fit, every epoch's loss, sklearn's metrics."""

from __future__ import annotations

import signal

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from torch.utils.data import DataLoader, TensorDataset

import runwatch as rw
from runwatch.integrations.lightning import LightningCallback

from ._data import LABELS, classes, losses, rows


class Net(pl.LightningModule):
    def __init__(self, fail_at_epoch: int | None = None, error: type[BaseException] = RuntimeError):
        super().__init__()
        self.layer = torch.nn.Linear(6, 3)
        self.fail_at_epoch = fail_at_epoch
        self.error = error

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, _):
        if self.current_epoch == self.fail_at_epoch:
            raise self.error("boom in epoch 1")
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val_loss", torch.nn.functional.cross_entropy(self(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class Record(pl.Callback):
    """What Lightning itself reports at each epoch's end: the oracle for the losses."""

    def __init__(self):
        self.seen = []

    def on_train_epoch_end(self, trainer, pl_module):
        self.seen.append({k: float(v) for k, v in trainer.callback_metrics.items()})


def _loader(X, y, shuffle=False):
    data = TensorDataset(torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y))
    return DataLoader(data, batch_size=32, shuffle=shuffle)


def _trainer(callbacks):
    return pl.Trainer(
        max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=callbacks,
    )  # fmt: skip


def test_a_fit_is_one_iteration_with_every_epochs_loss_and_sklearns_metrics(db):
    torch.manual_seed(0)
    Xtr, ytr, Xva, yva = classes()
    run = rw.Run("pl", labels=LABELS, store=db)
    cb = LightningCallback(run, "linear", X_valid=Xva, y_valid=yva)
    record = Record()
    net = Net()
    _trainer([cb, record]).fit(net, _loader(Xtr, ytr, True), _loader(Xva, yva))
    assert rows(db) == [("linear", "completed", None)]
    it = run.iteration_list()[0]
    assert losses(it, "train") == pytest.approx([s["train_loss"] for s in record.seen], abs=1e-6)
    assert losses(it, "validation") == pytest.approx([s["val_loss"] for s in record.seen], abs=1e-6)
    assert len(losses(it, "validation")) == 3
    with torch.no_grad():
        logits = net(torch.as_tensor(Xva, dtype=torch.float32)).double()
    proba = torch.softmax(logits, dim=1).numpy()
    got = it.metrics("validation")
    assert got["log_loss"] == pytest.approx(skm.log_loss(yva, proba), abs=1e-9)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(yva, proba.argmax(1)))
    assert got["AUC_macro"] == pytest.approx(
        skm.roc_auc_score(yva, proba, multi_class="ovr", average="macro"), abs=1e-9
    )
    assert np.isclose(proba.sum(1), 1).all()


def test_a_fit_that_raises_fails_its_iteration(db):
    Xtr, ytr, Xva, yva = classes()
    run = rw.Run("pl", labels=LABELS, store=db)
    cb = LightningCallback(run)
    with pytest.raises(RuntimeError, match="boom in epoch 1"):
        _trainer([cb]).fit(Net(fail_at_epoch=1), _loader(Xtr, ytr), _loader(Xva, yva))
    assert rows(db) == [("lightning", "failed", "RuntimeError: boom in epoch 1")]
    assert len(losses(run.iteration_list()[0], "train")) == 1


def test_a_fit_interrupted_by_ctrl_c_is_canceled(db):
    Xtr, ytr, Xva, yva = classes()
    run = rw.Run("pl", labels=LABELS, store=db)
    cb = LightningCallback(run)
    net = Net(fail_at_epoch=1, error=KeyboardInterrupt)
    # Lightning ignores further Ctrl-C while it shuts down, then exits: restore the handler.
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit):
            _trainer([cb]).fit(net, _loader(Xtr, ytr), _loader(Xva, yva))
    finally:
        signal.signal(signal.SIGINT, handler)
    assert rows(db) == [("lightning", "canceled", None)]
    it = run.iteration_list()[0]
    assert len(losses(it, "train")) == 1 and len(losses(it, "validation")) == 1  # epoch 0
