"""Chung et al. (2014) at the authors' protocol: the RMSProp-with-momentum optimiser, the linear decay, the
summed training cost, the weight-noise scope, the block-orthogonal init and the configs of the music rows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest

from lstm_hist.config import load_config
from lstm_hist.errors import UserError
from reproductions.chung2014 import ChungProtocol, LinearDecayOverEpochs, RMSPropMomentum, build_music_model
from reproductions.chung2014.initializers import BlockOrthogonal
from reproductions.chung2014.losses import sequence_sum_loss
from reproductions.chung2014.protocol import recurrent_weight_matrices

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "chung2014"


def reference_step(params, grads, mean_squares, velocities, lr, momentum=0.9, rho=0.95, floor=0.01, clip=1.0):
    """The update of jych/librnn's RMSPropMomentum, written out in NumPy float64."""
    new_ms = [rho * a + (1 - rho) * g**2 for a, g in zip(mean_squares, grads)]
    rms = [np.maximum(np.sqrt(a), floor) for a in new_ms]
    new_v = [momentum * v - lr * g / r for v, g, r in zip(velocities, grads, rms)]
    norm = np.sqrt(sum((v**2).sum() for v in new_v))
    scale = 1.0 if clip is None else clip / max(clip, norm)
    return [p + v * scale for p, v in zip(params, new_v)], new_ms, new_v


def apply(optimizer, variables, grads):
    optimizer.apply([keras.ops.convert_to_tensor(g, "float32") for g in grads], variables)
    return [np.asarray(keras.ops.convert_to_numpy(v.value), np.float64) for v in variables]


def test_rmsprop_momentum_first_step_golden_numbers():
    # a[0]'s gradient is so small that its RMS √(0.05·1e-6) = 2.2e-4 is floored at 0.01; lr = 1 makes the step's
    # norm √(0.1² + 2·(√20)²) = √40.01 > 1, so the clip acts. Hand computation:
    #   v = [−0.001/0.01, −0.2/√0.002, +3/√0.45] = [−0.1, −4.472136, +4.472136], ‖v‖ = 6.325346
    a, b = keras.Variable(np.array([1.0, -2.0], np.float32)), keras.Variable(np.array([0.5], np.float32))
    opt = RMSPropMomentum(learning_rate=1.0)
    opt.build([a, b])
    new_a, new_b = apply(opt, [a, b], [np.array([0.001, 0.2]), np.array([-3.0])])
    norm = np.sqrt(0.01 + 20.0 + 20.0)
    np.testing.assert_allclose(new_a, [1.0 - 0.1 / norm, -2.0 - np.sqrt(20.0) / norm], rtol=1e-6)
    np.testing.assert_allclose(new_b, [0.5 + np.sqrt(20.0) / norm], rtol=1e-6)
    np.testing.assert_allclose(new_a, [0.9841906, -2.7070183], rtol=1e-6)
    np.testing.assert_allclose(new_b, [1.2070183], rtol=1e-6)
    # the stored velocity is the unclipped one (bound_inc=False)
    velocity = keras.ops.convert_to_numpy(opt._velocities[0].value)
    np.testing.assert_allclose(velocity, [-0.1, -np.sqrt(20.0)], rtol=1e-6)


def test_rmsprop_momentum_matches_reference_over_steps_and_without_clip():
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(3, 2)), rng.normal(size=(4,))]
    for lr, clip in ((0.5, 1.0), (1e-3, 1.0), (0.5, None)):
        variables = [keras.Variable(p.astype(np.float32)) for p in params]
        opt = RMSPropMomentum(learning_rate=lr, momentum_clipping=clip)
        opt.build(variables)
        ref = [p.copy() for p in params]
        ms = [np.zeros_like(p) for p in params]
        vel = [np.zeros_like(p) for p in params]
        for step in range(4):
            grads = [rng.normal(scale=10.0 ** -(step % 3), size=p.shape) for p in params]
            grads[1][0] = 1e-5  # floored
            got = apply(opt, variables, grads)
            ref, ms, vel = reference_step(ref, grads, ms, vel, lr, clip=clip)
            for g, r in zip(got, ref):
                np.testing.assert_allclose(g, r, rtol=2e-5, atol=1e-6)


