"""Chung et al. (2014) speech rows on the one-graph path (reproductions/chung2014/candidates.py): the §4
learning-rate candidates of a speech row (continuous 20-sample inputs, a 20-component mixture-of-Gaussians output,
``loss: mog_nll``, padded steps weighted 0, batches of several sequences) train in one jitted graph, and a member
agrees with the generic Keras ``fit`` of the same protocol (the agreement test of the music rows, for this loss)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lstm_hist.backend import current_backend

pytestmark = pytest.mark.skipif(current_backend() != "jax", reason="the one-graph trainer is JAX only")

from lstm_hist.experiment import Experiment  # noqa: E402
from reproductions.chung2014 import ChungProtocol, build_speech_model  # noqa: E402
from reproductions.chung2014.candidates import Member, OneGraphTrainer, unsupported_reason  # noqa: E402


def _split(rng, n):
    x = rng.normal(size=(n, 8, 4)).astype(np.float32)
    y = rng.normal(size=(n, 8, 2)).astype(np.float32)
    w = np.ones((n, 8), np.float32)
    w[-1, 5:] = 0.0  # a stream's last, zero-padded sequence (speech.frame_streams)
    x[-1, 5:], y[-1, 5:] = 0.0, 0.0
    return x, y, w


_RNG = np.random.default_rng(3)
DATA = {"train": _split(_RNG, 6), "valid": _split(_RNG, 3), "test": _split(_RNG, 2)}
EXPERIMENT = Experiment(task=lambda: DATA, model=build_speech_model, protocol=ChungProtocol)


def _protocol(**changes):
    base = ChungProtocol(optimizer="rmsprop_momentum", momentum=0.9, rho=0.95, stabilizer=0.01,
                         momentum_clipping=1.0, lr_decay_factor=0.01, lr_decay_epochs=3, weight_noise=0.0,
                         weight_noise_scope="recurrent", batch_size=4, epochs=3, early_stopping_patience=None,
                         restore_best_weights=True, loss="mog_nll", eval_batch_size=2, lr_candidates=None,
                         learning_rate=2e-3, candidates_in_one_graph=True)
    return dataclasses.replace(base, **changes)


def _model_cfg(unit):
    return {"unit": unit, "units": 5, "input_samples": 4, "output_samples": 2, "components": 3,
            "recurrent_init": "orthogonal"}


def test_speech_rows_take_the_one_graph_path():
    assert unsupported_reason(_protocol(), DATA) is None


@pytest.mark.parametrize("unit", ["lstm", "tanh"])
def test_one_graph_speech_member_agrees_with_the_generic_fit(unit):
    from lstm_hist.training.minibatch import train_minibatch

    protocol = _protocol()
    generic = train_minibatch(protocol, experiment=EXPERIMENT, task_cfg={}, model_cfg=_model_cfg(unit), seed=0)
    trainer = OneGraphTrainer(protocol, experiment=EXPERIMENT, task_cfg={}, model_cfg=_model_cfg(unit),
                              members=[Member(0, 5e-4), Member(0, 2e-3)])
    status = trainer.run()
    ours = trainer.results(status)[1]
    assert generic.status == ours.status == "completed"
    assert generic.best_epoch == ours.best_epoch and generic.epochs_run == ours.epochs_run == 3
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(generic.history[key], ours.history[key], rtol=2e-5)
    trainable = [id(v) for v in trainer.model.trainable_variables]
    generic_trainable = [w for w, v in zip(generic.final_weights, trainer.model.weights) if id(v) in trainable]
    for a, b in zip(generic_trainable, ours.weights):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)


def test_speech_search_in_one_graph_selects_on_validation_nll():
    protocol = _protocol(lr_candidates=3, lr_log_range=(-9.0, -5.0), epochs=2, lr_decay_epochs=2, weight_noise=0.075)
    result = protocol.run(experiment=EXPERIMENT, task_cfg={}, model_cfg=_model_cfg("gru"), seed=0)
    rows = result.per_trial()
    assert result.status == "completed" and len(rows) == 3
    (chosen,) = [row for row in rows if row["chosen"]]
    assert chosen["valid_nll"] == min(row["valid_nll"] for row in rows)
    assert result.learning_rate == chosen["learning_rate"] and result.best_epoch in (1, 2)
    assert result.evaluation["valid_nll"] == pytest.approx(chosen["valid_nll"], rel=1e-9)
