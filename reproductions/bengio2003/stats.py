"""``lstm-hist data stats brown``: NLTK's Brown as Bengio et al. (2003) §4 prepare it, beside the paper's figures.

For each vocabulary rule (rare-word count over the whole stream, the default; over the training part, the labelled
variant) and with the separator marks of :mod:`.data` (the default) the rows give tokens, distinct types, |V| and
the ``<unk>`` share of each split; the bare stream (no marks) follows for comparison.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from lstm_hist.data.brown import load_brown_texts

from .data import PARAGRAPH_MARK, TEXT_MARK, TRAIN_TOKENS, VALID_TOKENS, bengio_stream_tokens
from .vocab import build_vocab

# Bengio et al. (2003) §4's figures for their copy of Brown.
PAPER_TOKENS = 1_181_041
PAPER_DISTINCT = 47_578
PAPER_VOCAB = 16_383
PAPER_SPLIT = (TRAIN_TOKENS, VALID_TOKENS, PAPER_TOKENS - TRAIN_TOKENS - VALID_TOKENS)

Row = tuple[str, Any, Any]


def stream_rows(tokens: list[str], label: str, min_count: int = 4) -> list[Row]:
    """Tokens, split sizes, distinct types, |V| and the ``<unk>`` share per split of one stream, for both rules."""
    parts = {"train": tokens[:TRAIN_TOKENS], "valid": tokens[TRAIN_TOKENS:TRAIN_TOKENS + VALID_TOKENS],
             "test": tokens[TRAIN_TOKENS + VALID_TOKENS:]}
    rows: list[Row] = [
        (f"{label}: tokens", len(tokens), PAPER_TOKENS),
        *((f"{label}: {name} tokens", len(part), paper) for (name, part), paper in zip(parts.items(), PAPER_SPLIT)),
        (f"{label}: distinct types (case kept)", len(set(tokens)), PAPER_DISTINCT),
    ]
    for rule, counted in (("stream", tokens), ("train", parts["train"])):
        vocab = build_vocab(counted, min_count)
        tag = f"{label}, counted over {'the whole stream' if rule == 'stream' else 'train only'}"
        rows.append((f"{tag}: |V| (freq >= {min_count}, + <unk>)", len(vocab), PAPER_VOCAB))
        for name, part in parts.items():
            rows.append((f"{tag}: <unk> share of {name}", round(float(np.mean(vocab.encode(part) == 0)), 4), None))
    return rows


def brown_stats(data_dir: str | os.PathLike | None = None, min_count: int = 4) -> list[Row]:
    """Rows ``(quantity, ours, paper)``: the default stream (with marks) first, then NLTK's bare words."""
    texts = load_brown_texts(data_dir)
    marked = bengio_stream_tokens(texts, separators=True)
    bare = bengio_stream_tokens(texts, separators=False)
    rows: list[Row] = [
        (f"texts ({TEXT_MARK} marks)", len(texts), None),
        (f"paragraphs ({PARAGRAPH_MARK} marks)", sum(len(text) for text in texts), None),
        *stream_rows(marked, "with marks (default)", min_count),
        *stream_rows(bare, "bare words", min_count),
    ]
    # How hard each part is for the simplest smooth model: on the train-counted vocabulary valid/test looked easier
    # (their larger <unk> share); on the whole-stream one they do not (docs/deviations.md, Bengio N7).
    vocab = build_vocab(marked, min_count)
    ids = vocab.encode(marked)
    counts = np.bincount(ids[:TRAIN_TOKENS], minlength=len(vocab)) + 1.0
    log_p = np.log(counts / counts.sum())
    bounds = {"train": (0, TRAIN_TOKENS), "valid": (TRAIN_TOKENS, TRAIN_TOKENS + VALID_TOKENS),
              "test": (TRAIN_TOKENS + VALID_TOKENS, len(ids))}
    for name, (a, b) in bounds.items():
        rows.append((f"with marks (default): unigram perplexity of {name} (add-one, train counts)",
                     round(float(np.exp(-log_p[ids[a:b]].mean())), 1), None))
    return rows
