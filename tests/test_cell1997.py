"""The 1997 cell against an independent NumPy reference, its parameter count and its gradient properties.

Runs under whatever KERAS_BACKEND is set (CI runs it under jax and tensorflow).
"""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from reproductions.hochreiter1997 import LSTM1997, LSTM1997Cell, build_network  # noqa: E402

EXP4 = dict(inputs=2, outputs=1, blocks=2, block_size=2, input_gate_bias=[-3.0, -6.0], init_range=0.1)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference_forward(x, length, W, b, blocks, block_size, n_in, output_gate=True, g="g2", h="h1", y0=0.0):
    """The paper's equations unit by unit (§4, App. A.1), written independently of the layer.

    W[u_target, u_source] over sources [inputs, cells, input gates, output gates]; b[u_target].
    Targets are ordered [cells, input gates, output gates].
    """
    cells = blocks * block_size
    gates = blocks * (2 if output_gate else 1)
    n_units = cells + gates
    s = np.zeros(cells)
    y_prev = np.full(n_units, y0)  # y^u(t-1) of cells and gates
    for t in range(length):
        source = np.concatenate([x[t], y_prev])
        net = np.array([W[u] @ source + b[u] for u in range(n_units)])
        y_in = sigmoid(net[cells : cells + blocks])
        y_out = sigmoid(net[cells + blocks :]) if output_gate else np.ones(blocks)
        new_y_c = np.zeros(cells)
        for j in range(blocks):
            for v in range(block_size):
                c = j * block_size + v
                gx = 4 * sigmoid(net[c]) - 2 if g == "g2" else sigmoid(net[c])
                s[c] = s[c] + y_in[j] * gx  # CEC: self-weight 1.0
                hx = 2 * sigmoid(s[c]) - 1 if h == "h1" else s[c]
                new_y_c[c] = y_out[j] * hx
        y_prev = np.concatenate([new_y_c, y_in] + ([y_out] if output_gate else []))
    return y_prev[:cells], s


def layer_matrices(cell):
    """The layer's weights as the reference's W (targets × sources) and b."""
    kernel = ops.convert_to_numpy(cell.kernel)
    recurrent = ops.convert_to_numpy(cell.recurrent_kernel)
    W = np.concatenate([kernel, recurrent], axis=0).T
    b = np.concatenate(
        [ops.convert_to_numpy(w) for w in (cell.cell_bias_weight, cell.input_gate_bias_weight, cell.output_gate_bias_weight)]
    )
    return W, b


def test_exp4_network_has_the_papers_93_weights():
    model = build_network(trials=None, **EXP4)
    assert model.count_params() == 93  # Table 7 / Table 10 row 4


def test_trial_network_has_93_weights_per_trial():
    model = build_network(trials=7, **EXP4)
    assert model.count_params() == 7 * 93


def test_gate_biases_start_at_the_papers_values():
    layer = LSTM1997(2, block_size=2, input_gate_bias=[-3.0, -6.0], output_gate_bias=[-1.0, -2.0], trials=3)
    layer.build((None, None, 2))
    np.testing.assert_array_equal(ops.convert_to_numpy(layer.cell.input_gate_bias_weight), [[-3.0, -6.0]] * 3)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer.cell.output_gate_bias_weight), [[-1.0, -2.0]] * 3)
    kernel = ops.convert_to_numpy(layer.cell.kernel)
    assert np.abs(kernel).max() <= 0.1 and kernel.std() > 0.02  # uniform in [-0.1, 0.1]


@pytest.mark.parametrize("block_size,y0", [(1, 0.0), (2, 0.0), (2, 0.5)])
def test_layer_matches_numpy_reference_with_mask(block_size, y0):
    rng = np.random.default_rng(0)
    layer = LSTM1997(3, block_size=block_size, init_range=0.5, initial_activation=y0, seed=1)
    x = rng.uniform(-1, 1, size=(2, 9, 2)).astype("float32")
    lengths = np.array([9, 6])
    mask = np.arange(9)[None, :] < lengths[:, None]
    out = ops.convert_to_numpy(layer(x, mask=mask))
    W, b = layer_matrices(layer.cell)
    for row in range(2):
        expected, _ = reference_forward(x[row], lengths[row], W, b, 3, block_size, 2, y0=y0)
        np.testing.assert_allclose(out[row], expected, rtol=1e-5, atol=1e-6)


def test_cell_in_keras_rnn_matches_the_fast_layer():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(3, 7, 2)).astype("float32")
    fast = LSTM1997(2, block_size=2, init_range=0.5, seed=3)
    fast_out = ops.convert_to_numpy(fast(x))
    rnn = keras.layers.RNN(LSTM1997Cell(2, block_size=2, init_range=0.5, seed=3))
    rnn_out = ops.convert_to_numpy(rnn(x))
    np.testing.assert_allclose(rnn_out, fast_out, rtol=1e-5, atol=1e-6)


