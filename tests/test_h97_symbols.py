"""Exp 2's one-hot inputs fed as symbol indices (reproductions/hochreiter1997/symbols.py, issue 13) against the dense
one-hot path: the same sequences drawn, the same predictions, gradients and weights to float tolerance, per sequence
(fast path) and per step (truncated RTRL)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from reproductions.hochreiter1997 import EXPERIMENTS  # noqa: E402
from reproductions.hochreiter1997.models import build_network  # noqa: E402
from reproductions.hochreiter1997.symbols import feeds_symbols, one_hot, task_for  # noqa: E402
from reproductions.hochreiter1997.tasks.long_lag import (  # noqa: E402
    long_lag, long_lag_2c, long_lag_2c_symbols, long_lag_symbols,
)

jax_only = pytest.mark.skipif(keras.backend.backend() != "jax", reason="symbol inputs ride the JAX fast path")

NET_2C = dict(inputs=14, outputs=2, blocks=2, block_size=1, cell_bias=False, gate_bias=False, output_bias=False,
              init_range=0.2)
NET_2A = dict(inputs=11, outputs=11, blocks=1, block_size=1, output_gate=False, recurrent=False, cell_bias=False,
              gate_bias=False, output_bias=False, cell_input_activation="g1", cell_output_activation="identity",
              outputs_every_step=True, output_sees_inputs=True, init_range=0.2)
TASK_2C = dict(p=10, q=10, max_extra=20)
TASK_2A = dict(p=10)


@pytest.mark.parametrize("dense, symbols, cfg", [
    (long_lag_2c, long_lag_2c_symbols, TASK_2C),
    (long_lag, long_lag_symbols, dict(p=10, random_middle=True)),
    (long_lag, long_lag_symbols, dict(p=10, random_middle=True, end_marker=True)),
    (long_lag, long_lag_symbols, TASK_2A),
])
def test_index_twin_draws_the_same_sequences(dense, symbols, cfg):
    a = dense(np.random.default_rng(7), 9, **cfg)
    b = symbols(np.random.default_rng(7), 9, **cfg)
    assert b.x.dtype == np.int32 and b.x.shape == a.x.shape[:2]
    np.testing.assert_array_equal(a.x, np.eye(a.x.shape[-1] + 1, a.x.shape[-1], dtype=np.float32)[b.x])
    np.testing.assert_array_equal(a.lengths, b.lengths)
    np.testing.assert_array_equal(a.y, b.y)
    assert (a.x.sum(-1) == a.mask()).all()  # one symbol per real step, none on padded ones
    assert dense.symbols is symbols and symbols.dense is dense


def test_one_hot_generators_unchanged():
    """Pinned draws of the one-hot generators (values from main before the index twins existed)."""
    a = long_lag_2c(np.random.default_rng(1), 3, **TASK_2C, final_input=True)
    np.testing.assert_array_equal(a.lengths, [24, 16, 17])
    assert float(a.x.sum()) == 57.0  # one unit on per real step
    np.testing.assert_array_equal(a.x[0, :4].argmax(-1), [11, 12, 2, 8])
    np.testing.assert_array_equal(a.y.argmax(-1), [0, 1, 1])
    c = long_lag_2c(np.random.default_rng(1), 3, **TASK_2C)  # the default: the same draws, the final x|y not fed
    np.testing.assert_array_equal(c.lengths, [23, 15, 16])
    np.testing.assert_array_equal(c.x, a.x[:, :-1] * c.mask()[..., None])
    b = long_lag(np.random.default_rng(2), 2, p=6, random_middle=True)
    np.testing.assert_array_equal(b.x.argmax(-1)[:, :3], [[6, 2, 4], [6, 3, 4]])


def test_one_hot_pads_with_zeros():
    out = np.asarray(one_hot(np.array([[0, 3, 4]]), 4))
    np.testing.assert_array_equal(out, [[[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]])


@jax_only
def test_experiments_feed_indices_on_the_fast_path_only():
    exp = EXPERIMENTS["long_lag_2c"]
    assert feeds_symbols(exp.model(trials=2, **NET_2C))
    assert task_for(exp.task, exp.model(trials=2, **NET_2C)) is long_lag_2c_symbols
    for off in (dict(fast_path=False), dict(symbol_inputs=False), dict(truncate_gradient=False)):
        model = exp.model(trials=2, **NET_2C, **off)
        assert not feeds_symbols(model) and task_for(exp.task, model) is long_lag_2c
    assert not feeds_symbols(EXPERIMENTS["adding"].model(trials=2, inputs=2, outputs=1, blocks=2))


def _train(net, task, cfg, trials, symbols, per_step=False, updates=4):
    from reproductions.hochreiter1997.training.rtrl import RTRLStepper
    from reproductions.hochreiter1997.training.steps import Stepper

    keras.utils.set_random_seed(3)
    model = build_network(trials, seed=11, symbol_inputs=symbols, **net)
    assert feeds_symbols(model) is symbols
    every = bool(net.get("outputs_every_step"))
    stepper = (RTRLStepper(model, 0.5, 0.5, every_step=every) if per_step
               else Stepper(model, keras.optimizers.SGD(0.5), 0.5, every_step=every))
    rng = np.random.default_rng(5)
    preds = []
    for _ in range(updates):
        b = (task.symbols if symbols else task)(rng, trials or 1, **cfg)  # one row per trial
        preds.append(stepper(b.x, b.mask(), b.y, np.ones(trials or 1, dtype=bool)))
    stepper.push()
    b = (task.symbols if symbols else task)(np.random.default_rng(9), 6, **cfg)  # the final weights on fresh data
    preds.append(np.asarray(model.predict_on_batch([b.x, b.mask()])))
    return preds, [np.asarray(v.numpy()) for v in model.trainable_variables]


@jax_only
@pytest.mark.parametrize("name, per_step", [("2c", False), ("2a", False), ("2a", True), ("2c", True)])
@pytest.mark.parametrize("trials", [None, 3])
def test_indices_train_like_one_hot_vectors(name, per_step, trials):
    if per_step and trials is None:
        pytest.skip("per-step RTRL needs trials=N")
    net, task, cfg = (NET_2C, long_lag_2c, TASK_2C) if name == "2c" else (NET_2A, long_lag, TASK_2A)
    fast_preds, fast_weights = _train(net, task, cfg, trials, True, per_step)
    dense_preds, dense_weights = _train(net, task, cfg, trials, False, per_step)
    for a, b in zip(fast_preds, dense_preds):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    moved = 0.0
    for a, b, start in zip(fast_weights, dense_weights, _train(net, task, cfg, trials, False, per_step, 0)[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        moved = max(moved, float(np.abs(b - start).max()))
    assert moved > 1e-3  # the updates changed the weights, so the comparison covers the gradients


@jax_only
def test_index_gradient_equals_one_hot_gradient():
    import jax

    b = long_lag_2c_symbols(np.random.default_rng(0), 4, **TASK_2C)
    x_dense = long_lag_2c(np.random.default_rng(0), 4, **TASK_2C).x
    grads = {}
    for symbols, x in ((True, b.x), (False, x_dense)):
        keras.utils.set_random_seed(3)
        model = build_network(2, seed=11, symbol_inputs=symbols, **NET_2C)
        tv = [v.value for v in model.trainable_variables]

        def loss(tv):
            pred, _ = model.stateless_call(tv, [], [x, b.mask()])
            return ((pred - b.y) ** 2).sum()

        grads[symbols] = jax.grad(loss)(tv)
    for a, c in zip(grads[True], grads[False]):
        assert float(np.abs(np.asarray(c)).max()) > 0
        np.testing.assert_allclose(np.asarray(a), np.asarray(c), rtol=1e-4, atol=1e-7)


def test_chunks_are_sized_on_the_one_hot_generator():
    """A run draws ``chunk`` updates per call of the generator, which decides how the RNG is consumed: indices must
    not change it (2c q=p=1000: one-hot 89 MB per update, so 1 update per draw either way)."""
    from reproductions.hochreiter1997.training.data import chunk_size
    from reproductions.hochreiter1997.training.protocol import OnlineProtocol

    protocol = OnlineProtocol(trials=20, max_sequences=10, window=5, test_sequences=4)
    for cfg in (dict(p=1000, q=1000, max_extra=100), dict(p=200, q=200, max_extra=100)):
        assert chunk_size(long_lag_2c_symbols, cfg, protocol) == chunk_size(long_lag_2c, cfg, protocol)
    assert chunk_size(long_lag_2c_symbols, dict(p=1000, q=1000, max_extra=100), protocol) == 1
