"""Where the 1997 trainers' sequences come from: fresh draws per trial, Exp 1's fixed training/test set pairs, and
trial-parallel prediction. Every trial draws from its own stream (lstm_hist.seeds), so its data depend on nothing
the other trials see."""

from __future__ import annotations

import numpy as np

from lstm_hist import seeds
from lstm_hist.arrays import aligned_stack
from lstm_hist.errors import UserError
from lstm_hist.experiment import SequenceBatch


def draw_chunk(task, task_cfg, streams, count):
    """``count`` updates' worth of data: x (count, N, L, in), mask (count, N, L), y (count, N, out)."""
    batches = [task(rng, count, **task_cfg) for rng in streams]
    x = aligned_stack([b.x for b in batches], axis=1)  # read in place by JAX: no per-update copy (2c: 89 MB)
    mask = np.stack([b.mask() for b in batches], axis=1)
    y = np.stack([b.y for b in batches], axis=1)
    return x, mask, y


def chunk_size(task, task_cfg, protocol) -> int:
    """Updates per data draw: 1000 (at most ``checkpoint_every``), fewer when one update's data is large
    (Exp 2a: 101 one-hot units × 101 steps per trial), and always a divisor of ``checkpoint_every`` so that
    checkpoints fall on chunk boundaries (a resumed run then draws exactly the sequences it would have)."""
    # Sized on the one-hot generator even when indices are fed: the chunk decides how the RNG is drawn from.
    probe = getattr(task, "dense", task)(seeds.probe_rng(), 1, **task_cfg)
    per_update = protocol.trials * (probe.x.nbytes + probe.y.nbytes)
    chunk = int(max(1, min(protocol.checkpoint_every, 1000, 64_000_000 // max(per_update, 1))))
    while protocol.checkpoint_every % chunk:
        chunk -= 1
    return chunk


def _sequence_key(batch: SequenceBatch, i: int) -> bytes:
    return batch.x[i, : batch.lengths[i]].tobytes()


def take(batch: SequenceBatch, index) -> SequenceBatch:
    """The sequences ``index`` of ``batch``."""
    return SequenceBatch(batch.x[index], batch.lengths[index], batch.y[index])


def concat(batches: list[SequenceBatch]) -> SequenceBatch:
    """The batches' sequences one after another (all of the same padded length)."""
    return SequenceBatch(*(np.concatenate(parts, axis=0) for parts in zip(*batches)))


def fixed_set_pairs(task, task_cfg, protocol, seed) -> list[tuple[SequenceBatch, SequenceBatch]]:
    """Exp 1 (§5.1, Table 11 "t1"): ``fixed_sets`` pairs of a training set and a disjoint test set.

    Pair j is drawn from its own stream (``lstm_hist.seeds.fixed_set_rng``): first ``training_set`` sequences (the
    grammar's own frequencies, so repeats are possible), then test candidates, keeping only those that do not
    occur in the training set, until ``test_set`` are kept.
    """
    pairs = []
    for j in range(protocol.fixed_sets):
        rng = seeds.fixed_set_rng(seed, j)
        train = task(rng, protocol.training_set, **task_cfg)
        known = {_sequence_key(train, i) for i in range(len(train.lengths))}
        kept, count = [], 0
        for _ in range(10_000):
            if count >= protocol.test_set:
                break
            candidates = task(rng, protocol.test_set, **task_cfg)
            index = [i for i in range(len(candidates.lengths)) if _sequence_key(candidates, i) not in known]
            index = index[: protocol.test_set - count]
            kept.append(take(candidates, np.array(index, dtype=np.int64)))
            count += len(index)
        if count < protocol.test_set:
            raise UserError(f"could not draw {protocol.test_set} test sequences outside the training set")
        pairs.append((train, concat(kept)))
    return pairs


class TrainingData:
    """Where each trial's training sequences come from: generated on-line (``draw_chunk``), or drawn at random
    from its pair's fixed training set (``protocol.fixed_sets``). Either way trial b uses only its own stream."""

    def __init__(self, task, task_cfg, protocol, seed, streams):
        self.task, self.task_cfg, self.streams = task, task_cfg, streams
        self.pairs = fixed_set_pairs(task, task_cfg, protocol, seed) if protocol.fixed_sets else None
        self.seed, self.epochs = seed, getattr(protocol, "exemplar_order", "random") == "epochs"

    def pair_of(self, b: int) -> tuple[SequenceBatch, SequenceBatch]:
        return self.pairs[b % len(self.pairs)]

    def draw(self, count: int, start: int = 0, rows=None):
        """``count`` updates' worth of data; ``start`` = sequences already seen (used by exemplar_order "epochs").
        ``rows``: draw for these trials only (their trial axis in that order; the others' streams are not read)."""
        rows = range(len(self.streams)) if rows is None else rows
        if self.pairs is None:
            return draw_chunk(self.task, self.task_cfg, [self.streams[b] for b in rows], count)
        batches = []
        for b in rows:
            rng = self.streams[b]
            train = self.pair_of(b)[0]
            n = len(train.lengths)
            index = self.epoch_index(b, n, start, count) if self.epochs else rng.integers(0, n, size=count)
            batches.append(take(train, index))
        x = np.stack([b.x for b in batches], axis=1)
        mask = np.stack([b.mask() for b in batches], axis=1)
        y = np.stack([b.y for b in batches], axis=1)
        return x, mask, y

    def epoch_index(self, b: int, n: int, start: int, count: int) -> np.ndarray:
        """Exemplars start … start+count−1 of trial b: epoch e is a permutation drawn from its own stream
        (``lstm_hist.seeds.epoch_order_rng``), so a resumed run draws the same ones."""
        first, last = start // n, (start + count - 1) // n
        order = np.concatenate([seeds.epoch_order_rng(self.seed, b, e).permutation(n)
                                for e in range(first, last + 1)])
        return order[start - first * n : start - first * n + count]


def predict_trials(model, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """x (N, k, L, in), mask (N, k, L) → outputs (N, k, …), trial b's weights on its own k rows. ``model``: a
    Keras model, or anything with its own ``predict_trials(x, mask)`` (the numba stepper's forward pass,
    :meth:`.numba_step.NumbaStepper.on_trials`)."""
    own = getattr(model, "predict_trials", None)
    if own is not None:
        return own(x, mask)
    n, k = x.shape[:2]
    pred = np.asarray(model.predict_on_batch([x.reshape(n * k, *x.shape[2:]), mask.reshape(n * k, -1)]))
    return pred.reshape(n, k, *pred.shape[1:])


def stack_per_trial(batches: list[SequenceBatch]):
    """One batch per trial → x (N, k, L, in), mask (N, k, L), y (N, k, …)."""
    return (np.stack([b.x for b in batches]), np.stack([b.mask() for b in batches]), np.stack([b.y for b in batches]))
