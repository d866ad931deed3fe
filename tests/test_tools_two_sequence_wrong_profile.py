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
