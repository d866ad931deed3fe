"""Experiment 2, noise-free and noisy sequences with long time lags (Hochreiter & Schmidhuber 1997, §5.2,
Tables 2 and 3).

Task 2a (§5.2): p + 1 symbols a_1 … a_{p−1}, a_p = x, a_{p+1} = y, locally coded on p + 1 input and p + 1
output units. Only two sequences exist, (y, a_1, …, a_{p−1}, y) and (x, a_1, …, a_{p−1}, x), each chosen
with probability 0.5; the network predicts the next symbol at every step.

Task 2b: as 2a, but the middle a_1 … a_{p−1} is replaced by a random string of length p − 1 over
a_1 … a_{p−1} (exemplars drawn at random from the 2 classes). ``end_marker`` is another reading (the 2b
row's, E2.12; off by default here so the function reads as the text): the middle's last element stays a_{p−1},
as in 2a, and the p − 2 before it are random over a_1 … a_{p−2}, so the input announces the end. Under the
literal text the paper's net cannot tell the last step (docs/deviations.md, "Task 2b: the end cannot be told").

Task 2c: p + 4 symbols, distractors a_1 … a_p, trigger e, and b, x, y; p + 4 input units, 2 output units.
A sequence starts with b, then x or y, then q random distractors; every further element is a random
distractor with probability 9/10 or e with probability 1/10 (the reading that matches the stated expected
length; some versions print 1/10, see ../shared/papers/hochreiter1997.md erratum 2); after e comes one final
element repeating the second one (x or y). The error is given only at the end: the network predicts that final
element from the input up to e, so it must tell x from y across at least q + 1 steps (the final element is the
target, not an input: ``final_input``).

Choices where §5.2 is open (docs/deviations.md, "hochreiter1997 — Exp 2"):

* Unit order (2a/2b): a_1 … a_{p−1} are units 0 … p−2, x is unit p−1, y is unit p. Targets are the
  one-hot next symbol at steps 0 … p−1; the last symbol has no successor and no target.
* Unit order (2c): a_1 … a_p are units 0 … p−1, then e, b, x, y. Output coding (not stated): local,
  x → (1, 0), y → (0, 1).
* 2c distractors (printed index set 1 ≤ i ≤ q, erratum 6) are uniform over a_1 … a_p.
* 2c lengths: the number of extra distractors before e is geometric (mean 9) and unbounded; draws with
  more than ``max_extra`` extras are redrawn (probability 0.9^(max_extra+1): 2.4·10⁻⁵ for 100), so every
  batch has one padded length q + 4 + max_extra.
"""

from __future__ import annotations

import numpy as np

from lstm_hist.experiment import SequenceBatch


def long_lag(
    rng: np.random.Generator, n: int, p: int = 100, random_middle: bool = False, end_marker: bool = False
) -> SequenceBatch:
    """Task 2a (``random_middle=False``) or 2b (True): x (n, p+1, p+1) one-hot, y (n, p+1, p+1) next symbols.
    ``end_marker`` (2b only; 2a's middle already ends with a_{p−1}): the random middle ends with a_{p−1}."""
    codes = _long_lag_codes(rng, n, p, random_middle, end_marker)
    x = np.eye(p + 1, dtype=np.float32)[codes]
    return SequenceBatch(x, np.full(n, p + 1, dtype=np.int64), _next_symbols(codes, p + 1))


def long_lag_symbols(
    rng: np.random.Generator, n: int, p: int = 100, random_middle: bool = False, end_marker: bool = False
) -> SequenceBatch:
    """:func:`long_lag` with x as symbol indices (n, p+1) int32: the same draws from ``rng``, the same sequences."""
    codes = _long_lag_codes(rng, n, p, random_middle, end_marker)
    return SequenceBatch(codes.astype(np.int32), np.full(n, p + 1, dtype=np.int64), _next_symbols(codes, p + 1))


def _long_lag_codes(rng, n, p, random_middle, end_marker=False):
    if p < 2 or (end_marker and random_middle and p < 3):
        raise ValueError(f"`p` must be at least 2 (3 with end_marker), received p={p!r}")
    x_unit, y_unit = p - 1, p
    ends = np.where(rng.random(n) < 0.5, y_unit, x_unit)
    if random_middle and end_marker:
        middle = np.concatenate([rng.integers(0, p - 2, size=(n, p - 2)), np.full((n, 1), p - 2)], axis=1)
    elif random_middle:
        middle = rng.integers(0, p - 1, size=(n, p - 1))
    else:
        middle = np.broadcast_to(np.arange(p - 1), (n, p - 1))
    return np.concatenate([ends[:, None], middle, ends[:, None]], axis=1)  # (n, p + 1)


