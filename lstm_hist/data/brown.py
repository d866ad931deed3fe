"""The Brown corpus as a word stream, Bengio et al. (2003) §4 split and rare-word vocabulary.

Bengio et al. use "1,181,041 words": the first 800,000 for training, the next 200,000 for validation, the rest
for test, with words of frequency ≤ 3 merged into one symbol (|V| = 16,383). NLTK's copy gives 1,161,192
tokens (no text/paragraph separator marks), so the test part here is 161,192 tokens; the paper does not say
whether the rare-word count is over the training part or the whole stream — :func:`build_vocab` counts what it
is given (the training part, in our experiments; see docs/data.md).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import zipfile
from typing import Any, Iterable, Sequence

import numpy as np

from lstm_hist.data.resolution import resolve_file
from lstm_hist.errors import DataError

BROWN_TOKENS = 1_161_192
UNK = "<unk>"
_TEXT_FILE = re.compile(r"^brown/c[a-r]\d\d$")


def load_brown_tokens(data_dir: str | os.PathLike | None = None) -> list[str]:
    """Every word of ``brown.zip`` in sorted file-id order (ca01 … cr09), tags stripped (``rsplit('/', 1)``)."""
    path = resolve_file("brown", "brown.zip", data_dir=data_dir)
    tokens: list[str] = []
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(name for name in archive.namelist() if _TEXT_FILE.match(name))
            if len(names) != 500:
                raise DataError(f"{path}: expected 500 Brown text files, found {len(names)}")
            for name in names:
                text = archive.read(name).decode("ascii")
                tokens.extend(token.rsplit("/", 1)[0] for token in text.split())
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path} is not a zip file ({exc})") from None
    return tokens


def brown_splits(
    tokens: Sequence[str], train: int = 800_000, valid: int = 200_000
) -> tuple[list[str], list[str], list[str]]:
    """Split a stream by position: ``[0, train)``, ``[train, train + valid)``, the rest (Bengio et al. §4)."""
    if train <= 0 or valid < 0 or train + valid >= len(tokens):
        raise DataError(f"cannot split {len(tokens)} tokens into train={train}, valid={valid} and a non-empty test")
    return list(tokens[:train]), list(tokens[train : train + valid]), list(tokens[train + valid :])


@dataclasses.dataclass(frozen=True)
class Vocab:
    """Word ↔ id map; id 0 is ``<unk>``, the rest by decreasing training frequency, ties alphabetical."""

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


def build_vocab(train_tokens: Iterable[str], min_count: int = 4) -> Vocab:
    """Keep words seen at least ``min_count`` times, map the rest to one ``<unk>`` (Bengio et al. §4).

    ``len(vocab)`` is |V| including ``<unk>``.
    """
    if min_count < 1:
        raise DataError(f"min_count must be >= 1, got {min_count}")
    counts = collections.Counter(train_tokens)
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


# Bengio et al. (2003) §4's figures for their copy of Brown, printed beside ours by `lstm-hist data stats brown`.
PAPER_TOKENS = 1_181_041
PAPER_DISTINCT = 47_578
PAPER_VOCAB = 16_383


def brown_stats(data_dir: str | os.PathLike | None = None, min_count: int = 4) -> list[tuple[str, Any, Any]]:
    """Rows ``(quantity, ours, paper)`` for the Bengio et al. (2003) §4 preparation of NLTK's Brown.

    The split is 800,000 / 200,000 / rest in corpus order; |V| keeps words seen ≥ ``min_count`` times (the paper's
    "frequency ≤ 3 → one symbol") counted on the training part (our default) or on the whole stream (the paper does
    not say which); ``<unk>`` is included in |V|.
    """
    tokens = load_brown_tokens(data_dir)
    train, valid, test = brown_splits(tokens)
    vocab_train = build_vocab(train, min_count)
    vocab_stream = build_vocab(tokens, min_count)
    rows: list[tuple[str, Any, Any]] = [
        ("tokens in the stream", len(tokens), PAPER_TOKENS),
        ("difference from the paper", len(tokens) - PAPER_TOKENS, None),
        ("train tokens (first)", len(train), 800_000),
        ("valid tokens (next)", len(valid), 200_000),
        ("test tokens (rest)", len(test), PAPER_TOKENS - 1_000_000),
        ("distinct tokens (case kept)", len(set(tokens)), PAPER_DISTINCT),
        (f"|V|, frequency >= {min_count} in train, + <unk>", len(vocab_train), PAPER_VOCAB),
        (f"|V|, frequency >= {min_count} in the stream, + <unk>", len(vocab_stream), PAPER_VOCAB),
    ]
    encoded = {name: vocab_train.encode(part) for name, part in (("train", train), ("valid", valid), ("test", test))}
    for name, ids in encoded.items():
        rows.append((f"<unk> rate in {name} (train-counted |V|)", round(float(np.mean(ids == 0)), 4), None))
    # The later genres (valid/test) are easier for a smooth model: this is why a network that underfits can show
    # a higher train than valid perplexity (docs/deviations.md, Bengio N7).
    counts = np.bincount(encoded["train"], minlength=len(vocab_train)) + 1.0
    log_p = np.log(counts / counts.sum())
    for name, ids in encoded.items():
        rows.append((f"unigram perplexity of {name} (add-one, train counts)",
                     round(float(np.exp(-log_p[ids].mean())), 1), None))
    return rows
