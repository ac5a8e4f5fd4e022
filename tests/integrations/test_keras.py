"""KerasCallback on torch: one iteration per fit, every epoch's loss, sklearn's metrics."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn import metrics as skm

import runwatch as rw
from runwatch.integrations.keras import KerasCallback

from ._data import LABELS, classes, losses, rows


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# Keras's float32 softmax rows sum to 1 within 1e-7: scikit-learn says so, the engine accepts them.
@pytest.mark.filterwarnings("ignore:The y_prob values do not sum to one")
def test_a_fit_is_one_iteration_with_every_epochs_loss_and_sklearns_metrics(db):
    assert keras.backend.backend() == "torch"
    Xtr, ytr, Xva, yva = classes()
    run = rw.Run("keras", labels=LABELS, store=db)
    cb = KerasCallback(run, "mlp", params={"units": 8}, X_valid=Xva, y_valid=yva)
    model = _model()
    history = model.fit(
        Xtr, ytr, validation_data=(Xva, yva), epochs=3, batch_size=32, verbose=0, callbacks=[cb]
    ).history
    assert rows(db) == [("mlp", "completed", None)]
    it = run.iteration_list()[0]
    assert losses(it, "train") == pytest.approx(history["loss"], abs=1e-6)
    assert losses(it, "validation") == pytest.approx(history["val_loss"], abs=1e-6)
    assert len(losses(it, "train")) == 3
    logged = it.logged_metrics()
    assert list(logged[logged["name"] == "val_accuracy"]["value"]) == pytest.approx(
        history["val_accuracy"]
    )
    proba = model.predict(Xva, verbose=0).astype(np.float64)
    got = it.metrics("validation")
    assert got["log_loss"] == pytest.approx(skm.log_loss(yva, proba), abs=1e-9)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(yva, proba.argmax(1)))
    assert got["AUC_weighted"] == pytest.approx(
        skm.roc_auc_score(yva, proba, multi_class="ovr", average="weighted"), abs=1e-9
    )
    model.fit(Xtr, ytr, epochs=1, verbose=0, callbacks=[cb])
    assert [r[1] for r in rows(db)] == ["completed", "completed"]


class Stop(keras.callbacks.Callback):
    def __init__(self, error):
        super().__init__()
        self.error = error

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise self.error("stopped after epoch 1")


@pytest.mark.parametrize(
    ("error", "status"), [(RuntimeError, "failed"), (KeyboardInterrupt, "canceled")]
)
def test_a_fit_that_raises_inside_the_with_block_fails_or_cancels_its_iteration(db, error, status):
    Xtr, ytr, Xva, yva = classes()
    run = rw.Run("keras", labels=LABELS, store=db)
    cb = KerasCallback(run, X_valid=Xva, y_valid=yva)
    with pytest.raises(error), cb:
        _model().fit(Xtr, ytr, epochs=3, verbose=0, callbacks=[cb, Stop(error)])
    it = run.iteration_list()[0]
    assert it.status == status
    assert len(losses(it, "train")) == 2


def test_bad_arguments_are_refused_and_write_nothing(db):
    run = rw.Run("keras", labels=LABELS, store=db)
    with pytest.raises(ValueError, match="run must be a runwatch Run"):
        KerasCallback(object())
    with pytest.raises(ValueError, match="output must be 'proba' or 'logits'"):
        KerasCallback(run, output="softmax")
    assert rows(db) == []
