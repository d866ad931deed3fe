"""tools/long_lag_2c_initial_drift.py: its forward pass is the row's net (the model's own outputs at the initial
weights), and it reports per row and trial what docs/deviations.md ("The 2c gap") quotes."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("numba")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="checked against the numba stepper")

SMOKE = ["--set", "task.q=10", "--set", "task.p=10", "--set", "model.inputs=14", "--set", "protocol.trials=3"]


def test_the_forward_pass_gives_the_models_outputs(load_tool):
    from lstm_hist import seeds
    from lstm_hist.runner import resolve
    from reproductions.hochreiter1997.symbols import task_for
    from reproductions.hochreiter1997.training.data import TrainingData
    from reproductions.hochreiter1997.training.online import build_learner

    tool = load_tool("long_lag_2c_initial_drift")
    _, _, experiment, cfg = resolve("hochreiter1997/long_lag_2c_q50_p50", smoke=False, overrides=SMOKE[1::2])
    protocol = dataclasses.replace(experiment.protocol(**cfg["protocol"]), kernel="numba")
    model, _, stepper = build_learner(experiment, cfg["model"], protocol, 0)
    data = TrainingData(task_for(experiment.task, model), cfg["task"], protocol, 0,
                        seeds.trial_streams(0, "train", protocol.trials))
    codes, mask, _ = data.draw(5)
    codes, mask = np.asarray(codes), np.asarray(mask)
    _, y_cells = tool.forward(stepper.kernel, stepper.recurrent, codes, mask.sum(axis=-1))
    want = stepper.predict(codes.transpose(1, 0, 2), mask.transpose(1, 0, 2))  # (N, S, out)
    got = 1.0 / (1.0 + np.exp(-np.einsum("snc,nco->nso", y_cells, stepper.out_kernel)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    s_without, _ = tool.forward(stepper.kernel, stepper.recurrent, codes, mask.sum(axis=-1), gate_input=False)
    s_with, _ = tool.forward(stepper.kernel, stepper.recurrent, codes, mask.sum(axis=-1))
    assert not np.allclose(s_with, s_without)  # the gates' input is what the switch removes


def test_the_profile_reports_each_trial_and_the_records_outcomes(tmp_path, load_tool, capsys):
    from lstm_hist.cli import main

    row = "hochreiter1997/long_lag_2c_q50_p50"
    assert main(["run", row, "--smoke", "--quiet", "--out", str(tmp_path), *SMOKE]) == 0
    (record,) = sorted(tmp_path.glob("hochreiter1997/*.json"))
    out = tmp_path / "drift.json"
    assert load_tool("long_lag_2c_initial_drift").main(
        ["--rows", "long_lag_2c_q50_p50", "--sequences", "4", *SMOKE, "--records", str(record),
         "--out", str(out)]) == 0
    (profile,) = json.loads(out.read_text())
    assert [t["trial"] for t in profile["trials"]] == [0, 1, 2]
    for trial in profile["trials"]:
        assert all(0.0 < v <= 1.0 for v in trial["h_slope"] + trial["h_slope_no_gate_input"])
    (outcome,) = profile["records"]
    assert outcome["cap"] == json.loads(record.read_text())["config"]["protocol"]["max_sequences"]
    assert len(outcome["ranks_of_solved_by_h_slope"]) == len(outcome["solved"])
    assert len(outcome["ranks_of_learning_by_h_slope"]) == len(outcome["learning"]) >= len(outcome["solved"])
    assert "median |s_c(T)|" in capsys.readouterr().out
