"""NLTK's Brown corpus read as words: the stream, its texts and paragraphs, a positional split, a frequency vocabulary.

Generic reading only: which split, which rare-word count and which separator marks a paper uses is the paper's
choice (Bengio et al. 2003: ``reproductions/bengio2003/data.py``). NLTK's copy has 500 texts (one per file) and
1,161,192 tokens; inside a file, blank lines separate 15,667 paragraphs (blocks of one or more sentence lines).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import zipfile
from typing import Iterable, Sequence

import numpy as np

from lstm_hist.data.resolution import resolve_file
from lstm_hist.errors import DataError

BROWN_TOKENS = 1_161_192
UNK = "<unk>"
_TEXT_FILE = re.compile(r"^brown/c[a-r]\d\d$")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
BROWN_TEXTS, BROWN_PARAGRAPHS = 500, 15_667


def split_paragraphs(text: str) -> list[list[str]]:
    """The paragraphs of one Brown file (blocks between blank lines), each a list of words with tags stripped."""
    blocks = (block.split() for block in _BLANK_LINES.split(text))
    return [[token.rsplit("/", 1)[0] for token in block] for block in blocks if block]


def load_brown_texts(data_dir: str | os.PathLike | None = None) -> list[list[list[str]]]:
    """Every text of ``brown.zip`` in sorted file-id order (ca01 … cr09), as paragraphs of words."""
    path = resolve_file("brown", "brown.zip", data_dir=data_dir)
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(name for name in archive.namelist() if _TEXT_FILE.match(name))
            if len(names) != BROWN_TEXTS:
                raise DataError(f"{path}: expected {BROWN_TEXTS} Brown text files, found {len(names)}")
            return [split_paragraphs(archive.read(name).decode("ascii")) for name in names]
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path} is not a zip file ({exc})") from None


def load_brown_tokens(data_dir: str | os.PathLike | None = None) -> list[str]:
    """Every word of ``brown.zip`` in sorted file-id order (ca01 … cr09), tags stripped (``rsplit('/', 1)``)."""
    return [token for text in load_brown_texts(data_dir) for paragraph in text for token in paragraph]


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
