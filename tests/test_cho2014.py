"""The Cho et al. (2014) GRU cell against an independent NumPy reference, and against keras.layers.GRU.

Runs under whatever KERAS_BACKEND is set (CI should run it under jax and tensorflow).
"""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from reproductions.cho2014 import GRU2014Cell  # noqa: E402

INPUTS, UNITS, STEPS, BATCH = 3, 4, 6, 2


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference_gru(x, Wz, Wr, W, Uz, Ur, U, bz, br, b, reset_after=False, convention="cho"):
    """Eqs. (5)–(8) of Cho et al. 2014 unit by unit, written independently of the layer.

    x: (T, inputs) one sequence; W*: (units, inputs); U*: (units, units); b*: (units,). Returns (T, units).
    """
    units = Uz.shape[0]
    h = np.zeros(units)
    out = []
    for x_t in x:
        h_new = np.zeros(units)
        r_vec = np.array([sigmoid(Wr[j] @ x_t + Ur[j] @ h + br[j]) for j in range(units)])  # (5)
        z_vec = np.array([sigmoid(Wz[j] @ x_t + Uz[j] @ h + bz[j]) for j in range(units)])  # (6)
        for j in range(units):
            if reset_after:  # arXiv v1: r_j [U h]_j
                rec = r_vec[j] * (U[j] @ h)
            else:  # arXiv v3, eq. (8): [U (r ⊙ h)]_j
                rec = U[j] @ (r_vec * h)
            cand = np.tanh(W[j] @ x_t + rec + b[j])
            if convention == "cho":  # (7)
                h_new[j] = z_vec[j] * h[j] + (1 - z_vec[j]) * cand
            else:  # Chung et al. §3.2
                h_new[j] = (1 - z_vec[j]) * h[j] + z_vec[j] * cand
        h = h_new
        out.append(h.copy())
    return np.array(out)


def random_weights(rng):
    w = {k: rng.normal(0, 0.6, (UNITS, INPUTS)) for k in ("Wz", "Wr", "W")}
    w.update({k: rng.normal(0, 0.6, (UNITS, UNITS)) for k in ("Uz", "Ur", "U")})
    w.update({k: rng.normal(0, 0.3, UNITS) for k in ("bz", "br", "b")})
    return w


def keras_layout(w):
    """Our cell's (and keras.layers.GRUCell's) kernel / recurrent_kernel / bias: column blocks [z | r | h]."""
    kernel = np.concatenate([w["Wz"].T, w["Wr"].T, w["W"].T], axis=1)
    recurrent = np.concatenate([w["Uz"].T, w["Ur"].T, w["U"].T], axis=1)
    bias = np.concatenate([w["bz"], w["br"], w["b"]])
    return kernel, recurrent, bias


def run_layer(cell_or_layer, x, weights):
    layer = cell_or_layer if isinstance(cell_or_layer, keras.layers.RNN) or isinstance(
        cell_or_layer, keras.layers.GRU) else keras.layers.RNN(cell_or_layer, return_sequences=True)
    layer.build((None, None, INPUTS))
    layer.set_weights(weights)
    return ops.convert_to_numpy(layer(ops.convert_to_tensor(x.astype("float32"))))


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("convention", ["cho", "chung"])
def test_gru_matches_numpy_reference(reset_after, convention):
    rng = np.random.default_rng(7)
    w = random_weights(rng)
    x = rng.normal(size=(BATCH, STEPS, INPUTS))
    cell = GRU2014Cell(UNITS, reset_after=reset_after, update_convention=convention)
    got = run_layer(cell, x, list(keras_layout(w)))
    for b in range(BATCH):
        want = reference_gru(x[b], **w, reset_after=reset_after, convention=convention)
        np.testing.assert_allclose(got[b], want, rtol=1e-5, atol=1e-5)


def test_v1_and_v3_differ_and_conventions_differ():
    """The switches change the computation (so the reference test above can tell them apart)."""
    rng = np.random.default_rng(1)
    w = random_weights(rng)
    x = rng.normal(size=(BATCH, STEPS, INPUTS))
    outs = {(ra, c): run_layer(GRU2014Cell(UNITS, reset_after=ra, update_convention=c), x, list(keras_layout(w)))
            for ra in (False, True) for c in ("cho", "chung")}
    assert np.abs(outs[(False, "cho")] - outs[(True, "cho")]).max() > 1e-3
    assert np.abs(outs[(False, "cho")] - outs[(False, "chung")]).max() > 1e-3


