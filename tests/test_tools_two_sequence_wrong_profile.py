"""tools/two_sequence_wrong_profile.py scores the same test sequences the run's final test scores (Tables 4–5's
fraction misclassified), and its features belong to the sequence they are reported for."""

from __future__ import annotations

import numpy as np
import pytest


class Integrator:
    """A stand-in net whose answer is the sign of the sum of every input element: wrong exactly where the noise
    outweighs the informative elements."""

    def predict_trials(self, x, mask):
        total = (x[..., 0] * mask).sum(axis=-1)
        return (total > 0).astype(np.float32)[..., None]


def test_the_tool_counts_what_the_final_test_counts_on_the_same_sequences(load_tool):
    pytest.importorskip("keras")
    from lstm_hist.registry import load
    from reproductions.hochreiter1997.training.checks import evaluate_trials

    tool = load_tool("two_sequence_wrong_profile")
    _, _, exp, cfg = load("hochreiter1997/two_sequence_3a_t100_n1")
    cfg = {**cfg, "protocol": {**cfg["protocol"], "trials": 3, "test_sequences": 300}}  # two blocks: 256 + 44
    protocol = exp.protocol(**cfg["protocol"])
    rows = tool.test_sequence_features(exp, cfg, Integrator(), 5)
    expected = evaluate_trials(Integrator(), exp.task, cfg["task"], 5, 3, protocol)["test_wrong"]
    assert [int(r["wrong"].sum()) for r in rows] == [int(n) for n in expected]
    assert all(r["error"].shape == (300,) for r in rows) and sum(expected) > 0  # the integrator does err
    for r in rows:
        w = r["wrong"]
        # N = 1: the sum is ±1 + noise, so a wrong answer means noise of the other class's sign beyond 1
        np.testing.assert_array_less(1.0, -r["noise_sum"][w & ~r["class_two"]])
        np.testing.assert_array_less(1.0, r["noise_sum"][w & r["class_two"]])
        assert (r["against_max"][w] > 0).all() and (r["length"] >= 100).all()


def test_gate_features_read_the_gate_at_the_step_asked_for(load_tool):
    """A net whose only weights are the input line's to block 0's cell (c) and input gate (w): y^in(t) = σ(w·x_t)
    and the state moves by σ(w·x_t)·|g(c·x_t)| at step t, so each reported value has a closed form; an index off by
    one step would read a neighbour's input."""
    pytest.importorskip("keras")
    from lstm_hist.registry import load
    from reproductions.hochreiter1997.equations import squash_g

    tool = load_tool("two_sequence_wrong_profile")
    _, _, exp, cfg = load("hochreiter1997/two_sequence_3a_t100_n1")
    model = exp.model(trials=2, **cfg["model"])
    cell = model.get_layer("lstm1997").cell
    w, c = -1.5, 0.8
    for variable in cell.weights:
        variable.assign(np.zeros(variable.shape, dtype="float32"))
    kernel = np.zeros(cell.kernel.shape, dtype="float32")
    kernel[:, 0, 0], kernel[:, 0, cell.cells] = c, w
    cell.kernel.assign(kernel)
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, size=(2, 3, 12, 1)).astype("float32")
    mask = np.ones((2, 3, 12), dtype="float32")
    mask[1, 2, 9:] = 0.0  # one shorter sequence: its padding is not a noise step
    at = np.array([[4, 7, 11], [1, 5, 8]])
    out = tool.gate_features(cell, x, mask, 1, at)
    gate = 1.0 / (1.0 + np.exp(-w * x[..., 0]))
    jump = gate * np.abs(np.asarray(squash_g(c * x[..., 0], cell.cell_input_activation)))
    picked = np.take_along_axis(gate, at[..., None], axis=2)[..., 0]
    np.testing.assert_allclose(out["gate_at_against"][..., 0], picked, rtol=1e-5)
    np.testing.assert_allclose(out["jump_at_against"][..., 0], np.take_along_axis(jump, at[..., None], axis=2)[..., 0],
                               rtol=1e-4)
    np.testing.assert_allclose(out["gate_informative"][..., 0], gate[..., 0], rtol=1e-5)
    noise = mask.copy()
    noise[..., 0] = 0.0
    np.testing.assert_allclose(out["gate_noise"][..., 0], (gate * noise).sum(-1) / noise.sum(-1), rtol=1e-5)
    np.testing.assert_allclose(out["jump_typical"][..., 0], (jump * noise).sum(-1) / noise.sum(-1), rtol=1e-4)
    np.testing.assert_allclose(out["gate_at_against"][..., 1], 0.5, rtol=1e-6)  # block 1: no weights, σ(0)