def test_rmsprop_momentum_in_fit_on_this_backend():
    """One ``fit`` step of a linear model (the backend's trainer path) equals the NumPy reference."""
    x = np.array([[1.0, 2.0], [0.5, -1.0], [-1.0, 0.0], [2.0, 1.0]], np.float32)
    y = np.array([[1.0], [0.0], [2.0], [-1.0]], np.float32)
    w0, b0 = np.array([[0.3], [-0.2]]), np.array([0.1])
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.layers[0].set_weights([w0.astype(np.float32), b0.astype(np.float32)])
    model.compile(optimizer=RMSPropMomentum(learning_rate=0.05), loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    residual = x @ w0 + b0 - y
    grads = [2 * x.T @ residual / 4, np.array([2 * residual.sum() / 4])]
    ref, _, _ = reference_step([w0, b0], grads, [np.zeros((2, 1)), np.zeros(1)], [np.zeros((2, 1)), np.zeros(1)],
                               0.05)
    got = model.layers[0].get_weights()
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-5)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-5)


def test_rmsprop_momentum_config_round_trip_and_validation():
    opt = RMSPropMomentum(learning_rate=0.01, momentum=0.5, stabilizer=0.1, momentum_clipping=None)
    again = RMSPropMomentum.from_config(opt.get_config())
    assert (again.momentum, again.stabilizer, again.momentum_clipping) == (0.5, 0.1, None)
    with pytest.raises(ValueError, match="momentum_clipping"):
        RMSPropMomentum(momentum_clipping=0.0)


def test_linear_decay_over_epochs_follows_pylearn2_schedule():
    schedule = LinearDecayOverEpochs(1e-3, steps_per_epoch=10, saturate=500, decay_factor=0.01)
    value = lambda step: float(keras.ops.convert_to_numpy(schedule(step)))  # noqa: E731
    assert value(0) == pytest.approx(1e-3 * (1 - 0.99 / 500))  # epoch 1 already decayed once
    assert value(9) == pytest.approx(value(0))
    assert value(10) == pytest.approx(1e-3 * (1 - 0.99 * 2 / 500))  # epoch 2
    assert value(10 * 249) == pytest.approx(1e-3 * (1 - 0.99 * 250 / 500))
    assert value(10 * 499) == pytest.approx(1e-5)  # epoch 500: the final value
    assert value(10 * 800) == pytest.approx(1e-5)


def test_sequence_sum_loss_is_summed_over_steps_and_averaged_over_sequences():
    rng = np.random.default_rng(1)
    y = (rng.random((3, 5, 4)) < 0.3).astype(np.float32)
    logits = rng.normal(size=(3, 5, 4)).astype(np.float32)
    mask = np.ones((3, 5), np.float32)
    mask[1, 3:] = 0
    mask[2, 1:] = 0
    nll = np.logaddexp(0, logits) - y * logits  # per note
    expected = (nll.sum(-1) * mask).sum() / 3
    loss = sequence_sum_loss(ChungProtocol(loss="frame_nll_sequence_sum"))
    got = float(keras.ops.convert_to_numpy(loss(y, logits, sample_weight=mask)))
    assert got == pytest.approx(expected, rel=1e-5)


def _jsb_protocol(**changes):
    cfg = load_config(CONFIGS / "jsb_gru.yaml")
    return dataclasses.replace(ChungProtocol(**cfg["protocol"]), **changes)


def test_protocol_builds_the_authors_optimizer_with_decay():
    opt = _jsb_protocol(learning_rate=2e-3).make_optimizer(steps_per_epoch=229)
    assert isinstance(opt, RMSPropMomentum)
    assert (opt.momentum, opt.averaging_coeff, opt.stabilizer, opt.momentum_clipping) == (0.9, 0.95, 0.01, 1.0)
    schedule = opt._learning_rate
    assert isinstance(schedule, LinearDecayOverEpochs)
    assert (schedule.initial_learning_rate, schedule.steps_per_epoch, schedule.saturate) == (2e-3, 229, 500)
    with pytest.raises(UserError, match="known length"):
        _jsb_protocol().make_optimizer(steps_per_epoch=None)


def test_protocol_rejects_bad_fields():
    with pytest.raises(UserError, match="weight_noise_scope"):
        ChungProtocol(weight_noise_scope="output")
    with pytest.raises(UserError, match="lr_decay_factor"):
        ChungProtocol(optimizer="rmsprop", lr_decay_factor=0.01)
    with pytest.raises(UserError, match="optimizer"):
        ChungProtocol(optimizer="adadelta")


