"""Compaction of the trial axis (reproductions/hochreiter1997/training/compact.py, issue 17): once few trials are
active, only they are computed and drawn for; the run's numbers, checkpoints and fingerprint stay those of the
full computation."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lstm_hist import run_state, seeds  # noqa: E402
from reproductions.hochreiter1997 import EXPERIMENTS  # noqa: E402
from reproductions.hochreiter1997.symbols import task_for  # noqa: E402
from reproductions.hochreiter1997.construction import mask_layer  # noqa: E402
from reproductions.hochreiter1997.training.compact import stepper_state as state_of  # noqa: E402
from reproductions.hochreiter1997.training.compact import bucket, trial_compaction  # noqa: E402
from reproductions.hochreiter1997.training.data import TrainingData  # noqa: E402
from reproductions.hochreiter1997.training.online import OnlineRun, build_learner, build_unseeded  # noqa: E402
from reproductions.hochreiter1997.training.protocol import OnlineProtocol  # noqa: E402

jax_only = pytest.mark.skipif(keras.backend.backend() != "jax", reason="compaction: JAX only")

ADDING = EXPERIMENTS["adding"]
MODEL = dict(inputs=2, outputs=1, blocks=2, block_size=2, input_gate_bias=[-3.0, -6.0], init_range=0.1)
TASK = dict(min_length=10)
# As tests/test_h97_block_steps.py: at seed 3 four of 5 trials are solved at different counts, one trains on, so
# the run switches to 2 and then 1 computed trials mid-way.
PROTOCOL = dict(trials=5, max_sequences=400, criterion="window", threshold=0.2, window=9, test_sequences=16,
                checkpoint_every=200, learning_rate=1.0, kernel="keras")  # the Keras step's blocks and compaction
TASK_2C = dict(p=10, q=10, max_extra=20)
NET_2C = dict(inputs=14, outputs=2, blocks=2, block_size=1, cell_bias=False, gate_bias=False, output_bias=False,
              init_range=0.2)


def test_bucket_is_a_power_of_two_up_to_half_the_trials():
    assert [bucket(a, 20) for a in (0, 1, 2, 3, 5, 8, 9, 10, 20)] == [None, 1, 2, 4, 8, 8, None, None, None]
    assert [bucket(a, 5) for a in (1, 2, 3)] == [1, 2, None]


def _run(tmp_path, name, compact, k=1, progress=None, resume=False, **extra):
    protocol = OnlineProtocol(**{**PROTOCOL, "updates_per_call": k, "compact_trials": compact, **extra})
    run = OnlineRun(protocol, ADDING, TASK, MODEL, 3, tmp_path / name, progress, 50)
    if resume:
        run.restore()
    return run, run.result(run.train())


def _assert_same_run(a, b, tmp_path, names):
    np.testing.assert_array_equal(a.sequences, b.sequences)
    np.testing.assert_array_equal(a.solved, b.solved)
    assert a.sequences_seen == b.sequences_seen
    np.testing.assert_allclose(a.window_correct_fraction, b.window_correct_fraction)
    for x, y in zip(a.final_weights, b.final_weights):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    for key in ("test_mse", "test_wrong"):
        np.testing.assert_allclose(a.test[key], b.test[key], rtol=1e-5, atol=1e-7)
    first, second = (np.load(tmp_path / n / "checkpoint.npz") for n in names)
    assert first.files == second.files
    for key in first.files:
        np.testing.assert_allclose(first[key], second[key], rtol=1e-5, atol=1e-6, err_msg=key)


@jax_only
# k = 7 (blocks of updates, cut where trials freeze) compiles a step per block shape: ~1 min, so -m slow.
@pytest.mark.parametrize("k", [1, pytest.param(7, marks=pytest.mark.slow)])
def test_compacted_run_equals_the_full_run(tmp_path, k):
    full_run, full = _run(tmp_path, "full", False, k)
    run, compact = _run(tmp_path, "compact", True, k)
    assert full.solved.sum() == 4 and len(set(full.sequences[full.solved])) >= 2  # the switch happens mid-run
    assert full_run.compaction is None and sorted(run.compaction._buckets) == [1, 2]  # it did compact, twice
    _assert_same_run(full, compact, tmp_path, ("full", "compact"))


@jax_only
def test_a_full_checkpoint_resumes_compacted_to_the_same_run(tmp_path):
    """A kept checkpoint of the full computation (all trials drawn) resumes compacted: same run as never stopped."""
    def stop(info):
        if info["sequences"] >= 150:
            raise KeyboardInterrupt

    _, whole = _run(tmp_path, "whole", False, checkpoint_every=50)
    _, stopped = _run(tmp_path, "split", False, progress=stop, checkpoint_every=50)
    assert stopped.status == "interrupted" and stopped.sequences_seen == 150
    run, resumed = _run(tmp_path, "split", True, resume=True, checkpoint_every=50)
    assert sorted(run.compaction._buckets) == [1, 2]  # resumed at 100 with 2 trials active, then 1
    assert resumed.repeated_sequences == 50
    _assert_same_run(whole, resumed, tmp_path, ("whole", "split"))


def test_compact_trials_stays_out_of_the_fingerprint():
    off = OnlineProtocol(**{**PROTOCOL, "compact_trials": False})
    on = OnlineProtocol(**PROTOCOL)
    assert on.compact_trials is True
    assert run_state.fingerprint(TASK, MODEL, on, 0, "jax") == run_state.fingerprint(TASK, MODEL, off, 0, "jax")
    other = OnlineProtocol(**{**PROTOCOL, "learning_rate": 0.5})
    assert run_state.fingerprint(TASK, MODEL, on, 0, "jax") != run_state.fingerprint(TASK, MODEL, other, 0, "jax")


RESULTS = Path(__file__).resolve().parents[1] / "results"


def _resumed_runs() -> list[tuple[str, str, int, str]]:
    """(name, row, seed, fingerprint) of every kept archive (``<row>-seed<S>-<fp12>.tgz``) and of every completed
    record that resumed across segments and was made with the row's config of today (an earlier config's
    fingerprint differs by design)."""
    import json

    from lstm_hist.registry import load

    runs = []
    for archive in sorted((RESULTS / "checkpoints" / "hochreiter1997").glob("*.tgz")):
        row, seed, fp = re.fullmatch(r"(.+)-seed(\d+)-([0-9a-f]{12})", archive.stem).groups()
        runs.append((archive.stem, row, int(seed), fp))
    for path in sorted((RESULTS / "hochreiter1997").glob("*.json")):
        record = json.loads(path.read_text())
        if record.get("status") != "completed" or (record.get("run") or {}).get("segments", 1) < 2:
            continue
        cfg = load(record["id"])[3]
        if all(record["config"].get(k) == cfg[k] for k in ("task", "model", "protocol")):
            runs.append((path.stem, record["id"].split("/", 1)[1], int(record["seeds"]["base"]),
                         record["fingerprint"][:12]))
    return runs


RESUMED = _resumed_runs()


def test_there_are_resumed_runs_to_check():
    assert len(RESUMED) >= 10  # 13 records resumed across segments as of 2026-12-03; none may silently drop out


@pytest.mark.parametrize("name, row, seed, fp", RESUMED, ids=[r[0] for r in RESUMED])
def test_the_resumed_runs_keep_their_fingerprint(name, row, seed, fp):
    """A kept archive (e.g. 2c q=200's ``…-seed0-5b5099f101a4``) or a record completed over several segments must
    still be its row's checkpoint: no protocol field added since (compaction, the kernel) moved the fingerprint."""
    from lstm_hist.registry import load

    _, _, experiment, cfg = load(f"hochreiter1997/{row}")
    protocol = experiment.protocol(**cfg["protocol"])
    assert run_state.fingerprint(cfg["task"], cfg["model"], protocol, seed, "jax")[:12] == fp


@pytest.mark.parametrize("name, cfg, fixed_sets", [("long_lag_2c", TASK_2C, 0), ("embedded_reber", {}, 2)])
def test_drawing_some_trials_gives_exactly_their_sequences(name, cfg, fixed_sets):
    exp = EXPERIMENTS[name]
    protocol = OnlineProtocol(kernel="keras", trials=6, fixed_sets=fixed_sets)
    every = TrainingData(exp.task, cfg, protocol, 1, seeds.trial_streams(1, "train", 6)).draw(5)
    rows = np.array([1, 4])
    some = TrainingData(exp.task, cfg, protocol, 1, seeds.trial_streams(1, "train", 6)).draw(5, 0, rows)
    for full, part in zip(every, some):
        full = full[:, rows]
        if full.ndim > 2:  # padded to the longest sequence drawn: compare the common steps, the rest is padding
            steps = part.shape[2]
            assert not full[:, :, steps:].any()
            full = full[:, :, :steps]
        np.testing.assert_array_equal(full, part)


NET_2A = dict(inputs=11, outputs=11, blocks=1, block_size=1, output_gate=False, recurrent=False, cell_bias=False,
              gate_bias=False, output_bias=False, cell_input_activation="g1", cell_output_activation="identity",
              outputs_every_step=True, output_sees_inputs=True, init_range=0.2, initial_blocks=0)


@jax_only
@pytest.mark.parametrize("name, net, task_cfg, update", [
    ("long_lag_2c", NET_2C, TASK_2C, "per_sequence"),  # 2c on symbol indices, autodiff
    ("long_lag", NET_2A, dict(p=10), "per_step"),  # 2a: per-step RTRL with sequential construction
    ("long_lag", NET_2A, dict(p=10), "per_sequence"),  # 2a's net, autodiff, the construction mask a model weight
])
def test_compacted_updates_agree_with_the_full_step(name, net, task_cfg, update):
    """6 updates of 4 trials, trial 0 frozen after the second (the bucket changes inside), full vs compacted."""
    exp = EXPERIMENTS[name]
    every = bool(net.get("outputs_every_step"))
    protocol = OnlineProtocol(kernel="keras", trials=4, learning_rate=0.5, update=update, target="every_step" if every else "end")
    model_cfg = {**net, "seed": 5}
    built = [build_learner(exp, model_cfg, protocol, 0) for _ in range(2)]
    if net.get("initial_blocks") is not None:  # trials at different construction stages
        for model, _, stepper in built:
            stepper.push()
            mask_layer(model).set_blocks(np.array([0, 1, 1, 0]))  # trial 1: not the small net's 0
            stepper.pull()
    (model, _, full), (_, _, other) = built
    compaction = trial_compaction(protocol, other, lambda size: build_unseeded(
        exp, model_cfg, dataclasses.replace(protocol, trials=size))[2])
    x, mask, y = TrainingData(task_for(exp.task, model), task_cfg, protocol, 0,
                              seeds.trial_streams(0, "train", 4)).draw(6)
    active = np.array([True, True, False, False])
    for i in range(6):
        if i == 2:
            active[0] = False  # 2 → 1 active
        a = full(x[i], mask[i], y[i], active)
        b = compaction(x[i], mask[i], y[i], active)
        np.testing.assert_allclose(a[active], b[active], rtol=1e-6, atol=1e-7)
        assert (b[~active] == 0).all()
    for u, v in zip(sum(state_of(full), []), sum(state_of(other), [])):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-6, atol=1e-7)
    assert sorted(compaction._buckets) == [1, 2]