def test_chung_convention_is_cho_with_negated_update_gate():
    """σ(−a) = 1 − σ(a): negating W_z, U_z, b_z maps Chung's GRU onto Cho's (shared/papers B.1, derived)."""
    rng = np.random.default_rng(2)
    w = random_weights(rng)
    x = rng.normal(size=(BATCH, STEPS, INPUTS))
    chung = run_layer(GRU2014Cell(UNITS, update_convention="chung"), x, list(keras_layout(w)))
    negated = dict(w, Wz=-w["Wz"], Uz=-w["Uz"], bz=-w["bz"])
    cho = run_layer(GRU2014Cell(UNITS, update_convention="cho"), x, list(keras_layout(negated)))
    np.testing.assert_allclose(chung, cho, rtol=1e-5, atol=1e-6)


def test_keras_gru_reset_after_false_equals_v3_cho_at_equal_weights():
    """keras.layers.GRU(reset_after=False) is Cho's eq. (5)–(8) with eq. (7)'s update convention."""
    rng = np.random.default_rng(3)
    w = random_weights(rng)
    x = rng.normal(size=(BATCH, STEPS, INPUTS))
    weights = list(keras_layout(w))
    ours = run_layer(GRU2014Cell(UNITS, reset_after=False, update_convention="cho"), x, weights)
    theirs = run_layer(keras.layers.GRU(UNITS, reset_after=False, return_sequences=True), x, weights)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    # ... but not Chung's convention at the same weights (only with the update gate negated, test above),
    chung = run_layer(GRU2014Cell(UNITS, update_convention="chung"), x, weights)
    assert np.abs(chung - theirs).max() > 1e-3
    # ... and Keras's default reset_after=True is the v1 form, which differs from v3 at equal weights.
    v1_bias = np.stack([keras_layout(w)[2], np.zeros(3 * UNITS)])  # input bias, zero recurrent bias
    default = run_layer(keras.layers.GRU(UNITS, return_sequences=True), x, [weights[0], weights[1], v1_bias])
    assert np.abs(default - theirs).max() > 1e-3


def test_keras_gru_reset_after_true_equals_our_v1_when_its_recurrent_bias_is_zero():
    rng = np.random.default_rng(4)
    w = random_weights(rng)
    x = rng.normal(size=(BATCH, STEPS, INPUTS))
    kernel, recurrent, bias = keras_layout(w)
    ours = run_layer(GRU2014Cell(UNITS, reset_after=True), x, [kernel, recurrent, bias])
    theirs = run_layer(keras.layers.GRU(UNITS, reset_after=True, return_sequences=True), x,
                       [kernel, recurrent, np.stack([bias, np.zeros_like(bias)])])
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_gru_parameter_count_and_no_bias_option():
    cell = GRU2014Cell(46)
    keras.layers.RNN(cell).build((None, None, 96))
    assert sum(int(np.prod(v.shape)) for v in cell.trainable_variables) == 3 * (96 * 46 + 46 * 46 + 46)
    bare = GRU2014Cell(46, use_bias=False)
    keras.layers.RNN(bare).build((None, None, 96))
    assert sum(int(np.prod(v.shape)) for v in bare.trainable_variables) == 3 * (96 * 46 + 46 * 46)


def test_gru_get_config_round_trips():
    cell = GRU2014Cell(5, reset_after=True, update_convention="chung", use_bias=False,
                       kernel_initializer=keras.initializers.RandomUniform(-0.1, 0.1))
    config = cell.get_config()
    again = GRU2014Cell.from_config(config)
    assert again.get_config() == config
    assert (again.units, again.reset_after, again.update_convention, again.use_bias) == (5, True, "chung", False)


@pytest.mark.parametrize("kwargs", [dict(units=0), dict(units=3, update_convention="keras")])
def test_gru_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(k for k in kwargs if k != "units" or kwargs[k] == 0))):
        GRU2014Cell(**kwargs)
