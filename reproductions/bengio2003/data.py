"""Brown as Bengio et al. (2003) §4 use it: one word stream, split 800,000 / 200,000 / rest, rare words merged.

Every model of Table 1 (the n-grams and the networks) scores the same tokens, so their perplexities compare:

* validation and test: **every token** of the part (§4: "every token counts"), its context taken from the words
  before it in the stream (the corpus is one stream, so the first words of the validation part are predicted
  from the last words of the training part);
* training: every token from position :data:`FIRST_SCORED` = 4 on (the first 4 words of the corpus have no full
  5-gram context; 799,996 of 800,000 tokens).

The stream (§4: "1,181,041 words" counting the "syntactical marks used to separate texts and paragraphs"): NLTK's
texts in file-id order, each paragraph followed by :data:`PARAGRAPH_MARK` and each text by :data:`TEXT_MARK`
(``separators: true``, the default: 1,161,192 words + 15,667 + 500 marks = 1,177,359 tokens). ``separators: false``
gives NLTK's bare 1,161,192 words.

Vocabulary: words of frequency ≤ 3 become ``<unk>`` (§4), counted over the whole stream by default
(``vocab_counts: stream``, the paper's reading: §4 counts the 47,578 distinct words over the stream, then merges the
rare ones "reducing the vocabulary size to |V| = 16,383"); ``vocab_counts: train`` counts the training part only
(a labelled variant, no peeking at valid/test). See docs/deviations.md (Bengio section, D1 and D4).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

import numpy as np

from lstm_hist.data.brown import load_brown_texts
from lstm_hist.errors import UserError

from .ngram import windows
from .vocab import Vocab, brown_splits, build_vocab

FIRST_SCORED = 4
TRAIN_TOKENS, VALID_TOKENS = 800_000, 200_000
VocabCounts = Literal["train", "stream"]
# One symbol each, written so that no Brown word can equal them (no Brown token contains "<").
PARAGRAPH_MARK, TEXT_MARK = "<p>", "<text>"


def bengio_stream_tokens(texts: list[list[list[str]]], separators: bool = True) -> list[str]:
    """The word stream of ``texts`` (each a list of paragraphs of words), in order.

    With ``separators``, every paragraph is followed by :data:`PARAGRAPH_MARK` and every text, after its last
    paragraph's mark, by :data:`TEXT_MARK`: one symbol per paragraph and one per text, the "syntactical marks used to
    separate texts and paragraphs" that §4 counts in its stream (their exact form is not stated).
    """
    tokens: list[str] = []
    for text in texts:
        for paragraph in text:
            tokens.extend(paragraph)
            if separators:
                tokens.append(PARAGRAPH_MARK)
        if separators:
            tokens.append(TEXT_MARK)
    return tokens


def load_bengio_stream(data_dir: str | None = None, separators: bool = True) -> list[str]:
    """NLTK's Brown as :func:`bengio_stream_tokens` lays it out (file-id order ca01 … cr09)."""
    return bengio_stream_tokens(load_brown_texts(data_dir), separators)


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
    vocab_counts: VocabCounts = "stream",
    separators: bool = True,
    data_dir: str | None = None,
) -> BrownStream:
    """Read, split (§4: first 800,000 / next 200,000 / rest), build the vocabulary, encode. Cached per arguments.

    ``test_tokens`` None = the rest (177,359 with NLTK's copy and separators, 161,192 without); smaller values cut the
    stream (smoke runs, whose "stream" for ``vocab_counts`` is then the cut one).
    """
    tokens = load_bengio_stream(data_dir, separators)
    return encode_stream(tokens, train_tokens, valid_tokens, test_tokens, min_count, vocab_counts)


def encode_stream(
    tokens: list[str],
    train_tokens: int = TRAIN_TOKENS,
    valid_tokens: int = VALID_TOKENS,
    test_tokens: int | None = None,
    min_count: int = 4,
    vocab_counts: VocabCounts = "stream",
) -> BrownStream:
    """Split a token stream by position, build the vocabulary (§4's rare-word rule over ``vocab_counts``), encode."""
    if vocab_counts not in ("train", "stream"):
        raise UserError(f"vocab_counts must be 'train' or 'stream', got {vocab_counts!r}")
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
    vocab_counts: VocabCounts = "stream",
    separators: bool = True,
    data_dir: str | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The NPLM task (``lstm_hist.training.minibatch`` contract): ``{"train"|"valid"|"test": (context, next word)}``.

    ``order`` is the paper's n (the network sees n − 1 words).
    """
    if order < 2:
        raise UserError(f"task.order must be >= 2, got {order}")
    stream = prepare_brown(train_tokens, valid_tokens, test_tokens, min_count, vocab_counts, separators, data_dir)
    return {name: stream.windows(name, order) for name in ("train", "valid", "test")}


def brown_stream(
    train_tokens: int = TRAIN_TOKENS,
    valid_tokens: int = VALID_TOKENS,
    test_tokens: int | None = None,
    min_count: int = 4,
    vocab_counts: VocabCounts = "stream",
    separators: bool = True,
    data_dir: str | None = None,
) -> BrownStream:
    """The n-gram task: the whole encoded stream and its part bounds (the n-gram protocol takes windows itself)."""
    return prepare_brown(train_tokens, valid_tokens, test_tokens, min_count, vocab_counts, separators, data_dir)