def _three_a(trials=4):
    from lstm_hist.registry import load

    _, _, exp, cfg = load("hochreiter1997/two_sequence_3a_t100_n1")
    protocol = exp.protocol(**{**cfg["protocol"], "trials": trials, "check_sequences": 8, "kernel": "keras"})
    task = {**cfg["task"], "min_length": 20}
    return exp, {**cfg["model"], "seed": 4}, task, protocol


@jax_only
@pytest.mark.parametrize("case", ["3a", "2a_rtrl_construction"])
def test_the_check_of_the_active_trials_sees_their_weights(case):
    """The periodic check (Exp 3's check sets) runs on the bucket's net: the active trials' outputs equal the full
    net's, also with sequential construction under RTRL (whose push leaves the cells-present factor out)."""
    from reproductions.hochreiter1997.training.checks import make_checker
    from reproductions.hochreiter1997.training.data import predict_trials

    if case == "3a":
        exp, model_cfg, task_cfg, protocol = _three_a()
    else:
        exp, model_cfg, task_cfg = EXPERIMENTS["long_lag"], {**NET_2A, "seed": 5}, dict(p=10)
        protocol = OnlineProtocol(kernel="keras", trials=4, update="per_step", target="every_step", check_sequences=8)
    model, _, stepper = build_learner(exp, model_cfg, protocol, 0)
    if case != "3a":
        stepper.push()
        mask_layer(model).set_blocks(np.array([0, 1, 1, 0]))
        stepper.pull()
    compaction = trial_compaction(protocol, stepper, lambda size: build_unseeded(
        exp, model_cfg, dataclasses.replace(protocol, trials=size))[2])
    task = task_for(exp.task, model)
    x, mask, _ = TrainingData(task, task_cfg, protocol, 0, seeds.trial_streams(0, "check", 4)).draw(8)
    x, mask = np.swapaxes(x, 0, 1), np.swapaxes(mask, 0, 1)  # (N, k, …)

    def outputs(net, rows=None, active=None, at=0):  # a "check" returning each trial's summed outputs, not met / st1
        pred = predict_trials(net, x if rows is None else x[rows], mask if rows is None else mask[rows])
        return pred.reshape(pred.shape[0], -1).sum(-1), None

    active = np.array([False, True, False, True])
    stepper.push()
    full, _ = outputs(model)
    stepper.pull()
    few, _ = compaction.check(outputs, active)
    np.testing.assert_allclose(few[active], full[active], rtol=1e-5)
    assert (few[~active] == 0).all() and len(set(full[active])) == 2
    if case == "3a":  # the real check set, with rows
        check = make_checker(task, task_cfg, protocol, 0, 4, None)
        stepper.push()
        met, st1 = check(model)
        stepper.pull()
        few_met, few_st1 = compaction.check(check, active)
        np.testing.assert_array_equal(few_met[active], met[active])
        np.testing.assert_array_equal(few_st1[active], st1[active])


