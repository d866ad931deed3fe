"""Padding cut to each batch's own length (bucketed), for sequence splits padded to the split's longest sequence.

Sequence tasks (e.g. Chung et al.'s piano rolls, ``lstm_hist.data.batching.next_step_arrays``) pad every sequence
with zeros to the longest of its split and give a (B, T) step mask as sample weight. With batch size 1 a
Nottingham piece of 254 steps is then run for 1,787 steps (7× the work on average; JSB 2.2×, Piano-midi 4.4×).
A batch only needs the steps up to its last real one: the recurrent models are causal (a step's output never
depends on later inputs), and the losses and metrics weigh padded steps 0 and divide by the mask's sum, so the cut
changes no number beyond float rounding. The length is rounded up to a bucket (8 per octave, at most 12.5 % extra
steps) so that a jitted training step compiles once per bucket, not once per length.
"""

from __future__ import annotations

import numpy as np

MIN_BUCKET = 8


def bucket_length(length: int) -> int:
    """The smallest ``m · 2**k`` ≥ length with m in 8…15 (lengths up to 8 are kept as they are, at least 1)."""
    length = max(int(length), 1)
    if length <= MIN_BUCKET:
        return length
    shift = length.bit_length() - 4  # keep the top 4 bits
    top = (length + (1 << shift) - 1) >> shift  # ceil(length / 2**shift), 8…16
    return top << shift


def trim_padding(batch: tuple) -> tuple:
    """``(x, y, w)`` with a (B, T) step mask ``w`` and (B, T, ...) ``x`` and ``y``, cut after the last real step.

    Anything else (no mask, other shapes) is returned unchanged.
    """
    if len(batch) != 3:
        return batch
    x, y, w = batch
    if not all(isinstance(a, np.ndarray) for a in batch) or w.ndim != 2 or x.ndim < 3 or y.ndim < 2:
        return batch
    if x.shape[:2] != w.shape or y.shape[:2] != w.shape:
        return batch
    real = np.flatnonzero(w.any(axis=0))
    keep = min(bucket_length(int(real[-1]) + 1 if len(real) else 1), w.shape[1])
    if keep == w.shape[1]:
        return batch
    return x[:, :keep], y[:, :keep], w[:, :keep]
