"""Experiment 5, the multiplication problem (Hochreiter & Schmidhuber 1997, §5.5, Table 8).

§5.5: as the adding problem (§5.4), but the first components are drawn from [0, 1]; if the first pair is the
marked one, X1 := 1.0; the target at the sequence end is X1 · X2 (no scaling). The marking, lengths and
X2 rule are those of :func:`reproductions.hochreiter1997.tasks.adding.marked_pairs` (docs/deviations.md A1–A4);
a marked first pair shows the value 1.0 it stands for.
"""

from __future__ import annotations

import numpy as np

from lstm_hist.experiment import SequenceBatch

from .adding import marked_pairs
from .adding import max_length as _adding_max_length


def multiplication_problem(rng: np.random.Generator, n: int, min_length: int = 100) -> SequenceBatch:
    """§5.5: values in [0, 1], X1 := 1.0 when the first pair is marked, target X1 · X2."""
    x, lengths, x1, x2 = marked_pairs(rng, n, min_length, 0.0, 1.0, first_pair_x1=1.0)
    return SequenceBatch(x, lengths, (x1 * x2)[:, None].astype(np.float32))


def max_length(min_length: int = 100) -> int:
    return _adding_max_length(min_length)


multiplication_problem.max_length = max_length
