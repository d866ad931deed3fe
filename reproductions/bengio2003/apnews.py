"""AP News (Bengio et al. 2003, §4, Table 2) as a **user-supplied** corpus: the data are licensed (LDC), so nothing
is downloaded or shipped, and no numbers are claimed.

Layout: a folder with ``train.txt``, ``valid.txt`` and ``test.txt``, whitespace-separated tokens (line breaks are
ordinary whitespace; the corpus is one stream per part, §4). Give it as ``task.data_dir`` or as
``$LSTM_HIST_DATA/apnews``. The paper's sizes: 13,994,528 / 963,138 / 963,071 words.

Vocabulary (§4): the paper lower-cases everything, maps numeric forms to special symbols, keeps the most frequent
words and punctuation, maps rare words to one symbol and proper nouns to another: |V| = 17,964 from 148,721
distinct tokens. Here: lower-case; a token with a digit becomes ``<num>``; the ``vocab_size − 1`` most frequent
training tokens are kept (ties alphabetical) and every other token becomes ``<unk>``. The proper-noun symbol needs
a tagger the paper does not name: not done (docs/deviations.md (Bengio section)).
"""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

import numpy as np

from lstm_hist.errors import DataError

from .data import BrownStream
from .vocab import UNK, Vocab

PARTS = ("train", "valid", "test")
NUM = "<num>"
_DIGIT = re.compile(r"\d")


def apnews_dir(data_dir: str | None) -> Path:
    """``data_dir``, else ``$LSTM_HIST_DATA/apnews``; a DataError saying what to put where if neither has the files."""
    candidates = [Path(data_dir)] if data_dir else []
    if os.environ.get("LSTM_HIST_DATA"):
        candidates.append(Path(os.environ["LSTM_HIST_DATA"]) / "apnews")
    for folder in candidates:
        if all((folder / f"{part}.txt").is_file() for part in PARTS):
            return folder
    raise DataError("AP News is licensed and not downloaded: put train.txt, valid.txt and test.txt (whitespace "
                    "tokens) in a folder and pass it as task.data_dir (or $LSTM_HIST_DATA/apnews); looked in "
                    f"{', '.join(str(c) for c in candidates) or '(no folder given)'}")


def normalise(token: str) -> str:
    """Lower-case; any token containing a digit becomes ``<num>`` (§4: numeric forms → special symbols)."""
    return NUM if _DIGIT.search(token) else token.lower()


def apnews_vocab(train_tokens: list[str], vocab_size: int) -> Vocab:
    """``<unk>`` plus the ``vocab_size − 1`` most frequent (normalised) training tokens."""
    if vocab_size < 2:
        raise DataError(f"vocab_size must be >= 2, got {vocab_size}")
    counts = collections.Counter(train_tokens)
    counts.pop(UNK, None)
    kept = sorted(counts, key=lambda w: (-counts[w], w))[: vocab_size - 1]
    return Vocab(words=(UNK, *kept), min_count=min(counts[w] for w in kept) if kept else 1)


def apnews_stream(data_dir: str | None = None, vocab_size: int = 17_964) -> BrownStream:
    """The encoded AP News stream and its part bounds (same interface as the Brown stream, so the n-gram protocol
    and :meth:`BrownStream.windows` work unchanged)."""
    folder = apnews_dir(data_dir)
    parts = {p: [normalise(t) for t in (folder / f"{p}.txt").read_text(encoding="utf-8").split()] for p in PARTS}
    if len(parts["train"]) < 10:
        raise DataError(f"{folder / 'train.txt'}: too few tokens ({len(parts['train'])})")
    vocab = apnews_vocab(parts["train"], vocab_size)
    ids = vocab.encode([*parts["train"], *parts["valid"], *parts["test"]]).astype(np.int64)
    a = len(parts["train"])
    b = a + len(parts["valid"])
    return BrownStream(ids=ids, bounds=(a, b, len(ids)), vocab=vocab)
