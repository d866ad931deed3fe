"""Experiment 4, the adding problem (Hochreiter & Schmidhuber 1997, §5.4, Table 7), and the marked-pair
sequences it shares with Experiment 5 (§5.5).

§5.4, as the paper states it::

    Each element of each input sequence is a pair of components. The first component is a real value
    randomly chosen from the interval [−1, 1]; the second is either 1.0, 0.0, or −1.0, and is used as a
    marker. At the end of each sequence, the task is to output the sum of the first components of those
    pairs that are marked by second components equal to 1.0. Sequences have random lengths between the
    minimal sequence length T and T + T/10. In a given sequence exactly two pairs are marked as follows:
    we first randomly select and mark one of the first ten pairs (whose first component we call X1). Then
    we randomly select and mark one of the first T/2 − 1 still unmarked pairs (whose first component we
    call X2). The second components of all remaining pairs are zero except for the first and final pair,
    whose second components are −1. (In the rare case where the first pair of the sequence gets marked,
    we set X1 to zero.) An error signal is generated only at the sequence end: the target is
    0.5 + (X1 + X2)/4.0 (the sum X1 + X2 scaled to the interval [0, 1]).

Choices where §5.4 is open (docs/deviations.md, "hochreiter1997: adding problem"):

* Lengths are integers uniform in [T, T + ⌊T/10⌋], both ends included.
* A marked first pair carries marker 1.0 (the mark wins over the −1 start marker), and its input value is
  set to the X1 value used in the target (0.0 here, 1.0 in Exp 5), so input and target agree.
* X2 is uniform over the still unmarked pairs among the T/2 − 1 pairs that follow the first one (0-based
  positions 1 … T/2 − 1, minus X1's): the first pair always carries a mark (−1, or 1 as X1). The latest X2
  is then at position T/2 − 1, so the minimal lag from X2 to the last pair is exactly T/2, Table 7's
  "minimal lag" column (50 / 250 / 500). Reading "the first T/2 − 1 still unmarked pairs" as a count of
  T/2 − 1 candidates would allow position T/2 and a lag of T/2 − 1.
"""

from __future__ import annotations

import numpy as np

from lstm_hist.experiment import SequenceBatch


def marked_pairs(
    rng: np.random.Generator,
    n: int,
    min_length: int,
    value_low: float,
    value_high: float,
    first_pair_x1: float,
    x1_candidates: int = 10,
):
    """Draw ``n`` marked-pair sequences. Returns ``(x, lengths, x1, x2)``; x is (n, L, 2) zero-padded.

    x[..., 0] holds the values, x[..., 1] the markers (−1 first and last pair, 1.0 on X1 and X2, else 0).
    """
    if min_length < 4 or min_length // 2 - 1 < 2:
        raise ValueError(f"`min_length` must be at least 6, received min_length={min_length!r}")
    max_len = max_length(min_length)
    lengths = rng.integers(min_length, max_len + 1, size=n)
    values = rng.uniform(value_low, value_high, size=(n, max_len))
    i1 = rng.integers(0, x1_candidates, size=n)
    # X2: uniform over positions 1 … T/2 − 1 other than X1's (see the module docstring).
    last = min_length // 2 - 1
    candidates = last - ((i1 >= 1) & (i1 <= last))
    i2 = 1 + np.floor(rng.random(n) * candidates).astype(np.int64)
    i2 = np.where((i1 >= 1) & (i2 >= i1), i2 + 1, i2)

    rows = np.arange(n)
    values[rows, 0] = np.where(i1 == 0, first_pair_x1, values[rows, 0])
    steps = np.arange(max_len)
    real = steps[None, :] < lengths[:, None]
    markers = np.zeros((n, max_len))
    markers[:, 0] = -1.0
    markers[rows, lengths - 1] = -1.0
    markers[rows, i1] = 1.0
    markers[rows, i2] = 1.0
    x = np.stack([values, markers], axis=-1) * real[..., None]
    return x.astype(np.float32), lengths, values[rows, i1], values[rows, i2]


def adding_problem(rng: np.random.Generator, n: int, min_length: int = 100) -> SequenceBatch:
    """§5.4: values in [−1, 1], X1 := 0 when the first pair is marked, target 0.5 + (X1 + X2)/4."""
    x, lengths, x1, x2 = marked_pairs(rng, n, min_length, -1.0, 1.0, first_pair_x1=0.0)
    y = (0.5 + (x1 + x2) / 4.0)[:, None].astype(np.float32)
    return SequenceBatch(x, lengths, y)


def max_length(min_length: int = 100) -> int:
    """The padded length of every batch: T + T/10 (§5.4)."""
    return min_length + min_length // 10


adding_problem.max_length = max_length
