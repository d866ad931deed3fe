"""The numba stepper (reproductions/hochreiter1997/training/numba_step.py, fast_numba.py) against the Keras
model's own update (the JAX fast path's closed-form truncated gradient): the same outputs and the same weights
after several online updates, to float tolerance; where it applies and where it refuses; an online run of a
row gives the same record either way."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("numba")

from lstm_hist.errors import UserError  # noqa: E402
from reproductions.hochreiter1997.models import build_network  # noqa: E402
from reproductions.hochreiter1997.training.numba_step import NumbaStepper, choose, unsupported  # noqa: E402
from reproductions.hochreiter1997.training.protocol import OnlineProtocol  # noqa: E402
from reproductions.hochreiter1997.training.steps import Stepper  # noqa: E402

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="compared with the JAX fast path")

NETS = {
    # Exp 4 (adding): 2 blocks of 2, every bias, input-gate biases, 2 inputs
    "adding": dict(inputs=2, outputs=1, blocks=2, block_size=2, input_gate_bias=[-3.0, -6.0]),
    # Exp 3: 3 blocks of 1, biases on cells and gates, none on the output unit, 1 input
    "two_sequence": dict(inputs=1, outputs=1, blocks=3, block_size=1, output_bias=False,
                         input_gate_bias=[-1.0, -3.0, -5.0], output_gate_bias=[-2.0, -4.0, -6.0]),
    # 2c: no biases at all, one-hot inputs given as symbol indices
    "2c": dict(inputs=9, outputs=2, blocks=2, block_size=1, cell_bias=False, gate_bias=False, output_bias=False,
               init_range=0.2, symbol_inputs=True),
    # logistic g, identity h, initial activations 0.5 (H4)
    "g1_identity": dict(inputs=3, outputs=2, blocks=2, block_size=2, cell_input_activation="g1",
                        cell_output_activation="identity", initial_activation=0.5),
}


def _batch(rng, trials, net, steps=17):
    lengths = rng.integers(steps // 2, steps + 1, size=trials)
    lengths[0] = steps
    mask = np.arange(steps)[None, :] < lengths[:, None]
    if net.get("symbol_inputs"):
        x = np.where(mask, rng.integers(0, net["inputs"], size=(trials, steps)), net["inputs"]).astype("int32")
    else:
        x = (rng.uniform(-1, 1, size=(trials, steps, net["inputs"])) * mask[..., None]).astype("float32")
    y = rng.uniform(0, 1, size=(trials, net["outputs"])).astype("float32")
    return x, mask, y


def _build(net, trials):
    keras.utils.set_random_seed(3)
    model = build_network(trials, seed=11, **net)
    return model, keras.optimizers.SGD(0.5)


@pytest.mark.parametrize("name", sorted(NETS))
def test_numba_update_matches_the_keras_step(name):
    net, trials = NETS[name], 4
    reference, opt_ref = _build(net, trials)
    model, opt = _build(net, trials)
    keras_step = Stepper(reference, opt_ref, 0.5)
    numba_step = NumbaStepper(model, opt, 0.5, 0.5)
    rng = np.random.default_rng(5)
    active = np.array([True, True, False, True])  # trial 2 frozen: its weights must not move
    before = [np.array(v.numpy()) for v in model.trainable_variables]
    for _ in range(5):
        x, mask, y = _batch(rng, trials, net)
        want = keras_step(x, mask, y, active)
        got = numba_step(x, mask, y, active)
        np.testing.assert_allclose(got[active], want[active], rtol=1e-5, atol=1e-6)
        assert np.isnan(got[~active]).all()  # a frozen trial is not computed
    keras_step.push()
    numba_step.push()
    for mine, theirs, start in zip(model.trainable_variables, reference.trainable_variables, before, strict=True):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-6, err_msg=mine.path)
        np.testing.assert_array_equal(mine.numpy()[2], start[2])  # the frozen trial
        assert np.abs(mine.numpy() - start).max() > 0  # every group learnt something
    assert int(opt.iterations.numpy()) == int(opt_ref.iterations.numpy()) == 5


def test_data_for_some_trials_update_those_trials_alone():
    """``rows``: the data hold the active trials only (as .online draws them once a trial is done); the same
    update as the full data, the other trials untouched and NaN in the outputs."""
    net, trials = NETS["2c"], 4
    full_model, opt = _build(net, trials)
    part_model, opt2 = _build(net, trials)
    full, part = NumbaStepper(full_model, opt, 0.5, 0.5), NumbaStepper(part_model, opt2, 0.5, 0.5)
    rng = np.random.default_rng(7)
    active, rows = np.array([False, True, False, True]), np.array([1, 3])
    for _ in range(3):
        x, mask, y = _batch(rng, trials, net)
        want = full(x, mask, y, active)
        got = part(x[rows], mask[rows], y[rows], active, rows=rows)
        np.testing.assert_array_equal(got[rows], want[rows])
        assert np.isnan(got[[0, 2]]).all()
    full.push()
    part.push()
    for a, b in zip(full_model.get_weights(), part_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["adding", "2c"])
def test_threads_split_the_trials_without_changing_a_bit(name):
    """The update's prange hands each thread whole trials; each trial's chain of steps is computed as on one
    thread, so 1 and 2 threads give the same outputs and weights bit for bit (also with a frozen trial), and the
    forward pass likewise."""
    import numba

    net, trials = NETS[name], 5
    models = [_build(net, trials) for _ in range(2)]
    steppers = [NumbaStepper(model, opt, 0.5, 0.5) for model, opt in models]
    rng = np.random.default_rng(13)
    active = np.array([True, False, True, True, True])
    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    try:
        for _ in range(4):
            x, mask, y = _batch(rng, trials, net, steps=40)
            numba.set_num_threads(1)
            want = steppers[0](x, mask, y, active)
            numba.set_num_threads(threads)
            got = steppers[1](x, mask, y, active)
            np.testing.assert_array_equal(got, want)
        seqs = [_batch(rng, trials, net) for _ in range(3)]
        x, mask = (np.stack([b[k] for b in seqs], axis=1) for k in (0, 1))
        from reproductions.hochreiter1997.training.data import predict_trials

        numba.set_num_threads(1)
        want = predict_trials(steppers[0].on_trials(None), x, mask)
        numba.set_num_threads(threads)
        np.testing.assert_array_equal(predict_trials(steppers[1].on_trials(None), x, mask), want)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for stepper in steppers:
        stepper.push()
    for a, b in zip(models[0][0].get_weights(), models[1][0].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_numba_stepper_rejects_a_mask_with_a_hole():
    net = NETS["adding"]
    model, opt = _build(net, 2)
    x, mask, y = _batch(np.random.default_rng(0), 2, net)
    mask[0, 3] = False
    with pytest.raises(ValueError, match="prefix"):
        NumbaStepper(model, opt, 0.5, 0.5)(x, mask, y, np.ones(2, bool))


def test_where_the_numba_update_applies():
    model, _ = _build(NETS["adding"], 2)
    assert unsupported(model, OnlineProtocol()) is None
    assert choose(model, OnlineProtocol()) == "numba"  # auto, on JAX
    assert choose(model, OnlineProtocol(kernel="keras")) == "keras"
    assert "per-sequence" in unsupported(model, OnlineProtocol(update="per_step"))
    assert "sgd" in unsupported(model, OnlineProtocol(optimizer="adam"))
    every_step, _ = _build(dict(NETS["adding"], outputs_every_step=True), 2)
    assert unsupported(every_step, OnlineProtocol(target="every_step")) is not None
    no_gate, _ = _build(dict(inputs=3, outputs=2, blocks=1, output_gate=False), 2)
    assert "output gates" in unsupported(no_gate, OnlineProtocol())
    with pytest.raises(UserError, match="kernel 'numba' does not apply"):
        choose(no_gate, OnlineProtocol(kernel="numba"))
    assert choose(no_gate, OnlineProtocol()) == "keras"
    generic, _ = _build(dict(NETS["adding"], fast_path=False), 2)
    assert choose(generic, OnlineProtocol()) == "keras"  # fast_path: false asks for the generic loop
    with pytest.raises(UserError, match="protocol.kernel must be"):
        OnlineProtocol(kernel="cuda")


def test_kernel_numba_on_a_per_step_row_is_an_error_not_ignored():
    from lstm_hist.runner import resolve
    from reproductions.hochreiter1997.training.online import build_learner

    _, _, experiment, cfg = resolve("hochreiter1997/reber_3x2_lr05", smoke=True, overrides=["protocol.kernel=numba"])
    with pytest.raises(UserError, match="per-sequence updates"):
        build_learner(experiment, cfg["model"], experiment.protocol(**cfg["protocol"]), 0)


@pytest.mark.parametrize("row", ["hochreiter1997/two_sequence_3a_t100_n3", "hochreiter1997/long_lag_2c_q50_p50"])
def test_a_row_gives_the_same_record_with_either_stepper(row, tmp_path):
    from lstm_hist.runner import resolve

    _, _, experiment, cfg = resolve(row, smoke=True, overrides=[])
    results = {}
    for kernel in ("keras", "numba"):
        protocol = experiment.protocol(**{**cfg["protocol"], "kernel": kernel})
        results[kernel] = protocol.run(experiment=experiment, task_cfg=cfg["task"], model_cfg=cfg["model"], seed=0,
                                       workdir=tmp_path / kernel)
    want, got = results["keras"], results["numba"]
    assert got.sequences_seen == want.sequences_seen
    np.testing.assert_array_equal(got.solved, want.solved)
    np.testing.assert_array_equal(got.sequences, want.sequences)
    for a, b in zip(got.final_weights or [], want.final_weights or [], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_a_check_set_run_with_frozen_trials_gives_the_keras_run(tmp_path):
    """Exp 3's criterion in the run loop with three of four trials frozen (as a resumed run finds them): the numba
    stepper, drawing data for the active trial only and checking it with its own forward pass, gives the Keras
    step's run (which compacts and checks through the model): the same ST1/ST2 counts and weights."""
    import dataclasses

    from lstm_hist.runner import resolve
    from reproductions.hochreiter1997.training.online import OnlineRun

    _, _, experiment, cfg = resolve("hochreiter1997/two_sequence_3a_t100_n3", smoke=False, overrides=[])
    base = experiment.protocol(**{**cfg["protocol"], "trials": 4, "check_sequences": 8, "check_every": 20,
                                  "max_sequences": 200, "checkpoint_every": 100, "test_sequences": 8})
    results, runs = [], []
    for kernel in ("keras", "numba"):
        run = OnlineRun(dataclasses.replace(base, kernel=kernel), experiment, {**cfg["task"], "min_length": 20},
                        {**cfg["model"], "seed": 4}, 0, tmp_path / kernel, None, 50)
        run.counters.solved[:3] = True
        if kernel == "numba":
            calls, on_trials = [], run.stepper.on_trials
            run.stepper.on_trials = lambda rows: calls.append(len(rows)) or on_trials(rows)  # the active trial only
        runs.append(run)
        results.append(run.result(run.train()))
    assert type(runs[1].stepper).__name__ == "NumbaStepper" and calls == [1] * 10  # 200 / 20 checks, its own pass
    want, got = results
    np.testing.assert_array_equal(got.st1_at, want.st1_at)
    np.testing.assert_array_equal(got.sequences, want.sequences)
    for a, b in zip(got.final_weights, want.final_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert got.metrics()["updates_computed_by"] == "numba" and want.metrics()["updates_computed_by"] == "keras"


@pytest.mark.parametrize("name", ["two_sequence", "2c"])
def test_the_forward_pass_gives_the_models_outputs(name):
    """The check's outputs (NumbaStepper.predict) equal the Keras model's (predict_trials) for every trial, and for
    some trials only; a sequence's outputs do not depend on the batch it is in."""
    from reproductions.hochreiter1997.training.data import predict_trials

    net, trials = NETS[name], 3
    model, opt = _build(net, trials)
    stepper = NumbaStepper(model, opt, 0.5, 0.5)
    rng = np.random.default_rng(9)
    batches = [_batch(rng, trials, net) for _ in range(5)]  # 5 sequences per trial
    x = np.stack([b[0] for b in batches], axis=1)
    mask = np.stack([b[1] for b in batches], axis=1)
    want = predict_trials(model, x if net.get("symbol_inputs") else x, mask)
    got = predict_trials(stepper.on_trials(None), x, mask)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    some = predict_trials(stepper.on_trials(np.array([2, 0])), x[[2, 0], :2], mask[[2, 0], :2])
    np.testing.assert_array_equal(some, got[[2, 0], :2])
