"""The fast Chung path (reproductions.chung2014.fast_rnn) against the generic keras.layers.RNN path, and the
padding cut (lstm_hist.training.trim): same outputs, loss and gradients to float tolerance.

The in-process tests run under the session's backend (JAX by default); ``test_agreement_on_other_backends`` reruns
the agreement check in a subprocess under every other installed backend (the fast layer is written in keras.ops).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lstm_hist.evaluation.metrics import frame_nll_loss  # noqa: E402
from lstm_hist.training.trim import bucket_length, trim_padding  # noqa: E402
from reproductions.chung2014.fast_rnn import FastRecurrent  # noqa: E402
from reproductions.chung2014.models import build_music_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "tanh": dict(unit="tanh"),
    "gru": dict(unit="gru"),  # Chung §3.2: reset before U, h = (1 − z) h₋₁ + z h̃
    "gru_v1_cho": dict(unit="gru", gru_reset_after=True, gru_update_convention="cho"),
    "lstm": dict(unit="lstm"),
}


def _data(seed=0, batch=3, steps=9, dim=6):
    rng = np.random.default_rng(seed)
    x = (rng.uniform(size=(batch, steps, dim)) < 0.4).astype("float32")
    y = (rng.uniform(size=(batch, steps, dim)) < 0.4).astype("float32")
    lengths = np.array([steps, 4, 6][:batch])
    w = (np.arange(steps)[None, :] < lengths[:, None]).astype("float32")
    return x * w[..., None], y * w[..., None], w


def _pair(case, units=5, dim=6):
    generic = build_music_model(units=units, dim=dim, init_range=0.5, fast_path=False, **CASES[case])
    fast = build_music_model(units=units, dim=dim, init_range=0.5, fast_path=True, **CASES[case])
    # Biases are zero-initialised: give them values so the test sees them.
    weights = [w + np.random.default_rng(i).normal(0, 0.3, w.shape).astype(w.dtype)
               for i, w in enumerate(generic.get_weights())]
    generic.set_weights(weights)
    fast.set_weights(weights)
    return generic, fast


def loss_outputs_grads(model, x, y, w):
    """(loss, outputs, gradients of the loss for every trainable weight) as NumPy, on the current backend."""
    loss_fn = frame_nll_loss(from_logits=True)
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        fixed = [v.value for v in model.non_trainable_variables]

        def f(values):
            out, _ = model.stateless_call(values, fixed, x)
            return loss_fn(y, out, sample_weight=w), out

        (loss, out), grads = jax.value_and_grad(f, has_aux=True)(trainable)
    elif backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            out = model(x)
            loss = loss_fn(y, out, sample_weight=w)
        grads = tape.gradient(loss, model.trainable_variables)
    else:  # torch
        import torch

        out = model(x)
        loss = loss_fn(y, out, sample_weight=w)
        grads = torch.autograd.grad(loss, [v.value for v in model.trainable_variables])
    numpy = keras.ops.convert_to_numpy
    return float(numpy(loss)), np.asarray(numpy(out)), [np.asarray(numpy(g)) for g in grads]


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_agrees_with_generic(case):
    generic, fast = _pair(case)
    assert isinstance(fast.get_layer(f"{CASES[case]['unit']}_rnn"), FastRecurrent)
    assert type(generic.get_layer(f"{CASES[case]['unit']}_rnn")) is keras.layers.RNN
    assert [v.path.split("/")[-1] for v in fast.weights] == [v.path.split("/")[-1] for v in generic.weights]
    x, y, w = _data()
    loss_g, out_g, grads_g = loss_outputs_grads(generic, x, y, w)
    loss_f, out_f, grads_f = loss_outputs_grads(fast, x, y, w)
    assert np.abs(out_g).max() > 0.1  # a test with live numbers
    np.testing.assert_allclose(out_f, out_g, rtol=1e-5, atol=1e-5)
    assert loss_f == pytest.approx(loss_g, rel=1e-5)
    assert len(grads_f) == len(grads_g) == len(generic.trainable_variables)
    for gf, gg in zip(grads_f, grads_g):
        assert np.abs(gg).max() > 0  # every weight gets a gradient (biases and peepholes included)
        np.testing.assert_allclose(gf, gg, rtol=1e-4, atol=1e-6)


def test_fast_layer_get_config_roundtrip():
    _, fast = _pair("lstm")
    clone = keras.Model.from_config(fast.get_config())
    clone.set_weights(fast.get_weights())
    x, _, _ = _data()
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(fast(x)), rtol=1e-6, atol=1e-6)


def test_unroll_gives_the_same_outputs():
    _, fast = _pair("gru")
    layer = fast.get_layer("gru_rnn")
    x, _, _ = _data()
    unrolled = FastRecurrent(layer.cell, scan_unroll=4)
    np.testing.assert_allclose(np.asarray(unrolled(x)), np.asarray(layer(x)), rtol=1e-6, atol=1e-6)


def test_uncovered_calls_fall_back_to_the_generic_loop():
    generic, fast = _pair("tanh")
    x, _, _ = _data()
    h0 = np.full((3, 5), 0.3, "float32")
    out_f = fast.get_layer("tanh_rnn")(x, initial_state=[h0])
    out_g = generic.get_layer("tanh_rnn")(x, initial_state=[h0])
    np.testing.assert_allclose(np.asarray(out_f), np.asarray(out_g), rtol=1e-6, atol=1e-6)


def test_bucket_length_bounds():
    for length in range(1, 5000):
        b = bucket_length(length)
        assert length <= b <= max(8, length * 1.125 + 1)
    assert len({bucket_length(n) for n in range(1, 1788)}) < 80  # few shapes to compile


def test_trim_padding_cuts_to_bucket_and_keeps_the_loss():
    x, y, w = _data(steps=40)
    w[:, 20:] = 0  # the longest real sequence ends at step 20
    cut = trim_padding((x, y, w))
    assert cut[0].shape[1] == bucket_length(20) < 40
    assert trim_padding((x, y)) == (x, y)  # no mask: unchanged
    generic, _ = _pair("gru")
    full = loss_outputs_grads(generic, x, y, w)
    part = loss_outputs_grads(generic, *cut)
    assert part[0] == pytest.approx(full[0], rel=1e-6)
    np.testing.assert_allclose(part[1], full[1][:, : cut[0].shape[1]], rtol=1e-6, atol=1e-6)
    for a, b in zip(part[2], full[2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


OTHER_BACKENDS = [b for b in ("tensorflow", "torch", "jax")
                  if b != keras.backend.backend() and importlib.util.find_spec(b) is not None]


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_agreement_on_other_backends(backend):
    code = ("import sys, pytest; sys.exit(pytest.main(['-q', '-x', '-p', 'no:cacheprovider', "
            f"'{Path(__file__).name}', '-k', 'fast_agrees']))")
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "4 passed" in done.stdout