@pytest.mark.parametrize("unit", ["tanh", "gru", "lstm"])
def test_recurrent_noise_scope_is_the_recurrent_weight_matrices(unit):
    model = build_music_model(unit=unit, units=4, dim=6, recurrent_init="orthogonal")
    names = sorted(v.name for v in recurrent_weight_matrices(model))
    expected = ["kernel", "recurrent_kernel"] + (["peephole_f", "peephole_i", "peephole_o"] if unit == "lstm" else [])
    assert names == sorted(expected)
    assert len(ChungProtocol(weight_noise_scope="all").noisy_variables(model)) == len(model.trainable_variables)


def test_block_orthogonal_blocks_are_orthogonal_and_distinct():
    keras.utils.set_random_seed(3)
    matrix = np.asarray(keras.ops.convert_to_numpy(BlockOrthogonal(3)((5, 15))))
    blocks = [matrix[:, 5 * i : 5 * (i + 1)] for i in range(3)]
    for block in blocks:
        np.testing.assert_allclose(block.T @ block, np.eye(5), atol=1e-5)
    assert not np.allclose(blocks[0], blocks[1])
    with pytest.raises(ValueError, match="shape"):
        BlockOrthogonal(3)((5, 10))


@pytest.mark.parametrize("data", ["jsb", "nottingham", "pianomidi"])
@pytest.mark.parametrize("unit", ["tanh", "gru", "lstm"])
def test_public_music_rows_use_the_full_protocol(data, unit):
    cfg = load_config(CONFIGS / f"{data}_{unit}.yaml")
    p = cfg["protocol"]
    assert p["lr_candidates"] == 10 and p["lr_sampling"] == "iid"
    assert p["epochs"] == 500 and p["lr_decay_epochs"] == 500 and p["lr_decay_factor"] == 0.01
    assert p["early_stopping_patience"] is None and p["restore_best_weights"] is True
    assert p["optimizer"] == "rmsprop_momentum" and p["batch_size"] == 1 and p["clipnorm"] is None
    assert p["weight_noise"] == 0.075 and p["weight_noise_scope"] == "recurrent"
    assert cfg["model"]["recurrent_init"] == "orthogonal"


def test_a_run_without_search_reports_its_learning_rate_and_epoch(monkeypatch):
    from lstm_hist.training import minibatch

    done = minibatch.MinibatchResult(status="completed", parameters=5, epochs_run=7, best_epoch=4, history={},
                                     evaluation={"valid_nll": 8.5, "test_nll": 8.7}, seeds={}, repeated_sequences=0,
                                     train_seconds=1.0)
    monkeypatch.setattr(minibatch, "train_minibatch", lambda *args, **kwargs: done)
    result = ChungProtocol(learning_rate=2e-3).run(experiment=None, task_cfg={}, model_cfg={}, seed=0)
    metrics = result.metrics()
    assert metrics["learning_rate"] == 2e-3 and metrics["best_epoch"] == 4 and metrics["lr_candidates_run"] == 1
    assert result.per_trial()[0]["chosen"] is True and result.per_trial()[0]["valid_nll"] == 8.5


def test_weight_noise_touches_only_the_protocols_noisy_variables():
    from lstm_hist.training.minibatch.callbacks import training_callbacks

    model = build_music_model(unit="gru", units=4, dim=6)
    model.compile(optimizer="sgd", loss="mse")
    protocol = ChungProtocol(weight_noise=0.5, weight_noise_scope="recurrent")
    state = {"current_epoch": 0, "batches_in_epoch": 0}
    callbacks = training_callbacks(protocol, model, state, None, 7, lambda: None, None)
    noise = next(c for c in callbacks if type(c).__name__ == "WeightNoise")
    noise.set_model(model)
    before = [np.array(keras.ops.convert_to_numpy(v.value)) for v in model.trainable_variables]
    noise.on_train_batch_begin(0)
    during = [np.array(keras.ops.convert_to_numpy(v.value)) for v in model.trainable_variables]
    changed = {v.name for v, a, b in zip(model.trainable_variables, before, during) if not np.allclose(a, b)}
    assert changed == {"kernel", "recurrent_kernel"}  # the GRU's matrices; not its bias, not the output layer
    assert sum(not np.allclose(a, b) for a, b in zip(before, during)) == 2
    noise.on_train_batch_end(0)
    for a, v in zip(before, model.trainable_variables):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(v.value), a, atol=1e-6)
