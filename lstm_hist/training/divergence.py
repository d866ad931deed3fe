"""When a run has diverged: non-finite values, or weights far beyond anything a working net of these papers holds.

A diverged run must not look like a success (README, exit status 3). Non-finite outputs or losses were always
caught; a learning rate of 1e8 is not: on the adding problem (T=100) one update moves the weights to 7.5e6, the
sigmoids saturate, the outputs stay finite (0) and the run used to train to its cap with error 0.29. So every
protocol also checks the weights themselves against :data:`WEIGHT_LIMIT`.

The limit, 1e4, is over a thousand times the largest initial weight of any config (the 1997 input-gate biases
of -6; initial weights are within ±0.2) and far above what trained nets of this package hold: measured on the
checkpoints of real runs on 2026-11-30, the largest |w| was 28.9 (embedded Reber, lr 0.5, 26,000 sequences),
6.0 (two-sequence 3a, 42,300 sequences), 9.2 (Chung LSTM on JSB) and below 2 for the GRU/tanh nets; a
pre-activation beyond ±20 has no gradient left to grow a weight further. A weight of 1e4 saturates every unit it feeds for any input above
1e-3, so a net holding one has stopped learning (docs/architecture.md, "Stopping a run").
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

WEIGHT_LIMIT = 1e4


def exploded_trials(values: Iterable, trials: int) -> np.ndarray:
    """Per trial (the leading axis of each weight array): True where a weight is non-finite or above the limit.
    A weight array without that leading axis (shared by all trials) marks every trial."""
    out = np.zeros(trials, dtype=bool)
    for value in values:
        a = np.asarray(value, dtype=np.float64)
        bad = ~(np.abs(a) <= WEIGHT_LIMIT)  # NaN compares False, so it counts as bad
        if a.ndim and a.shape[0] == trials:
            out |= bad.reshape(trials, -1).any(axis=1)
        elif bad.any():
            out[:] = True
    return out


def exploded(values: Iterable) -> bool:
    """True when any weight is non-finite or above the limit."""
    return bool(exploded_trials(values, 1).any())
