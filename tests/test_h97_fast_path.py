"""The JAX fast path of the 1997 layer (reproductions/hochreiter1997/fast_jax.py) against the generic keras.ops loop:
same predictions, same truncated gradients, same weights after several online updates, to float tolerance."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from reproductions.hochreiter1997.models import build_network  # noqa: E402

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="the fast path is JAX only")

NETS = {
    # adding (Exp 4): 2 blocks of 2, all biases, input-gate biases, end-of-sequence target
    "adding": dict(inputs=2, outputs=1, blocks=2, block_size=2, input_gate_bias=[-3.0, -6.0]),
    # 2c: no biases, one-hot inputs
    "2c": dict(inputs=7, outputs=2, blocks=2, block_size=1, cell_bias=False, gate_bias=False, output_bias=False,
               init_range=0.2),
    # 2a/2b: no output gate, cells see inputs only, g1/identity, outputs at every step see the inputs too
    "2a": dict(inputs=5, outputs=5, blocks=1, block_size=1, output_gate=False, recurrent=False, cell_bias=False,
               gate_bias=False, output_bias=False, cell_input_activation="g1", cell_output_activation="identity",
               outputs_every_step=True, output_sees_inputs=True, init_range=0.2),
    # Exp 1: every-step targets, output gates, initial activation 0.5
    "reber": dict(inputs=7, outputs=7, blocks=3, block_size=2, outputs_every_step=True, initial_activation=0.5,
                  input_gate_bias=[-1.0, -2.0, -3.0], output_gate_bias=[-2.0, -4.0, -6.0]),
}


def _batch(rng, rows, net, steps=13):
    lengths = rng.integers(steps // 2, steps + 1, size=rows)
    lengths[0] = steps
    mask = np.arange(steps)[None, :] < lengths[:, None]
    x = rng.uniform(-1, 1, size=(rows, steps, net["inputs"])).astype("float32") * mask[..., None]
    shape = (rows, steps, net["outputs"]) if net.get("outputs_every_step") else (rows, net["outputs"])
    y = rng.uniform(0, 1, size=shape).astype("float32")
    return x, mask, y


def _train(net, trials, fast, updates=4):
    from reproductions.hochreiter1997.training.steps import Stepper

    keras.utils.set_random_seed(3)
    model = build_network(trials, seed=11, fast_path=fast, **net)
    assert model.get_layer("lstm1997").uses_fast_path() is fast
    stepper = Stepper(model, keras.optimizers.SGD(0.5), 0.5, every_step=bool(net.get("outputs_every_step")))
    rng = np.random.default_rng(5)
    preds = []
    for _ in range(updates):
        x, mask, y = _batch(rng, trials or 1, net)  # the online protocol: one row per trial
        preds.append(stepper(x, mask, y, np.ones(trials or 1, dtype=bool)))
    stepper.push()
    return preds, [np.asarray(v.numpy()) for v in model.trainable_variables]


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("trials", [None, 3])
def test_fast_path_trains_like_the_generic_loop(name, trials):
    fast_preds, fast_weights = _train(NETS[name], trials, True)
    slow_preds, slow_weights = _train(NETS[name], trials, False)
    for a, b in zip(fast_preds, slow_preds):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    moved = 0.0
    for a, b, start in zip(fast_weights, slow_weights, _train(NETS[name], trials, False, updates=0)[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        moved = max(moved, float(np.abs(b - start).max()))
    assert moved > 1e-3  # the updates did change the weights, so the comparison covers the gradients


def test_fast_path_gradients_match_including_inputs():
    import jax

    net = NETS["adding"]
    x, mask, y = _batch(np.random.default_rng(0), 4, net)
    grads = {}
    for fast in (True, False):
        keras.utils.set_random_seed(3)
        model = build_network(2, seed=11, fast_path=fast, **net)
        tv = [v.value for v in model.trainable_variables]

        def loss(tv, x):
            pred, _ = model.stateless_call(tv, [], [x, mask])
            return ((pred - y) ** 2).sum()

        grads[fast] = jax.grad(loss, argnums=(0, 1))(tv, x)
    for a, b in zip(jax.tree_util.tree_leaves(grads[True]), jax.tree_util.tree_leaves(grads[False])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-7)


def test_full_gradient_and_fast_path_false_take_the_generic_loop():
    assert not build_network(None, fast_path=False, **NETS["adding"]).get_layer("lstm1997").uses_fast_path()
    full = build_network(None, truncate_gradient=False, **NETS["adding"])
    assert not full.get_layer("lstm1997").uses_fast_path()
    assert build_network(None, **NETS["adding"]).get_layer("lstm1997").get_config()["fast_path"] is True
