"""Per-step online updates by truncated RTRL (App. A.1): against autodiff, a NumPy step, and trial independence.

Runs under whatever KERAS_BACKEND is set.
"""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from lstm_hist.errors import UserError  # noqa: E402
from lstm_hist.seeds import trial_streams  # noqa: E402
from reproductions.hochreiter1997.training.data import draw_chunk  # noqa: E402
from reproductions.hochreiter1997.training.online import train_online  # noqa: E402
from reproductions.hochreiter1997.training.protocol import OnlineProtocol  # noqa: E402
from reproductions.hochreiter1997.training.rtrl import NetSpec, RTRLStepper, forward_step, initial_carry, train_sequence  # noqa: E402
from reproductions.hochreiter1997.training.steps import Stepper  # noqa: E402
from reproductions.hochreiter1997 import EXPERIMENTS  # noqa: E402

# Every option the Exp 1/2/4 configs use: biases on all units (Exp 4), gate biases only and blocks of 2 (Exp 1),
# no output gate, g1, identity h, no recurrence, outputs that see the inputs, no biases (Exp 2a/2b).
NETS = {
    "adding": ("adding", dict(min_length=12), dict(inputs=2, outputs=1, blocks=2, block_size=2,
                                                  input_gate_bias=[-3.0, -6.0], init_range=0.1)),
    "reber": ("embedded_reber", dict(max_length=20), dict(inputs=7, outputs=7, blocks=3, block_size=2, cell_bias=False,
                                                          output_bias=False, output_gate_bias=[-1.0, -2.0, -3.0],
                                                          init_range=0.2, outputs_every_step=True)),
    "long_lag": ("long_lag", dict(p=6), dict(inputs=7, outputs=7, blocks=1, output_gate=False, recurrent=False,
                                             output_sees_inputs=True, cell_bias=False, gate_bias=False,
                                             output_bias=False, cell_input_activation="g1",
                                             cell_output_activation="identity", init_range=0.2,
                                             outputs_every_step=True, symbol_inputs=False)),
}  # fmt: skip
# long_lag: one-hot vectors, as the data below are drawn; indices against vectors: tests/test_h97_symbols.py.


def net(name, trials=3, seed=0, **model_overrides):
    experiment, task_cfg, model_cfg = NETS[name]
    keras.utils.set_random_seed(seed)
    model = EXPERIMENTS[experiment].model(trials=trials, **{**model_cfg, **model_overrides})
    return EXPERIMENTS[experiment], task_cfg, model


def data(name, trials=3, count=2, seed=0):
    experiment, task_cfg, _ = NETS[name]
    return draw_chunk(EXPERIMENTS[experiment].task, task_cfg, trial_streams(seed, "train", trials), count)


def weights(model):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in model.trainable_variables]


def packed(spec, values):
    w, v = spec.pack(ops, [ops.convert_to_tensor(a) for a in values])
    return keras.ops.convert_to_numpy(w), keras.ops.convert_to_numpy(v)


def one_pass(x, mask, y, per_step: bool):
    """The weights of a fresh Reber net after one pass over trial 0's sequence, α = 0.5: per-step RTRL updates or
    one autodiff update per sequence."""
    _, _, model = net("reber")
    stepper = (RTRLStepper(model, 0.5, 0.5, every_step=True) if per_step
               else Stepper(model, keras.optimizers.SGD(0.5), 0.5, every_step=True))  # fmt: skip
    stepper(x[0], mask[0], y[0], np.ones(3, bool))
    stepper.push()
    return weights(model)


def test_with_the_error_only_at_the_end_one_per_step_pass_is_the_per_sequence_update():
    """Exp 4's case: one target at the last step, so the per-step pass makes exactly one update, through traces
    accumulated over the whole sequence; it must equal autodiff's truncated-gradient update (golden)."""
    x, mask, y = data("adding")
    results = []
    for per_step in (False, True):
        _, _, model = net("adding")
        stepper = RTRLStepper(model, 0.5, 0.5) if per_step else Stepper(model, keras.optimizers.SGD(0.5), 0.5)
        before = weights(model)
        outputs = [stepper(x[i], mask[i], y[i], np.ones(3, bool)) for i in range(2)]
        stepper.push()
        results.append((before, weights(model), outputs))
    (before, after_seq, out_seq), (_, after_step, out_step) = results
    for b, s, p in zip(before, after_seq, after_step):
        assert np.abs(s - b).max() > 0  # the update did something
        np.testing.assert_allclose(p, s, rtol=0, atol=1e-6)
    for o_seq, o_step in zip(out_seq, out_step):
        assert o_step.shape == o_seq.shape
        np.testing.assert_allclose(o_step, o_seq, rtol=0, atol=1e-6)


def test_a_one_target_sequence_with_every_step_targets_is_the_per_sequence_update():
    """A sequence of length 2: one step with a target (the next symbol), so per-step = per-sequence."""
    x, mask, y = data("reber")
    mask = mask.copy()
    mask[:, :, 2:] = False  # length 2 for every trial
    results = [one_pass(x, mask, y, per_step) for per_step in (False, True)]
    for s, p in zip(*results):
        np.testing.assert_allclose(p, s, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["reber", "long_lag"])
