"""tools/two_sequence_check_floor.py counts the check sequences of task 3b that no net can classify
(docs/deviations.md E3.7)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstm_hist.experiment import SequenceBatch


def test_the_binomial_tail(load_tool):
    tool = load_tool("two_sequence_check_floor")
    assert tool.binomial_tail(2, 0.5, 0) == pytest.approx(0.75)
    p_flip = 0.5 * math.erfc(1 / math.sqrt(0.2) / math.sqrt(2))  # Φ(−1/√0.2)
    assert p_flip == pytest.approx(0.01267, abs=1e-5)
    assert tool.binomial_tail(256, p_flip, 5) == pytest.approx(0.1092, abs=1e-4)


def test_a_sequence_whose_evidence_points_to_the_other_class_is_counted(load_tool):
    tool = load_tool("two_sequence_check_floor")
    x = np.zeros((4, 5, 1), np.float32)
    x[:, :2, 0] = [[1.0, 0.2], [-0.3, 0.1], [-1.0, -0.4], [0.5, -0.1]]  # N = 2: sums 1.2, -0.2, -1.4, 0.4
    y = np.array([[1.0], [1.0], [0.0], [0.0]], np.float32)  # class 1, 1, 2, 2
    batch = SequenceBatch(x, np.full(4, 5), y)
    np.testing.assert_array_equal(tool.floor_of(batch, 2), [False, True, False, True])
    np.testing.assert_array_equal(tool.floor_of(batch, 1), [False, True, False, True])


def test_the_tool_counts_in_the_sets_the_run_checks(load_tool, monkeypatch):
    """Its sets are the run's fixed check sets (reproductions/hochreiter1997/training/checks.py)."""
    pytest.importorskip("keras")
    from lstm_hist.registry import load
    from reproductions.hochreiter1997.training import checks

    tool = load_tool("two_sequence_check_floor")
    _, _, exp, cfg = load("hochreiter1997/two_sequence_3b_t100_n1")
    protocol = exp.protocol(**{**cfg["protocol"], "trials": 2, "check_sequences": 8})
    sets = tool.check_sets(exp, cfg, protocol, 4)
    seen = []
    monkeypatch.setattr(checks, "predict_trials", lambda m, x, mask: seen.append(x) or np.zeros(x.shape[:2] + (1,)))
    checks.make_checker(exp.task, cfg["task"], protocol, 4, 2, None, screen=0)(None)
    np.testing.assert_array_equal(seen[0], np.stack([b.x for b in sets]))
