"""Stopping and success criteria of the online protocols (Hochreiter & Schmidhuber 1997, Table 11).

* ABS(x): a sequence is processed correctly when the absolute error of every output unit is below x.
* ST3(β): "average training error below β and the 2000 most recent sequences processed correctly".
  The average training error is the mean, over the same 2000 most recent sequences, of the per-sequence
  error E = Σ_k (t_k − y_k)² of eq. 16 (the paper does not say over which sequences it averages; see
  docs/deviations.md). Both parts are measured online: on each training sequence with the weights as they
  were before that sequence's update, which is what an online learner sees.
"""

from __future__ import annotations

import numpy as np


def abs_correct(target: np.ndarray, output: np.ndarray, threshold: float) -> np.ndarray:
    """ABS(threshold) per row: every output unit's absolute error below the threshold."""
    return np.all(np.abs(target - output) < threshold, axis=-1)


class RecentWindow:
    """Per-trial ring buffer of the most recent ``window`` sequences' error E and correctness."""

    def __init__(self, trials: int, window: int):
        self.window = window
        self.error = np.zeros((trials, window))
        self.correct = np.zeros((trials, window), dtype=bool)
        self.count = np.zeros(trials, dtype=np.int64)

    def push(self, rows: np.ndarray, error: np.ndarray, correct: np.ndarray) -> None:
        """Record one sequence for each trial in ``rows`` (bool (N,)); ``error``/``correct`` are (N,)."""
        index = np.flatnonzero(rows)
        slot = self.count[index] % self.window
        self.error[index, slot] = error[index]
        self.correct[index, slot] = correct[index]
        self.count[index] += 1

    def full(self) -> np.ndarray:
        return self.count >= self.window

    def mean_error(self) -> np.ndarray:
        filled = np.minimum(self.count, self.window)
        return self.error.sum(axis=1) / np.maximum(filled, 1)

    def correct_fraction(self) -> np.ndarray:
        filled = np.minimum(self.count, self.window)
        return self.correct.sum(axis=1) / np.maximum(filled, 1)

    def st3(self, beta: float) -> np.ndarray:
        """ST3(β) per trial."""
        return self.full() & (self.mean_error() < beta) & self.correct.all(axis=1)

    def state(self) -> dict[str, np.ndarray]:
        return {"window_error": self.error, "window_correct": self.correct, "window_count": self.count}

    def load(self, arrays) -> None:
        self.error = np.array(arrays["window_error"])
        self.correct = np.array(arrays["window_correct"])
        self.count = np.array(arrays["window_count"])


CRITERIA = ("st3",)