def test_per_step_gradients_sum_to_the_truncated_gradient_of_the_summed_error(name):
    """At α → 0 the weights do not change within the sequence, and the per-step gradients must add up to the
    per-sequence (autodiff, truncated) gradient of ½·Σ_t Σ_k (t_k − y_k)²."""
    x, mask, y = data(name)
    _, _, model = net(name)
    before = weights(model)
    autodiff = Stepper(model, keras.optimizers.SGD(1.0), 0.5, every_step=True)  # leaves w0 − ∂E/∂w
    autodiff(x[0], mask[0], y[0], np.ones(3, bool))
    autodiff.push()
    spec = NetSpec(model)
    w0, v0 = packed(spec, before)
    on = np.zeros(mask[0].shape, np.float32)
    on[:, :-1] = mask[0][:, 1:]
    w, v, _, (grad_w, grad_v) = train_sequence(
        ops, spec, ops.convert_to_tensor(w0), ops.convert_to_tensor(v0), ops.convert_to_tensor(x[0]),
        ops.convert_to_tensor(mask[0].astype(np.float32)), ops.convert_to_tensor(y[0]), ops.convert_to_tensor(on),
        0.0, 0.5, accumulate=True)  # fmt: skip
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(w), w0)  # α = 0: no change within the sequence
    w1, v1 = packed(spec, weights(model))
    assert np.abs(w0 - w1).max() > 1e-5
    np.testing.assert_allclose(keras.ops.convert_to_numpy(grad_w), w0 - w1, rtol=0, atol=2e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(grad_v), v0 - v1, rtol=0, atol=2e-6)


def test_per_step_updates_differ_from_one_update_per_sequence():
    """With a real α the weights change within the sequence: the per-step pass is not the summed update."""
    x, mask, y = data("reber")
    finals = [one_pass(x, mask, y, per_step) for per_step in (False, True)]
    assert max(np.abs(a - b).max() for a, b in zip(*finals)) > 1e-5


