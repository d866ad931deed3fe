"""Experiment 1, the embedded Reber grammar (Hochreiter & Schmidhuber 1997, §5.1, Table 1).

§5.1: the network reads a string of the embedded Reber grammar one symbol at a time and predicts the next
symbol at every step; every branch of the grammar (Figs. 3, 4) is taken with probability 0.5. Seven symbols,
local input and output coding. 256 training strings and 256 separate test strings; training exemplars are
drawn at random from the training set (Table 11 selection "t1"; the fixed sets are made and sampled by the
online protocol, ``OnlineProtocol.fixed_sets``). Success: "all string symbols of all sequences in both test
set and training set are predicted correctly", i.e. the output units of the legal next symbols are the most
active ones (:func:`legal_next` gives the legal sets).

The grammar as an automaton (the paper gives it only as Figs. 3 and 4; this is the standard one)::

    inner Reber string: B, then from state 0
        0: T→1 P→2    1: S→1 X→3    2: T→2 V→4    3: X→2 S→5    4: P→3 V→5    5: E (end)
    embedded string:   B (T|P) <inner string> (the same T|P) E

Choices where §5.1 is open (docs/deviations.md, "hochreiter1997 — Exp 1"):

* Symbol order of the local code: B, T, P, S, X, V, E (input unit k = output unit k = symbol k).
* Targets: the one-hot code of the actual next symbol at steps 0 … length−2; the last symbol (E) has no
  successor and no target. ``targets="legal"`` makes every symbol the grammar allows next a target instead
  (the criterion's "legal next symbol(s)" as the training signal; docs/deviations.md, E1.9).
* Strings longer than ``max_length`` (50 symbols: probability about 5·10⁻⁶ per string) are redrawn, so every
  batch has one padded length.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from lstm_hist.experiment import SequenceBatch

SYMBOLS = ("B", "T", "P", "S", "X", "V", "E")
INDEX = {s: k for k, s in enumerate(SYMBOLS)}
# state → ((symbol, next state), (symbol, next state)); state 5 emits E and ends (Fig. 3).
REBER = {0: (("T", 1), ("P", 2)), 1: (("S", 1), ("X", 3)), 2: (("T", 2), ("V", 4)),
         3: (("X", 2), ("S", 5)), 4: (("P", 3), ("V", 5))}  # fmt: skip


def reber_string(rng: np.random.Generator) -> str:
    """One inner Reber string, ``B … E`` (Fig. 3), every branch with probability 0.5."""
    out, state = ["B"], 0
    while state != 5:
        symbol, state = REBER[state][int(rng.integers(2))]
        out.append(symbol)
    out.append("E")
    return "".join(out)


def embedded_reber_string(rng: np.random.Generator) -> str:
    """One embedded Reber string, ``B (T|P) <inner> (same T|P) E`` (Fig. 4)."""
    branch = "TP"[int(rng.integers(2))]
    return "B" + branch + reber_string(rng) + branch + "E"


def encode(strings: list[str], max_length: int) -> SequenceBatch:
    """One-hot x (n, max_length, 7), lengths, and next-symbol targets y (n, max_length, 7)."""
    n = len(strings)
    codes = np.full((n, max_length), -1, dtype=np.int64)
    lengths = np.array([len(s) for s in strings], dtype=np.int64)
    for i, s in enumerate(strings):
        codes[i, : len(s)] = [INDEX[c] for c in s]
    eye = np.vstack([np.eye(len(SYMBOLS), dtype=np.float32), np.zeros((1, len(SYMBOLS)), np.float32)])
    x = eye[codes]  # index −1 → the zero row
    y = np.zeros_like(x)
    y[:, :-1] = x[:, 1:]
    y[np.arange(n), lengths - 1] = 0.0  # no successor after the final E
    return SequenceBatch(x, lengths, y)


def decode(x: np.ndarray, length: int) -> str:
    return "".join(SYMBOLS[int(k)] for k in np.argmax(x[:length], axis=-1))


def embedded_reber(
    rng: np.random.Generator,
    n: int,
    max_length: int = 50,
    distinct: bool = False,
    targets: Literal["next", "legal"] = "next",
) -> SequenceBatch:
    """§5.1: ``n`` embedded Reber strings with next-symbol targets at every step (y is (n, L, 7)).

    ``distinct``: draw until ``n`` different strings are found, in order of first occurrence (a training set
    of 256 different strings; the default keeps the grammar's own frequencies, about 97 different strings in
    256 draws). §5.1 does not say which (docs/deviations.md, E1.6).

    ``targets``: "next" (the one-hot code of the symbol that follows) or "legal" (1 for every symbol the
    grammar allows next, :func:`legal_next`). §5.1 says "predict the next symbol" and judges the net on the
    legal next symbols; it does not give the target vector (docs/deviations.md, E1.9). The strings drawn do
    not depend on it.
    """
    if max_length < 9:
        raise ValueError(f"`max_length` must be at least 9 (the shortest string), received max_length={max_length!r}")
    if targets not in ("next", "legal"):
        raise ValueError(f"`targets` must be 'next' or 'legal', received targets={targets!r}")
    strings: list[str] = []
    seen: set[str] = set()
    while len(strings) < n:
        s = embedded_reber_string(rng)
        if len(s) > max_length or (distinct and s in seen):
            continue
        strings.append(s)
        seen.add(s)
    batch = encode(strings, max_length)
    if targets == "legal":
        batch = SequenceBatch(batch.x, batch.lengths, legal_next(batch.x, batch.lengths).astype(np.float32))
    return batch


def legal_next(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(n, L, 7) bool: the symbols the grammar allows after each prefix x[:t+1] (steps 0 … length−2).

    The embedded automaton is deterministic given the symbols read, so the legal set is a function of the
    string itself. Raises ValueError for a string the grammar cannot produce.
    """
    n, steps, _ = x.shape
    legal = np.zeros((n, steps, len(SYMBOLS)), dtype=bool)
    for i in range(n):
        s = decode(x[i], int(lengths[i]))
        allowed = _legal_sets(s)
        for t, symbols in enumerate(allowed):
            legal[i, t, [INDEX[c] for c in symbols]] = True
    return legal


def _legal_sets(s: str) -> list[str]:
    """For each position t < len(s) − 1 the symbols legal at t + 1; checks that s is grammatical."""
    if len(s) < 9 or s[0] != "B" or s[1] not in "TP" or s[2] != "B" or s[-1] != "E" or s[-2] != s[1]:
        raise ValueError(f"not an embedded Reber string: {s!r}")
    out = ["TP", "B", "TP"]  # after B; after the branch symbol; after the inner B
    state = 0
    for c in s[3:-3]:
        moves = dict(REBER[state])
        if c not in moves:
            raise ValueError(f"not an embedded Reber string: {s!r}")
        state = moves[c]
        out.append("E" if state == 5 else "".join(m for m, _ in REBER[state]))
    if state != 5 or s[-3] != "E":
        raise ValueError(f"not an embedded Reber string: {s!r}")
    out += [s[1], "E"]  # after the inner E: the branch symbol again; after it: the final E
    return out


def max_length(  # noqa: D103 - the padded length is the cap
    max_length: int = 50, distinct: bool = False, targets: Literal["next", "legal"] = "next"
) -> int:
    return max_length


embedded_reber.max_length = max_length
embedded_reber.legal_next = legal_next
