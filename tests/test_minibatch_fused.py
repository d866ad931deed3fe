"""The fused path of the minibatch trainer (lstm_hist/training/minibatch/fused.py) takes the same steps as fit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lstm_hist import interrupt
from lstm_hist.experiment import Experiment
from lstm_hist.training import minibatch as MB
from lstm_hist.training.minibatch import fused

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="the fused path is JAX's")

VOCAB = 11


def lm_task():
    """Windows of two context ids; 203 training rows, so the last batch of 16 is short (11 rows)."""
    rng = np.random.default_rng(0)
    context = rng.integers(0, VOCAB, size=(300, 2)).astype("int32")
    target = ((context[:, 0] + 2 * context[:, 1]) % VOCAB).astype("int32")
    return {"train": (context[:203], target[:203]), "valid": (context[203:250], target[203:250]),
            "test": (context[250:], target[250:])}


def nplm_protocol(**overrides):
    from reproductions.bengio2003.protocol import NPLMProtocol

    # the NPLM's optimizer: a decaying step and decoupled weight decay off the biases (protocol.paper_sgd)
    fields = dict(learning_rate=0.02, lr_decay=0.05, weight_decay=0.01, batch_size=16, epochs=3, eval_batch_size=20)
    return NPLMProtocol(**{**fields, **overrides})


def experiment():
    from reproductions.bengio2003.model import build_nplm

    return Experiment(task=lm_task, model=build_nplm, protocol=MB.MinibatchProtocol)


MODEL = {"vocab_size": VOCAB, "order": 3, "hidden": 5, "features": 4, "direct": True}


def train(proto, workdir=None, resume=False, task_cfg=None, progress=None):
    return MB.train_minibatch(proto, experiment=experiment(), task_cfg=task_cfg or {}, model_cfg=MODEL, seed=4,
                              workdir=workdir, resume=resume, progress=progress)


@pytest.fixture(scope="module")
def through_fit():
    return train(nplm_protocol())


def test_the_fused_path_takes_fits_steps(through_fit):
    # 13 batches an epoch in chunks of 5: chunks of 5, 5, then 2 full batches and the short one on their own
    result = train(nplm_protocol(fused_steps=5))
    assert result.status == through_fit.status == "completed"
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(result.history[key], through_fit.history[key], rtol=2e-5)
    assert result.history["loss"][-1] < result.history["loss"][0]
    for a, b in zip(result.final_weights, through_fit.final_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert result.metrics()["test_perplexity"] == pytest.approx(through_fit.metrics()["test_perplexity"], rel=1e-5)


def test_a_run_stopped_at_an_epoch_end_resumes_to_the_uninterrupted_run(tmp_path, through_fit):
    def stop_after_two(info):
        if info.get("epoch") == 2:
            raise KeyboardInterrupt

    first = train(nplm_protocol(fused_steps=5), tmp_path, progress=stop_after_two)
    assert first.status == "interrupted" and first.epochs_run == 2 and first.repeated_sequences == 0
    resumed = train(nplm_protocol(fused_steps=5), tmp_path, resume=True)
    assert resumed.status == "completed" and resumed.epochs_run == 3
    np.testing.assert_allclose(resumed.history["val_loss"], through_fit.history["val_loss"], rtol=2e-5)
    for a, b in zip(resumed.final_weights, through_fit.final_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_stop_between_chunks_checkpoints_and_counts_the_repeated_examples(tmp_path, monkeypatch):
    calls = []
    add = fused._add

    def stop_in_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 6:  # epoch 1 added 4 scans (5, 5, 2, then the short batch); epoch 2's second
            interrupt.request(15)
        return add(*args, **kwargs)

    monkeypatch.setattr(fused, "_add", stop_in_second_epoch)
    try:
        first = train(nplm_protocol(fused_steps=5), tmp_path)
    finally:
        interrupt.clear()
    assert first.status == "interrupted" and first.epochs_run == 1
    assert first.repeated_sequences == 10 * 16  # two chunks of five batches of the second epoch
    assert (tmp_path / MB.WEIGHTS_FILE).exists()
    monkeypatch.setattr(fused, "_add", add)
    resumed = train(nplm_protocol(fused_steps=5), tmp_path, resume=True)
    assert resumed.status == "completed" and resumed.epochs_run == 3 and resumed.repeated_sequences == 10 * 16


def test_a_non_finite_loss_in_a_chunk_gives_diverged():
    result = train(nplm_protocol(fused_steps=4, learning_rate=1e30))  # the first updates overflow
    assert result.status == "diverged" and result.epochs_run == 0


def test_the_fused_path_applies_only_where_it_takes_the_same_steps():
    data = lm_task()
    assert fused.applies(nplm_protocol(fused_steps=8), data)
    assert not fused.applies(nplm_protocol(), data)  # not asked for
    noisy = dataclasses.replace(nplm_protocol(fused_steps=8), weight_noise=0.1)
    assert not fused.applies(noisy, data)  # noise is drawn on the host per batch
    weighted = {**data, "train": (*data["train"], np.ones(203, "float32"))}
    assert not fused.applies(nplm_protocol(fused_steps=8), weighted)
    with pytest.raises(Exception, match="fused_steps"):
        nplm_protocol(fused_steps=-1)