def test_a_trials_per_step_updates_depend_only_on_its_own_data_and_frozen_trials_stay():
    x, mask, y = data("reber", count=3)
    other = [a.copy() for a in (x, mask, y)]
    for a, b in zip(other, (x, mask, y)):
        a[:, 2] = b[::-1, 2]  # trial 2 sees its strings in another order
    runs = []
    for stream, frozen in (((x, mask, y), False), (other, True)):
        _, _, model = net("reber")
        stepper = RTRLStepper(model, 0.5, 0.5, every_step=True)
        for i in range(3):
            stepper(*(a[i] for a in stream), np.array([True, True, not frozen]))
        stepper.push()
        runs.append(weights(model))
    _, _, fresh = net("reber")
    for a, b, f in zip(*runs, weights(fresh)):
        np.testing.assert_array_equal(a[:2], b[:2])  # trials 0 and 1: same data, same weights
        np.testing.assert_array_equal(b[2], f[2])  # trial 2 frozen in the second run
    assert any(np.abs(a[2] - f[2]).max() > 0 for a, f in zip(runs[0], weights(fresh)))


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def test_one_step_of_the_traces_against_numpy():
    """App. A.1's trace update for blocks of 2 cells sharing gates (Exp 1), written out unit by unit."""
    _, _, model = net("reber", trials=2, seed=3)
    spec = NetSpec(model)
    rng = np.random.default_rng(1)
    w, v = packed(spec, weights(model))
    n, c, blocks, size, m = 2, spec.cells, spec.blocks, spec.block_size, spec.m
    x_t = np.eye(7, dtype=np.float32)[[1, 4]]
    s = rng.normal(size=(n, c)).astype(np.float32)
    r = rng.uniform(size=(n, spec.units)).astype(np.float32)
    trace_c = rng.normal(size=(n, c, m)).astype(np.float32)
    trace_in = rng.normal(size=(n, c, m)).astype(np.float32)
    state = tuple(ops.convert_to_tensor(a) for a in (s, r, trace_c, trace_in))
    out, new, _ = forward_step(ops, spec, ops.convert_to_tensor(w), ops.convert_to_tensor(v),
                               ops.convert_to_tensor(x_t), state)  # fmt: skip
    new = [keras.ops.convert_to_numpy(a) for a in new]
    for b in range(n):
        u = np.concatenate([x_t[b], r[b], [1.0]])
        net_ = u @ w[b]
        y_in = _sigmoid(net_[c : c + blocks])
        y_out = _sigmoid(net_[c + blocks :])
        y_c = np.zeros(c)
        for cell in range(c):
            j = cell // size  # the block of this cell
            g = 4 * _sigmoid(net_[cell]) - 2
            dg = 4 * _sigmoid(net_[cell]) * (1 - _sigmoid(net_[cell]))
            s_new = s[b, cell] + y_in[j] * g
            np.testing.assert_allclose(new[0][b, cell], s_new, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(new[2][b, cell], trace_c[b, cell] + dg * y_in[j] * u, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(new[3][b, cell], trace_in[b, cell] + g * y_in[j] * (1 - y_in[j]) * u,
                                       rtol=1e-5, atol=1e-6)  # fmt: skip
            y_c[cell] = y_out[j] * (2 * _sigmoid(s_new) - 1)
        np.testing.assert_allclose(new[1][b], np.concatenate([y_c, y_in, y_out]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(out)[b], _sigmoid(np.append(y_c, 1.0) @ v[b]),
                                   rtol=1e-5, atol=1e-6)  # fmt: skip


def test_the_traces_start_at_zero_with_the_configured_initial_activation():
    _, _, model = net("reber", initial_activation=0.5)
    s, r, trace_c, trace_in = (keras.ops.convert_to_numpy(a) for a in initial_carry(ops, NetSpec(model)))
    assert not s.any() and not trace_c.any() and not trace_in.any() and (r == 0.5).all()


def test_pack_and_unpack_round_trip_every_weight():
    for name in NETS:
        _, _, model = net(name)
        spec = NetSpec(model)
        values = weights(model)
        w, v = spec.pack(ops, [ops.convert_to_tensor(a) for a in values])
        for a, b in zip(values, spec.unpack(w, v)):
            np.testing.assert_array_equal(a, keras.ops.convert_to_numpy(b))


def test_per_step_refuses_what_it_does_not_implement():
    with pytest.raises(UserError, match="sgd"):
        OnlineProtocol(update="per_step", optimizer="adam")
    with pytest.raises(UserError, match="update"):
        OnlineProtocol(update="sometimes")
    _, _, model = net("reber", truncate_gradient=False)
    with pytest.raises(UserError, match="truncated"):
        RTRLStepper(model, 0.5, 0.5, every_step=True)


def test_the_layers_are_found_by_type_not_by_name():
    """A 1997 net built under other layer names (another builder's) is read like build_network's, and its per-step
    update is the same; the outputs' view of the inputs (Exp 2a/2b) comes from the output kernel's width. A net
    without the 1997 layers is refused."""
    from reproductions.hochreiter1997.layers import LSTM1997, TrialDense

    for name, sees_inputs in (("reber", False), ("long_lag", True)):
        _, _, model = net(name)
        cfg = NETS[name][2]
        x, mask = keras.Input((None, cfg["inputs"])), keras.Input((None,), dtype="bool")
        cell_args = {k: v for k, v in cfg.items() if k not in ("inputs", "outputs", "outputs_every_step",
                                                                 "output_sees_inputs", "output_bias",
                                                                 "symbol_inputs")}
        cells = LSTM1997(trials=3, return_sequences=True, name="blocks_of_cells", **cell_args)(x, mask=mask)
        seen = keras.layers.Concatenate(name="what_the_outputs_see")([x, cells]) if sees_inputs else cells
        y = TrialDense(cfg["outputs"], use_bias=cfg.get("output_bias", True), trials=3, name="readout")(seen)
        renamed = keras.Model([x, mask], y)
        renamed.set_weights(model.get_weights())
        spec, other = NetSpec(model), NetSpec(renamed)
        assert spec.output_sees_inputs == other.output_sees_inputs == sees_inputs
        xs, masks, ys = data(name)
        ours, theirs = RTRLStepper(model, 0.5, 0.5, every_step=True), RTRLStepper(renamed, 0.5, 0.5, every_step=True)
        np.testing.assert_array_equal(ours(xs[0], masks[0], ys[0], np.ones(3, bool)),
                                      theirs(xs[0], masks[0], ys[0], np.ones(3, bool)))
    x = keras.Input((None, 2))
    plain = keras.Model(x, keras.layers.Dense(1)(keras.layers.LSTM(3)(x)))
    with pytest.raises(UserError, match="one LSTM1997 layer"):
        NetSpec(plain)


def test_per_step_training_runs_and_resumes_through_the_online_protocol(tmp_path):
    experiment, task_cfg, model_cfg = NETS["reber"]
    protocol = OnlineProtocol(trials=2, fixed_sets=2, training_set=12, test_set=12, target="every_step",
                              criterion="legal_next", learning_rate=0.5, max_sequences=40, check_every=20, window=10,
                              checkpoint_every=20, update="per_step")  # fmt: skip
    kwargs = dict(protocol=protocol, experiment=EXPERIMENTS[experiment], task_cfg=task_cfg, model_cfg=model_cfg,
                  seed=0)  # fmt: skip
    first = train_online(**kwargs)
    again = train_online(**kwargs)
    assert first.status == "completed" and first.sequences_seen == 40
    np.testing.assert_array_equal(first.window_correct_fraction, again.window_correct_fraction)  # deterministic


def test_a_per_sequence_checkpoint_is_not_resumed_as_per_step():
    protocol = OnlineProtocol(target="every_step")
    per_step = OnlineProtocol(target="every_step", update="per_step")
    from lstm_hist.run_state import fingerprint

    assert fingerprint({}, {}, protocol, 0) != fingerprint({}, {}, per_step, 0)