@jax_only
def test_a_check_set_run_with_frozen_trials_equals_the_full_run(tmp_path):
    """Exp 3's criterion in the run loop: three trials frozen (as a resumed run finds them), the fourth trained and
    checked on the bucket's net: the same weights, counts and checkpoint as the full computation."""
    exp, model_cfg, task_cfg, protocol = _three_a()
    results = []
    for compact in (False, True):
        p = dataclasses.replace(protocol, compact_trials=compact, check_every=20, max_sequences=200,
                                checkpoint_every=100, test_sequences=8)
        run = OnlineRun(p, exp, task_cfg, model_cfg, 0, tmp_path / str(compact), None, 50)
        run.counters.solved[:3] = True
        if compact:
            calls = []
            original = run.compaction.check
            run.compaction.check = lambda *a, **k: calls.append(1) or original(*a, **k)
        results.append(run.result(run.train()))
    assert len(calls) == 10  # every 20th of 200 sequences, on the bucket's net
    full, compact = results
    np.testing.assert_array_equal(full.st1_at, compact.st1_at)
    np.testing.assert_array_equal(full.sequences, compact.sequences)
    for a, b in zip(full.final_weights, compact.final_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    first, second = (np.load(tmp_path / n / "checkpoint.npz") for n in ("False", "True"))
    for key in first.files:
        np.testing.assert_allclose(first[key], second[key], rtol=1e-5, atol=1e-6, err_msg=key)