def test_exp2_options_match_reference():
    """No output gate, identity h, logistic g, no recurrence (connectivity B), no biases (§5.2)."""
    rng = np.random.default_rng(2)
    layer = LSTM1997(
        1, output_gate=False, recurrent=False, cell_bias=False, gate_bias=False,
        cell_input_activation="g1", cell_output_activation="identity", init_range=0.2, seed=4,
    )  # fmt: skip
    x = rng.uniform(0, 1, size=(1, 5, 4)).astype("float32")
    out = ops.convert_to_numpy(layer(x))
    kernel = ops.convert_to_numpy(layer.cell.kernel)
    W = np.concatenate([kernel, np.zeros((2, 2))], axis=0).T  # sources: inputs only
    expected, _ = reference_forward(x[0], 5, W, np.zeros(2), 1, 1, 4, output_gate=False, g="g1", h="identity")
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)
    assert layer.cell.kernel.shape == (4, 2) and layer.cell.recurrent_kernel is None


def test_golden_number_at_constant_weights():
    """Pinned output at constant weights (0.1 everywhere, gate biases -1/-2), x_t = (0.5, -0.5)."""
    layer = LSTM1997(2, block_size=2, input_gate_bias=[-1.0, -2.0], output_gate_bias=[-1.0, -2.0])
    x = np.tile(np.array([[0.5, -0.5]], dtype="float32"), (1, 4, 1))
    layer.build(x.shape)
    for weight in (layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.cell_bias_weight):
        weight.assign(np.full(weight.shape, 0.1, dtype="float32"))
    out = ops.convert_to_numpy(layer(x))[0]
    W, b = layer_matrices(layer.cell)
    expected, _ = reference_forward(x[0], 4, W, b, 2, 2, 2)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    np.testing.assert_allclose(out, [0.0262593, 0.0262593, 0.0052982, 0.0052982], rtol=1e-4)


def test_trials_are_independent_networks():
    """Row b of a trials=N layer equals a plain layer holding trial b's weights."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(3, 6, 2)).astype("float32")
    trial_model = build_network(trials=3, **{**EXP4, "init_range": 0.5})
    out = ops.convert_to_numpy(trial_model([x, np.ones((3, 6), bool)]))
    for b in range(3):
        single = build_network(trials=None, **{**EXP4, "init_range": 0.5})
        single.set_weights([ops.convert_to_numpy(w)[b] for w in trial_model.weights])
        np.testing.assert_allclose(ops.convert_to_numpy(single([x[b : b + 1], np.ones((1, 6), bool)])), out[b : b + 1], rtol=1e-5)


def test_layer_in_sequential_saves_and_loads(tmp_path):
    model = keras.Sequential(
        [keras.Input((None, 2)), LSTM1997(2, block_size=2, input_gate_bias=[-3.0, -6.0]), keras.layers.Dense(1, activation="sigmoid")]
    )
    x = np.random.default_rng(4).uniform(-1, 1, size=(2, 10, 2)).astype("float32")
    before = ops.convert_to_numpy(model(x))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(ops.convert_to_numpy(loaded(x)), before, rtol=1e-6)
    assert loaded.layers[0].get_config()["input_gate_bias"] == [-3.0, -6.0]


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="input_gate_bias"):
        LSTM1997Cell(2, input_gate_bias=[-1.0])
    with pytest.raises(ValueError, match="cell_input_activation"):
        LSTM1997Cell(2, cell_input_activation="tanh")
    with pytest.raises(ValueError, match="blocks"):
        LSTM1997Cell(0)


# --- gradients ------------------------------------------------------------------------------------------


def gradient(fn, *args):
    """Gradient of a scalar ``fn(*args)`` with respect to all args, on the active backend."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [np.asarray(g) for g in jax.grad(fn, argnums=tuple(range(len(args))))(*args)]
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.Variable(a) for a in args]
        with tf.GradientTape() as tape:
            value = fn(*tensors)
        return [g.numpy() if g is not None else np.zeros_like(a) for g, a in zip(tape.gradient(value, tensors), args)]
    import torch

    tensors = [torch.tensor(a, requires_grad=True) for a in args]
    grads = torch.autograd.grad(fn(*tensors), tensors, allow_unused=True)
    return [g.numpy() if g is not None else np.zeros_like(a) for g, a in zip(grads, args)]


def run_states(cell, s0, r0, steps=6):
    x = ops.convert_to_tensor(np.random.default_rng(5).uniform(-1, 1, size=(1, steps, 2)).astype("float32"))
    projected = cell.project_inputs(x)
    states = [s0, r0]
    for t in range(steps):
        _, states = cell.recurrent_step(projected[:, t], states)
    return states


@pytest.mark.parametrize("truncate", [True, False])
def test_cec_carries_error_unchanged_and_truncation_cuts_recurrence(truncate):
    cell = LSTM1997Cell(2, block_size=2, init_range=0.5, truncate_gradient=truncate, seed=7)
    cell.build((None, 2))
    s0 = np.zeros((1, 4), "float32")
    r0 = np.full((1, 8), 0.3, "float32")
    # d s_T[0] / d s_0 and d s_T[0] / d r_0 (the recurrent activations at t = 0)
    ds0, dr0 = gradient(lambda s, r: ops.sum(run_states(cell, s, r)[0][:, 0]), s0, r0)
    if truncate:
        np.testing.assert_allclose(ds0, [[1.0, 0.0, 0.0, 0.0]], atol=1e-7)  # the CEC: error passes unchanged
        np.testing.assert_array_equal(dr0, np.zeros_like(r0))  # truncation: no error through y(t-1)
    else:
        assert np.abs(ds0 - [[1.0, 0.0, 0.0, 0.0]]).max() > 1e-4
        assert np.abs(dr0).max() > 1e-4