def _next_symbols(codes, units):
    """y[:, t] = one-hot of the symbol at t + 1; the last step has no successor (zeros)."""
    y = np.zeros((*codes.shape, units), dtype=np.float32)
    y[:, :-1] = np.eye(units, dtype=np.float32)[codes[:, 1:]]
    return y


def long_lag_length(p: int = 100, random_middle: bool = False, end_marker: bool = False) -> int:
    return p + 1


# The one-hot generators name their index twins, which feed the 1997 fast path (..symbols); the twins name theirs.
long_lag.max_length = long_lag_symbols.max_length = long_lag_length
long_lag.symbols, long_lag_symbols.dense = long_lag_symbols, long_lag


def long_lag_2c(
    rng: np.random.Generator, n: int, p: int = 50, q: int = 50, max_extra: int = 100, final_input: bool = False
) -> SequenceBatch:
    """Task 2c: x (n, L, p+4) one-hot, L = :func:`long_lag_2c_length`; y (n, 2) local code of the final x/y."""
    codes, lengths, which = _long_lag_2c_codes(rng, n, p, q, max_extra, final_input)
    x = np.eye(p + 5, p + 4, dtype=np.float32)[codes]  # the padding code p + 4: a zero input vector
    return SequenceBatch(x, lengths.astype(np.int64), np.eye(2, dtype=np.float32)[which])


def long_lag_2c_symbols(
    rng: np.random.Generator, n: int, p: int = 50, q: int = 50, max_extra: int = 100, final_input: bool = False
) -> SequenceBatch:
    """:func:`long_lag_2c` with x as symbol indices (n, L) int32, ``p + 4`` (no input unit) on padded steps: the
    same draws from ``rng``, the same sequences, without the one-hot array (2c q=p=1000: 89 MB per update)."""
    codes, lengths, which = _long_lag_2c_codes(rng, n, p, q, max_extra, final_input)
    return SequenceBatch(codes.astype(np.int32), lengths.astype(np.int64), np.eye(2, dtype=np.float32)[which])


def _long_lag_2c_codes(rng, n, p, q, max_extra, final_input=False):
    """(codes (n, L) with ``p + 4`` after each input's end, input lengths (n,), which (n,): 0 for x, 1 for y).

    The sequence is b, x|y, q + k distractors, e, x|y (length q + 4 + k). The net predicts its final element, so
    the input ends with e (``final_input=False``, input length q + 3 + k): the output at e's step is the
    prediction, x|y last seen q + 1 + k steps before (§5.2's minimal lag q + 1). ``final_input=True`` also feeds the
    final x|y and reads the output after it: the answer is then in the input (how the runs before issue 17's
    2c profile were made; docs/deviations.md, "Table 3's rows with q ≥ 200")."""
    if p < 1 or q < 0 or max_extra < 0:
        raise ValueError(f"need p ≥ 1, q ≥ 0, max_extra ≥ 0, received p={p!r}, q={q!r}, max_extra={max_extra!r}")
    e, b, x_unit = p, p + 1, p + 2
    extras = rng.geometric(0.1, size=n) - 1  # distractors before e: P(k) = 0.9^k · 0.1
    while (over := extras > max_extra).any():
        extras[over] = rng.geometric(0.1, size=int(over.sum())) - 1
    lengths = q + 4 + extras
    steps = q + 4 + max_extra  # drawn at the full length either way: the same sequences for both readings
    codes = rng.integers(0, p, size=(n, steps))
    which = rng.integers(0, 2, size=n)  # 0: x, 1: y
    rows = np.arange(n)
    codes[:, 0] = b
    codes[:, 1] = x_unit + which
    codes[rows, lengths - 2] = e
    codes[rows, lengths - 1] = x_unit + which
    if not final_input:
        lengths = lengths - 1  # the final x|y is the target, not an input
    codes[np.arange(steps)[None, :] >= lengths[:, None]] = p + 4
    return codes[:, : long_lag_2c_length(p, q, max_extra, final_input)], lengths, which


def long_lag_2c_length(p: int = 50, q: int = 50, max_extra: int = 100, final_input: bool = False) -> int:
    return q + 4 + max_extra - (0 if final_input else 1)


long_lag_2c.max_length = long_lag_2c_symbols.max_length = long_lag_2c_length
long_lag_2c.symbols, long_lag_2c_symbols.dense = long_lag_2c_symbols, long_lag_2c
