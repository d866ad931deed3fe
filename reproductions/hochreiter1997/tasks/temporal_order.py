"""Experiment 6, temporal order (Hochreiter & Schmidhuber 1997, §5.6, Table 9).

§5.6, as the paper states it (task 6a)::

    The sequences have random lengths between 100 and 110, starting with E and ending with B (the trigger
    symbol). All other elements are randomly chosen from {a, b, c, d}, except for two elements at
    positions t1 and t2 that are either X or Y; t1 is randomly chosen between 10 and 20, t2 between 50
    and 60. There are 4 sequence classes Q, R, S, U which depend on the temporal order of X and Y:
    X,X → Q; X,Y → R; Y,X → S; Y,Y → U.

Task 6b has three relevant symbols at t1 ∈ [10, 20], t2 ∈ [33, 43], t3 ∈ [66, 76] and 8 classes
(XXX → Q, XXY → R, XYX → S, XYY → U, YXX → V, YXY → A, YYX → B, YYY → C). Local input coding over the
8 symbols (E, B, a, b, c, d, X, Y); local targets on 4 (6a) or 8 (6b) output units, given only at the
sequence end.

Choices where §5.6 is open (docs/deviations.md, "hochreiter1997 — Exp 6"):

* Positions are 1-based as printed: the sequence is t = 1 … length, E at t = 1, B at t = length, and the
  relevant symbols at t1, t2 (, t3), all uniform integers in the printed ranges, both ends included.
* The class index is the binary number read from the relevant symbols (X = 0, Y = 1), first symbol most
  significant; output unit k is class k in the printed order (Q, R, S, U[, V, A, B, C]).
"""

from __future__ import annotations

import numpy as np

from lstm_hist.experiment import SequenceBatch

SYMBOLS = ("E", "B", "a", "b", "c", "d", "X", "Y")
E, B, X, Y = 0, 1, 6, 7
DISTRACTORS = (2, 3, 4, 5)  # a, b, c, d

# 1-based position ranges of the relevant symbols (§5.6), per number of relevant symbols.
POSITIONS = {2: ((10, 20), (50, 60)), 3: ((10, 20), (33, 43), (66, 76))}


def temporal_order(
    rng: np.random.Generator,
    n: int,
    relevant: int = 2,
    min_length: int = 100,
    max_extra: int = 10,
) -> SequenceBatch:
    """§5.6 task 6a (``relevant=2``) or 6b (``relevant=3``); x (n, L, 8) one-hot, y (n, 2**relevant) one-hot."""
    if relevant not in POSITIONS:
        raise ValueError(f"`relevant` must be 2 (task 6a) or 3 (task 6b), received relevant={relevant!r}")
    last_position = POSITIONS[relevant][-1][1]
    if min_length <= last_position:
        raise ValueError(
            f"`min_length` must exceed the last relevant position {last_position}, received min_length={min_length!r}"
        )
    length_max = max_length(relevant, min_length, max_extra)
    lengths = rng.integers(min_length, min_length + max_extra + 1, size=n)
    symbols = rng.choice(np.array(DISTRACTORS), size=(n, length_max))
    rows = np.arange(n)
    symbols[:, 0] = E
    symbols[rows, lengths - 1] = B
    bits = rng.integers(0, 2, size=(n, relevant))
    for k, (low, high) in enumerate(POSITIONS[relevant]):
        position = rng.integers(low, high + 1, size=n)  # 1-based
        symbols[rows, position - 1] = np.where(bits[:, k] == 1, Y, X)
    x = np.eye(len(SYMBOLS), dtype=np.float32)[symbols]
    x *= (np.arange(length_max)[None, :] < lengths[:, None])[..., None]
    classes = bits @ (1 << np.arange(relevant - 1, -1, -1))
    y = np.eye(2**relevant, dtype=np.float32)[classes]
    return SequenceBatch(x, lengths, y)


def max_length(relevant: int = 2, min_length: int = 100, max_extra: int = 10) -> int:
    """The padded length: the longest sequence, ``min_length + max_extra`` (110 in §5.6)."""
    return min_length + max_extra


temporal_order.max_length = max_length
