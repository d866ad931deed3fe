"""Turn variable-length sequences into padded next-step-prediction batches: plain numpy, and tf.data beside it.

The minibatch protocol consumes ``(x, y, sample_weight)`` (see ``lstm_hist.training.minibatch``): ``x`` the
inputs, ``y`` the targets one step ahead, ``sample_weight`` (B, L) float32 with 1 on real steps and 0 on
padding. Padding is zeros after each sequence's end and carries zero weight, so a per-step metric weighted by
``sample_weight`` counts every real step once (Boulanger-Lewandowski et al. 2012's evaluation convention).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from lstm_hist.errors import DataError


def next_step_pairs(sequence: np.ndarray, predict_first: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) for next-step prediction of one (T, D) sequence.

    ``predict_first=False``: inputs ``seq[:-1]``, targets ``seq[1:]`` (jych/librnn, locuslab/TCN; T − 1
    scored steps). ``True``: a zero frame is prepended to the inputs so all T steps are scored.
    """
    sequence = np.asarray(sequence, np.float32)
    if predict_first:
        inputs = np.concatenate([np.zeros_like(sequence[:1]), sequence[:-1]])
        return inputs, sequence
    if len(sequence) < 2:
        raise DataError(f"a sequence needs at least 2 steps for next-step prediction, got {len(sequence)}")
    return sequence[:-1], sequence[1:]


def pad_sequences(sequences: Sequence[np.ndarray], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stack (T_i, D) arrays into (n, L, D) float32 zero-padded after each end, plus a (n, L) float32 mask."""
    if not sequences:
        raise DataError("no sequences to pad")
    length = length or max(len(s) for s in sequences)
    dim = sequences[0].shape[1:]
    out = np.zeros((len(sequences), length, *dim), np.float32)
    mask = np.zeros((len(sequences), length), np.float32)
    for i, seq in enumerate(sequences):
        steps = min(len(seq), length)
        out[i, :steps] = seq[:steps]
        mask[i, :steps] = 1.0
    return out, mask


def next_step_arrays(
    sequences: Sequence[np.ndarray], predict_first: bool = False, length: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, sample_weight)`` for a whole split, padded to its longest sequence (or ``length``)."""
    pairs = [next_step_pairs(seq, predict_first) for seq in sequences]
    x, mask = pad_sequences([p[0] for p in pairs], length)
    y, _ = pad_sequences([p[1] for p in pairs], length)
    return x, y, mask


def iterate_batches(
    arrays: Sequence[np.ndarray],
    batch_size: int,
    shuffle: bool = False,
    rng: np.random.Generator | None = None,
    drop_remainder: bool = False,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield aligned slices of ``arrays`` (same first dimension), optionally in a seeded random order."""
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise DataError(f"arrays differ in length: {[len(a) for a in arrays]}")
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1, got {batch_size}")
    order = (rng or np.random.default_rng()).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_remainder else n
    for start in range(0, stop, batch_size):
        index = order[start : start + batch_size]
        yield tuple(a[index] for a in arrays)


def to_tf_dataset(
    arrays: Sequence[np.ndarray],
    batch_size: int,
    shuffle: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
):
    """The same batches as :func:`iterate_batches`, as a ``tf.data.Dataset`` (TensorFlow imported lazily)."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(tuple(arrays))
    if shuffle:
        dataset = dataset.shuffle(len(arrays[0]), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def next_step_tf_dataset(
    sequences: Sequence[np.ndarray],
    batch_size: int,
    shuffle: bool = False,
    seed: int | None = None,
    predict_first: bool = False,
):
    """Variable-length ``(x, y, sample_weight)`` batches padded per batch (less padding than one global pad)."""
    import tensorflow as tf

    dim = sequences[0].shape[1]

    def generate():
        for seq in sequences:
            x, y = next_step_pairs(seq, predict_first)
            yield x, y, np.ones(len(x), np.float32)

    spec = (
        tf.TensorSpec((None, dim), tf.float32),
        tf.TensorSpec((None, dim), tf.float32),
        tf.TensorSpec((None,), tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    if shuffle:
        dataset = dataset.shuffle(len(sequences), seed=seed, reshuffle_each_iteration=True)
    return dataset.padded_batch(batch_size).prefetch(tf.data.AUTOTUNE)
