"""Words to ids for Bengio et al. (2003): the positional split of a word stream, the frequency vocabulary with its
rare-word rule, and the n-gram (context, next word) pairs of eq. 1.

§4: the first 800,000 words for training, the next 200,000 for validation ("model selection, weight decay, early
stopping"), the rest for test; words of frequency ≤ 3 merged into one symbol. Reading the corpus is the data layer's (``lstm_hist.data.brown``); which tokens are counted and which
separator marks are added is :mod:`.data`'s.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Iterable, Sequence

import numpy as np

from lstm_hist.errors import DataError

UNK = "<unk>"


def brown_splits(
    tokens: Sequence[str], train: int = 800_000, valid: int = 200_000
) -> tuple[list[str], list[str], list[str]]:
    """Split a stream by position: ``[0, train)``, ``[train, train + valid)``, the rest (Bengio et al. §4)."""
    if train <= 0 or valid < 0 or train + valid >= len(tokens):
        raise DataError(f"cannot split {len(tokens)} tokens into train={train}, valid={valid} and a non-empty test")
    return list(tokens[:train]), list(tokens[train : train + valid]), list(tokens[train + valid :])


@dataclasses.dataclass(frozen=True)
class Vocab:
    """Word ↔ id map; id 0 is ``<unk>``, the rest by decreasing frequency in the counted tokens, ties alphabetical."""

    words: tuple[str, ...]
    min_count: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {word: i for i, word in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    @property
    def unk_id(self) -> int:
        return 0

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """int32 ids; words not in the vocabulary map to ``<unk>``."""
        index = self._index  # type: ignore[attr-defined]
        return np.fromiter((index.get(token, 0) for token in tokens), dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.words[int(i)] for i in ids]


def build_vocab(counted_tokens: Iterable[str], min_count: int = 4) -> Vocab:
    """Keep words seen at least ``min_count`` times in ``counted_tokens``, map the rest to one ``<unk>``.

    ``len(vocab)`` is |V| including ``<unk>``. Which tokens are counted (a training part, a whole stream) is the
    caller's choice.
    """
    if min_count < 1:
        raise DataError(f"min_count must be >= 1, got {min_count}")
    counts = collections.Counter(counted_tokens)
    kept = sorted((word for word, count in counts.items() if count >= min_count and word != UNK),
                  key=lambda word: (-counts[word], word))
    return Vocab(words=(UNK, *kept), min_count=min_count)


def ngram_examples(ids: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (context, next word) pair of an id stream for an ``order``-gram model (Bengio et al. eq. 1).

    Returns ``context`` (N, order − 1) int32 with the oldest word first, and ``target`` (N,) int32, where
    N = len(ids) − order + 1 (the first order − 1 words have no full context and are not predicted).
    """
    ids = np.asarray(ids, dtype=np.int32)
    if order < 2 or len(ids) < order:
        raise DataError(f"need order >= 2 and at least {order} ids, got order={order}, {len(ids)} ids")
    windows = np.lib.stride_tricks.sliding_window_view(ids, order)
    return np.ascontiguousarray(windows[:, :-1]), np.ascontiguousarray(windows[:, -1])
