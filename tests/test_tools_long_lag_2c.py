"""tools/long_lag_2c_select_trials.py reruns chosen trials of a row exactly; tools/long_lag_2c_stuck_profile.py reads
what a 2c net stores (docs/deviations.md, "Table 3's rows with q ≥ 200")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
jax_only = pytest.mark.skipif(keras.backend.backend() != "jax", reason="the profile's gradient uses JAX")

ROW = "hochreiter1997/long_lag_2c_q200_p200"
SMOKE = ["--smoke", "--set", "protocol.max_sequences=300", "--quiet"]



def _final_weights(out: Path) -> list[np.ndarray]:
    (path,) = sorted(out.glob("hochreiter1997/*.weights.npz"))
    with np.load(path) as f:
        return [f[k] for k in sorted(f.files)]


def test_selected_trials_rerun_those_trials_of_the_full_run(tmp_path, capsys, load_tool):
    from lstm_hist.cli import main

    from reproductions.hochreiter1997.training import online

    assert main(["run", ROW, *SMOKE, "--set", "protocol.trials=4", "--out", str(tmp_path / "full")]) == 0
    build = online.build_learner
    select = load_tool("long_lag_2c_select_trials")
    trace = tmp_path / "sel" / "trace.npz"
    assert select.main(["--indices", "3,1", "--of", "4", "--trace", str(trace), "--", "run", ROW, *SMOKE,
                        "--out", str(tmp_path / "sel")]) == 0
    assert online.build_learner is build  # the wrappers are gone again
    full, chosen = _final_weights(tmp_path / "full"), _final_weights(tmp_path / "sel")
    for a, b in zip(full, chosen):
        np.testing.assert_array_equal(a[[3, 1]], b)  # the same initial weights, data and updates
    assert json.loads((tmp_path / "sel" / "selection.yaml").read_text())["indices"] == [3, 1]
    with np.load(trace) as t:
        assert list(t["seen"]) == [0, 100, 200, 300] and t["w0"].shape[1] == 2


@jax_only
@pytest.mark.parametrize("truncate", [True, False])
def test_profile_tells_a_net_that_stores_the_class(tmp_path, capsys, load_tool, truncate):
    """A hand-set net whose block 0 stores x (+) or y (−) at step 1 and whose outputs read that cell: ``flip`` 1 and
    ``sep`` ≈ +2 for that cell; with the cell → output weights zeroed the outputs sit at 0.5 (``mse`` 0.25). A record
    trained with the full gradient (``truncate_gradient: false``) is profiled from the same weights alike."""
    from lstm_hist.registry import load

    _, _, experiment, cfg = load(ROW)
    cfg["model"]["truncate_gradient"] = truncate
    cfg["task"].update(q=10, p=10, max_extra=20, final_input=False)
    cfg["model"]["inputs"] = 14
    model = experiment.model(trials=2, **cfg["model"])
    kernel, recurrent, out = (np.zeros(v.shape, np.float32) for v in model.trainable_variables)
    p = 10
    kernel[:, p + 2, 0], kernel[:, p + 3, 0] = 8.0, -8.0  # x → cell input +, y → −
    kernel[:, : p + 2, 2] = -12.0  # input gate 0 shut on everything but x, y
    kernel[:, p + 2 :, 2] = 12.0
    kernel[:, :, 4] = 12.0  # output gate 0 open
    out[0, 0] = [12.0, -12.0]  # trial 0 reads cell 0; trial 1's output weights stay 0
    record = {"id": ROW, "seed": 0, "config": cfg, "trials": [{}, {}], "metrics": {"sequences_seen": 0}}
    (tmp_path / "r.json").write_text(json.dumps(record))
    np.savez(tmp_path / "w.npz", arr_0=kernel, arr_1=recurrent, arr_2=out)
    assert load_tool("long_lag_2c_stuck_profile").main([str(tmp_path / "r.json"), str(tmp_path / "w.npz"),
                                                     "--sequences", "32"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split("|") for line in lines[2:4]]  # the activation table: trials 0 and 1
    ok, flip, mse = (float(v) for v in rows[0][0].split()[2:5])
    assert ok == 1.0 and flip == 1.0 and mse < 0.01
    assert float(rows[1][0].split()[4]) == pytest.approx(0.25, abs=1e-3)  # trial 1: outputs 0.5, whatever is stored
    sep = [float(v) for v in rows[0][5].split()]  # h(s_c(end)): x-sequences minus y-sequences, per cell
    assert sep[0] == pytest.approx(2 * (2 / (1 + np.exp(-2.0)) - 1), abs=0.02) and sep[1] == 0.0  # h(±g(8)), s = 0
