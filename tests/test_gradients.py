"""``lstm-hist gradients``: the measured norms against a NumPy backward pass, the 1997 CEC's factor of 1, what
truncation cuts, the §3 bound, and the command's record, figure and page."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstm_hist.gradients.measure import Net, cec_factor, gradient_norms, per_step_factor
from lstm_hist.gradients.units import GradientUnit


def _tanh_unit(units=3):
    from reproductions.chung2014 import TanhRNNCell

    def build(seed):
        import keras

        return TanhRNNCell(units, kernel_initializer=keras.initializers.RandomNormal(0, 0.8, seed=seed),
                           recurrent_initializer=keras.initializers.RandomNormal(0, 0.8, seed=seed + 1),
                           bias_initializer=keras.initializers.RandomNormal(0, 0.3, seed=seed + 2))

    return GradientUnit(build=build, label="tanh", state_names=("h",))


def _cell1997_unit(truncate, **kwargs):
    from reproductions.hochreiter1997 import LSTM1997Cell
    from reproductions.hochreiter1997.gradients import cell_output

    def build(seed):
        return LSTM1997Cell(2, block_size=2, truncate_gradient=truncate, init_range=0.5, seed=seed, **kwargs)

    return GradientUnit(build=build, label="1997", state_names=("s_c", "r"), output=cell_output, cec_state="s_c")


def _sequences(n=2, length=7, inputs=2, lengths=(7, 5), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, length, inputs)).astype("float32")
    lengths = np.asarray(lengths[:n])
    x[np.arange(length)[None, :] >= lengths[:, None]] = 0.0
    target = rng.uniform(0, 1, size=(n, 1)).astype("float32")
    return x, lengths, target


def _numpy_tanh_backward(net, weights, i, x, length, target):
    """Hand-written BPTT for h_t = tanh(x_t W + h_{t−1} U + b), y = σ(h_T V + c), E = ½(y − target)²."""
    names = [v.name for v in net.cell.trainable_variables] + ["V", "c"]
    w = {name: np.asarray(value[i], dtype=np.float64) for name, value in zip(names, weights)}
    W, U, b = w["kernel"], w["recurrent_kernel"], w["bias"]
    hs = [np.zeros(U.shape[0])]
    for t in range(length):
        hs.append(np.tanh(x[t] @ W + hs[-1] @ U + b))
    y = 1 / (1 + np.exp(-(hs[-1] @ w["V"] + w["c"])))
    d_h = ((y - target) * y * (1 - y)) @ w["V"].T  # ∂E/∂h_T
    state, inputs = [], []
    for t in range(length, 0, -1):  # lag k = length − t
        state.append(np.linalg.norm(d_h))
        d_net = d_h * (1 - hs[t] ** 2)
        inputs.append(np.linalg.norm(d_net @ W.T))
        d_h = d_net @ U.T
    return np.array(state), np.array(inputs)


def test_norms_equal_a_hand_computed_backward_pass():
    net = Net(_tanh_unit(), inputs=2, outputs=1)
    weights = net.init_weights([3, 4])
    x, lengths, target = _sequences()
    norms = gradient_norms(net, weights, x, lengths, target)
    assert norms["state"].shape == (2, 5)  # lags 0 … shortest length − 1
    for i in range(2):
        state, inputs = _numpy_tanh_backward(net, weights, i, x[i], lengths[i], target[i])
        np.testing.assert_allclose(norms["state"][i], state[:5], rtol=2e-5)
        np.testing.assert_allclose(norms["input"][i], inputs[:5], rtol=2e-5)
    assert norms["state"][0, 4] != pytest.approx(norms["state"][1, 4])  # the two inits differ: a real check


def test_the_cec_passes_the_error_back_with_factor_one_through_a_closed_input_gate():
    # Full gradient, the recurrent vector r feeds every net input, no output gate: the only way back besides the
    # CEC runs through the input gate's derivative and value, both ~0 when it is closed (bias −40).
    x, lengths, target = _sequences(lengths=(7, 7))
    closed = Net(_cell1997_unit(False, output_gate=False, input_gate_bias=[-40.0, -40.0]), 2, 1)
    raw = gradient_norms(closed, closed.init_weights([1, 2]), x, lengths, target)["raw:s_c"]
    assert np.all(np.abs(raw[:, 1]) > 1e-6)
    np.testing.assert_allclose(raw[:, 2:], np.broadcast_to(raw[:, 1:2], raw[:, 2:].shape), rtol=1e-6)
    assert cec_factor(raw)["max_abs_deviation"] < 1e-6

    opened = Net(_cell1997_unit(False, output_gate=False, input_gate_bias=[0.0, 0.0]), 2, 1)
    raw_open = gradient_norms(opened, opened.init_weights([1, 2]), x, lengths, target)["raw:s_c"]
    assert cec_factor(raw_open)["max_abs_deviation"] > 1e-3  # an open gate adds paths: the check can fail


def test_truncation_cuts_exactly_the_paths_through_the_recurrent_vector():
    x, lengths, target = _sequences(lengths=(7, 6))
    full_net, trunc_net = Net(_cell1997_unit(False), 2, 1), Net(_cell1997_unit(True), 2, 1)
    weights = full_net.init_weights([5, 6])  # the same weights for both
    full = gradient_norms(full_net, weights, x, lengths, target)
    trunc = gradient_norms(trunc_net, weights, x, lengths, target)
    same = dict(rtol=1e-6, atol=0)
    # Lag 0 (the readout) and the CEC at lag 1 see no recurrent connection yet: identical.
    np.testing.assert_allclose(trunc["state"][:, 0], full["state"][:, 0], **same)
    np.testing.assert_allclose(trunc["input"][:, 0], full["input"][:, 0], **same)
    np.testing.assert_allclose(trunc["state:s_c"][:, 1], full["state:s_c"][:, 1], **same)
    # Truncated: r carries nothing back and ∂E/∂s_c is the same at every lag from 1 on (the CEC alone).
    assert np.all(trunc["state:r"][:, 1:] == 0) and np.all(full["state:r"][:, 1:] > 0)
    assert cec_factor(trunc["raw:s_c"])["max_abs_deviation"] == 0.0
    # Where the cut paths start, the curves part: the input from lag 1, the CEC state from lag 2.
    assert np.all(np.abs(trunc["input"][:, 1:] - full["input"][:, 1:]) > 1e-9)
    assert np.all(np.abs(trunc["state:s_c"][:, 2:] - full["state:s_c"][:, 2:]) > 1e-9)
    # With the recurrent weights at zero the cut paths carry nothing, and the two gradients agree everywhere.
    index = [v.name for v in full_net.cell.trainable_variables].index("recurrent_kernel")
    zeroed = [np.zeros_like(w) if j == index else w for j, w in enumerate(weights)]
    full0 = gradient_norms(full_net, zeroed, x, lengths, target)
    trunc0 = gradient_norms(trunc_net, zeroed, x, lengths, target)
    for key in ("state", "input", "state:s_c"):
        np.testing.assert_allclose(trunc0[key], full0[key], **same)


def test_tanh_factor_stays_below_the_section_3_bound():
    from reproductions.chung2014.gradients import tanh_step_bound

    net = Net(_tanh_unit(units=8), 2, 1)
    weights = net.init_weights([7, 8, 9])
    x, lengths, target = _sequences(n=3, length=30, lengths=(30, 30, 30))
    factors = per_step_factor(gradient_norms(net, weights, x, lengths, target)["state"])
    names = [v.name for v in net.cell.trainable_variables]
    for i, factor in enumerate(factors):
        bound = tanh_step_bound(net.cell, {n: w[i] for n, w in zip(names, weights)})
        assert 0 < factor <= bound


def test_per_step_factor_of_a_geometric_curve_and_after_underflow():
    curve = 3.0 * 0.5 ** np.arange(20.0)
    curve[15:] = 0.0  # float underflow: the fit stops at the last measurable lag
    assert per_step_factor(curve[None])[0] == pytest.approx(0.5)
    assert np.isnan(per_step_factor(np.zeros((1, 5)))[0])


def test_units_come_from_the_papers_through_the_registry():
    from lstm_hist.gradients.units import collect_units

    assert list(collect_units()) == ["chung2014/tanh", "cho2014/gru", "chung2014/lstm", "keras/lstm",
                                     "hochreiter1997/lstm1997_truncated", "hochreiter1997/lstm1997_full"]


def test_command_writes_a_record_figure_and_page_from_it(tmp_path, monkeypatch):
    from lstm_hist.cli import main
    from lstm_hist.report import select_records

    monkeypatch.chdir(tmp_path)
    assert main(["gradients", "--task", "adding_t100", "--unit", "lstm1997_truncated", "--inits", "2",
                 "--updates", "2", "--out", "out", "--quiet"]) == 0
    (path,) = (tmp_path / "out" / "gradients").glob("adding_t100-seed0-*.json")
    record = json.loads(path.read_text())
    assert record["kind"] == "gradients" and record["seed"] == 0 and record["provenance"]["wall_seconds"] > 0
    result = record["units"]["hochreiter1997/lstm1997_truncated"]["results"]["hochreiter1997/adding_t100"]
    assert result["init"]["cec_factor"]["max_abs_deviation"] == 0.0
    assert len(result["init"]["state"]["median"]) == len(record["tasks"]["hochreiter1997/adding_t100"]["lags"])
    assert path.with_suffix(".png").stat().st_size > 0
    assert select_records([(path, record)]) == {}  # not a table row of the report

    monkeypatch.setattr("lstm_hist.gradients.cli.PAGE", str(tmp_path / "page.md"))
    monkeypatch.setattr("lstm_hist.gradients.cli.FIGURE", str(tmp_path / "img" / "fig.png"))
    assert main(["gradients", "--render", str(path), "--docs"]) == 0
    page = (tmp_path / "page.md").read_text()
    factor = result["init"]["state_factor"]
    assert f"{factor['median']:.3g} [{factor['p10']:.3g}, {factor['p90']:.3g}]" in page
    assert "](img/fig.png)" in page and path.name in page


def test_command_rejects_bad_arguments(tmp_path, capsys):
    from lstm_hist.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["gradients", "--inits", "0"])
    assert exc.value.code == 2
    other = tmp_path / "run.json"
    other.write_text(json.dumps({"id": "hochreiter1997/adding_t100", "status": "completed"}))
    assert main(["gradients", "--render", str(other)]) == 2
    assert "not a gradients record" in capsys.readouterr().err
    assert main(["gradients", "--unit", "no_such_unit", "--out", str(tmp_path)]) == 2
    assert "unknown or ambiguous unit" in capsys.readouterr().err
