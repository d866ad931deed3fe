"""The window-count rule of the 1997 criteria, decided in one place for the online trainer and the baselines."""

from __future__ import annotations

import types

import numpy as np

from reproductions.hochreiter1997.training.criteria import (RecentWindow, first_reached, reported_count,
                                                            window_met)


def protocol(criterion, window=4, criterion_error=0.5, max_wrong=2):
    return types.SimpleNamespace(criterion=criterion, window=window, criterion_error=criterion_error,
                                 max_wrong=max_wrong)


def filled(correct_rows, errors):
    """A window of 4 per trial, pushed sequence by sequence: trial b's k-th sequence has correct_rows[b][k]."""
    correct_rows, errors = np.array(correct_rows, bool), np.array(errors, float)
    window = RecentWindow(len(correct_rows), 4)
    for k in range(correct_rows.shape[1]):
        window.push(np.ones(len(correct_rows), bool), errors[:, k], correct_rows[:, k])
    return window


def test_window_criteria_per_trial():
    # trial 0: 4 correct, low error; trial 1: one wrong; trial 2: two wrong; trial 3: only 3 sequences so far
    window = filled([[1, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]], [[0.1] * 4, [0.1] * 4, [0.1] * 4,
                                                                                [0.1] * 4])
    window.count[3] = 3  # not full yet
    np.testing.assert_array_equal(window_met(window, protocol("st3")), [True, False, False, False])
    np.testing.assert_array_equal(window_met(window, protocol("window")), [True, False, False, False])
    np.testing.assert_array_equal(window_met(window, protocol("window_wrong")), [True, True, False, False])
    high = filled([[1, 1, 1, 1]], [[0.9, 0.9, 0.9, 0.9]])
    assert not window_met(high, protocol("st3"))[0] and window_met(high, protocol("window"))[0]
    assert window_met(window, protocol("check_set")) is None and window_met(window, protocol("legal_next")) is None


def test_the_count_of_a_window_criterion_starts_where_the_successful_run_began():
    assert reported_count(5_000, protocol("window", window=1_000)) == 4_000  # deviations E2.4
    for criterion in ("st3", "window_wrong", "check_set", "legal_next"):
        assert reported_count(5_000, protocol(criterion, window=1_000)) == 5_000


def test_first_reached_marks_only_full_windows_once():
    window = filled([[1, 1, 1, 1], [1, 1, 1, 0]], [[0.1] * 4, [0.1] * 4])
    error_at, correct_at = first_reached(window, 0.5, 40, np.array([0, 7]), np.zeros(2, np.int64))
    np.testing.assert_array_equal(error_at, [40, 7])  # trial 1 had already reached it at 7
    np.testing.assert_array_equal(correct_at, [40, 0])  # 3 of 4 correct is below 99 %
    window.count[:] = 3
    error_at, _ = first_reached(window, 0.5, 50, np.zeros(2, np.int64), np.zeros(2, np.int64))
    np.testing.assert_array_equal(error_at, [0, 0])  # not full: nothing is judged
