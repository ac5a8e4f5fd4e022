"""TransformersCallback with a tiny BERT built from a config: losses and sklearn's metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from sklearn import metrics as skm

import runwatch as rw
from runwatch.integrations.transformers import TransformersCallback

from ._data import LABELS, losses, rows


class Tokens(torch.utils.data.Dataset):
    """Sequences whose label is which third of the vocabulary their tokens come from."""

    def __init__(self, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.labels = rng.integers(0, 3, n)
        low = self.labels * 10 + 1
        self.ids = np.stack([rng.integers(lo, lo + 10, 8) for lo in low])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": torch.as_tensor(self.ids[i]), "labels": int(self.labels[i])}


def _trainer(tmp_path, cb, epochs=3, callbacks=()):
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=16, num_labels=3,
    )  # fmt: skip
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), num_train_epochs=epochs, learning_rate=5e-3,
        per_device_train_batch_size=16, per_device_eval_batch_size=64, eval_strategy="epoch",
        logging_strategy="epoch", save_strategy="no", report_to=[], use_cpu=True,
        disable_tqdm=True, seed=0,
    )  # fmt: skip
    return transformers.Trainer(
        model=transformers.BertForSequenceClassification(config),
        args=args,
        train_dataset=Tokens(96, 0),
        eval_dataset=Tokens(48, 1),
        compute_metrics=cb.compute_metrics,
        callbacks=[cb, *callbacks],
    )


def test_a_training_is_one_iteration_with_every_epochs_loss_and_sklearns_metrics(db, tmp_path):
    run = rw.Run("hf", labels=LABELS, store=db)
    cb = TransformersCallback(run, "bert-tiny")
    trainer = _trainer(tmp_path, cb)
    trainer.train()
    assert rows(db) == [("bert-tiny", "completed", None)]
    it = run.iteration_list()[0]
    history = trainer.state.log_history
    assert losses(it, "train") == pytest.approx([h["loss"] for h in history if "loss" in h])
    assert losses(it, "validation") == pytest.approx(
        [h["eval_loss"] for h in history if "eval_loss" in h]
    )
    assert len(losses(it, "train")) == 3 and len(losses(it, "validation")) == 3
    out = trainer.predict(trainer.eval_dataset)
    proba = torch.softmax(torch.as_tensor(out.predictions, dtype=torch.float64), dim=1).numpy()
    got = it.metrics("validation")
    y = out.label_ids
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba), abs=1e-9)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, proba.argmax(1)))
    assert got["AUC_weighted"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted"), abs=1e-9
    )
    assert it.dataset_stats()["n_samples"] == 48


class Stop(transformers.TrainerCallback):
    def __init__(self, error: type[BaseException]) -> None:
        self.error = error

    def on_epoch_end(self, args, state, control, **kwargs):
        if state.epoch >= 2:
            raise self.error("stopped after epoch 2")


@pytest.mark.parametrize(
    ("error", "row"),
    [
        (RuntimeError, ("transformers", "failed", "RuntimeError: stopped after epoch 2")),
        (KeyboardInterrupt, ("transformers", "canceled", None)),
    ],
)
def test_a_training_that_raises_inside_the_with_block_fails_or_cancels(db, tmp_path, error, row):
    run = rw.Run("hf", labels=LABELS, store=db)
    cb = TransformersCallback(run)
    trainer = _trainer(tmp_path, cb, callbacks=(Stop(error),))
    with pytest.raises(error), cb:
        trainer.train()
    assert rows(db) == [row]
    # The Trainer logs an epoch after its on_epoch_end: epoch 2 stopped before its log.
    it = run.iteration_list()[0]
    history = trainer.state.log_history
    assert losses(it, "train") == pytest.approx([h["loss"] for h in history if "loss" in h])
    assert len(losses(it, "train")) == 1 and len(losses(it, "validation")) == 1
