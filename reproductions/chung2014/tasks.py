"""Chung et al. (2014) §4 music data: next-step prediction of Boulanger-Lewandowski et al. (2012) piano rolls.

(The raw-speech task, :func:`speech_task`, lives in ``reproductions.chung2014.speech`` and is re-exported here.)

Each sequence gives inputs ``seq[:-1]`` and targets ``seq[1:]`` (jych/librnn ``music.py``), zero-padded to the
longest sequence of its split; the (n, L) sample weight is 1 on real steps, so the loss and the evaluation
weigh every real time step of a split equally (BL 2012's "average log-likelihood of a time step").
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from lstm_hist.data.batching import next_step_arrays
from lstm_hist.data.piano_roll import SPLITS, load_piano_roll
from lstm_hist.errors import DataError

from .speech import speech_task  # noqa: F401  (re-export: every task of the paper is reachable from here)


def music_task(
    dataset: Literal["jsb_chorales", "nottingham", "piano_midi", "muse_data"],
    dim: Literal["chung"] | int = "chung",
    predict_first: bool = False,
    max_sequences: int | None = None,
    max_steps: int | None = None,
    download: bool = False,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``{"train"|"valid"|"test": (x, y, sample_weight)}`` for the minibatch protocol.

    dataset: one of the four BL 2012 sets (``muse_data`` needs ``download: true`` or a local copy: its licence
        forbids redistribution, so it is never fetched unasked).
    dim: "chung" (93 / 96 / 105 / 108, §4), 88 (keyboard layout, MIDI 21 + j) or another width.
    predict_first: also score the first frame (from a zero input); off as in librnn and TCN.
    max_sequences, max_steps: keep only the first sequences / steps of each split (smoke runs; null = all).
    download: allow fetching from the canonical URL (needed for muse_data).
    """
    splits = load_piano_roll(dataset, dim=88 if dim == 88 else dim, download=download or None)
    out = {}
    for split in SPLITS:
        rolls = splits[split][:max_sequences] if max_sequences else splits[split]
        if max_steps:
            rolls = [roll[: max_steps + 1] for roll in rolls]
        if not rolls:
            raise DataError(f"{dataset} {split}: no sequences left (max_sequences={max_sequences})")
        out[split] = next_step_arrays(rolls, predict_first=predict_first)
    return out
