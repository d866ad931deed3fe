"""What a paper module hands the shared layer: an :class:`Experiment` and the batches its task yields."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import numpy as np


class SequenceBatch(NamedTuple):
    """``n`` variable-length sequences, zero-padded after each one's end.

    x: (n, L, inputs) float32, or (n, L) int32 symbol indices where each step is one symbol (e.g. 1997's
    2a/2b/2c feed the index instead of a one-hot vector); lengths: (n,) int; y: (n, outputs) float32, the target
    at the sequence end, or (n, L, outputs) for tasks with a target at every step (``protocol.target: every_step``).
    """

    x: np.ndarray
    lengths: np.ndarray
    y: np.ndarray

    def mask(self) -> np.ndarray:
        """(n, L) bool, True on the real steps of each sequence."""
        steps = np.arange(self.x.shape[1])
        return steps[None, :] < self.lengths[:, None]


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One experiment of a paper: how to make its data and its model, and which protocol trains it.

    task:     ``task(rng, n, **config["task"]) -> SequenceBatch``, a pure function of the RNG, with a
              ``max_length(**config["task"])`` attribute (the padded length L). ``None`` for corpus experiments.
    model:    ``model(trials, **config["model"]) -> keras.Model``; inputs ``[x, mask]``, output ``(B, out)``.
    protocol: the protocol dataclass (e.g. ``OnlineProtocol``); ``config["protocol"]`` holds its fields.
    """

    task: Callable[..., Any] | None
    model: Callable[..., Any]
    protocol: type
    description: str = ""
