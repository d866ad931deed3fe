"""Brown as Bengio et al. (2003) §4 use it: one word stream, split 800,000 / 200,000 / rest, rare words merged.

Every model of Table 1 (the n-grams and the networks) scores the same tokens, so their perplexities compare:

* validation and test: **every token** of the part (§4: "every token counts"), its context taken from the words
  before it in the stream (the corpus is one stream, so the first words of the validation part are predicted
  from the last words of the training part);
* training: every token from position :data:`FIRST_SCORED` = 4 on (the first 4 words of the corpus have no full
  5-gram context; 799,996 of 800,000 tokens).

Vocabulary: words of frequency ≤ 3 become ``<unk>`` (§4). Counted over the training part by default
(``vocab_counts: train``, no peeking at valid/test: |V| = 14,114 with NLTK's copy); ``stream`` counts over the
whole corpus like the paper may have (|V| = 17,905; the paper: 16,383 on its 1,181,041-word version).
See docs/deviations.md (Bengio section).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

import numpy as np

from lstm_hist.data.brown import Vocab, brown_splits, build_vocab, load_brown_tokens
from lstm_hist.errors import UserError

from .ngram import windows

FIRST_SCORED = 4
TRAIN_TOKENS, VALID_TOKENS = 800_000, 200_000
VocabCounts = Literal["train", "stream"]


@dataclasses.dataclass(frozen=True)
class BrownStream:
    """The id stream and the bounds of its parts: train = [0, a), valid = [a, b), test = [b, c)."""

    ids: np.ndarray
    bounds: tuple[int, int, int]
    vocab: Vocab

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def part(self, name: str) -> tuple[int, int]:
        a, b, c = self.bounds
        return {"train": (FIRST_SCORED, a), "valid": (a, b), "test": (b, c)}[name]

    def windows(self, name: str, order: int) -> tuple[np.ndarray, np.ndarray]:
        """(context (N, order − 1) int32, oldest word first; target (N,) int32) for the scored tokens of a part."""
        start, stop = self.part(name)
        context, target = windows(self.ids, order, start, stop)
        return context.astype(np.int32), target.astype(np.int32)


@functools.lru_cache(maxsize=4)
def prepare_brown(
    train_tokens: int = TRAIN_TOKENS,
    valid_tokens: int = VALID_TOKENS,
    test_tokens: int | None = None,
    min_count: int = 4,
    vocab_counts: VocabCounts = "train",
    data_dir: str | None = None,
) -> BrownStream:
    """Read, split (§4: first 800,000 / next 200,000 / rest), build the vocabulary, encode. Cached per arguments.

    ``test_tokens`` None = the rest (161,192 with NLTK's copy); smaller values cut the stream (smoke runs).
    """
    if vocab_counts not in ("train", "stream"):
        raise UserError(f"vocab_counts must be 'train' or 'stream', got {vocab_counts!r}")
    tokens = load_brown_tokens(data_dir)
    train, valid, test = brown_splits(tokens, train=train_tokens, valid=valid_tokens)
    if test_tokens is not None:
        test = test[:test_tokens]
    vocab = build_vocab(train if vocab_counts == "train" else [*train, *valid, *test], min_count=min_count)
    ids = vocab.encode([*train, *valid, *test]).astype(np.int64)
    ids.setflags(write=False)
    return BrownStream(ids=ids, bounds=(len(train), len(train) + len(valid), len(ids)), vocab=vocab)


def brown_windows(
    order: int,
    train_tokens: int = TRAIN_TOKENS,
    valid_tokens: int = VALID_TOKENS,
    test_tokens: int | None = None,
    min_count: int = 4,
    vocab_counts: VocabCounts = "train",
    data_dir: str | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The NPLM task (``lstm_hist.training.minibatch`` contract): ``{"train"|"valid"|"test": (context, next word)}``.

    ``order`` is the paper's n (the network sees n − 1 words).
    """
    if order < 2:
        raise UserError(f"task.order must be >= 2, got {order}")
    stream = prepare_brown(train_tokens, valid_tokens, test_tokens, min_count, vocab_counts, data_dir)
    return {name: stream.windows(name, order) for name in ("train", "valid", "test")}


def brown_stream(
    train_tokens: int = TRAIN_TOKENS,
    valid_tokens: int = VALID_TOKENS,
    test_tokens: int | None = None,
    min_count: int = 4,
    vocab_counts: VocabCounts = "train",
    data_dir: str | None = None,
) -> BrownStream:
    """The n-gram task: the whole encoded stream and its part bounds (the n-gram protocol takes windows itself)."""
    return prepare_brown(train_tokens, valid_tokens, test_tokens, min_count, vocab_counts, data_dir)
