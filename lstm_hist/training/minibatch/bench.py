"""``lstm-hist bench`` for the minibatch trainer: time a few training batches and estimate an epoch and a run."""

from __future__ import annotations

import time

import numpy as np

from .data import batches_per_epoch, eval_batches, fit_input, load_data
from lstm_hist.seeds import minibatch_seeds

from .trainer import build_model


def bench_minibatch(protocol, *, experiment, task_cfg, model_cfg, seed=0, updates=None):
    """Time ``updates`` training batches (after 2 warm-up batches) and estimate epoch and run time
    (``estimated_wall_seconds``: one training run of ``protocol.epochs``; a protocol that trains several times
    scales it)."""
    seeds = minibatch_seeds(seed)
    data = load_data(experiment, task_cfg, seeds["data"])
    model = build_model(experiment, model_cfg, protocol, seeds["init"],
                        steps_per_epoch=batches_per_epoch(data["train"], protocol.batch_size))
    updates = updates or 20
    fit_x, shuffled = fit_input(data["train"], protocol.batch_size, seeds["shuffle"])
    if shuffled is not None:
        per_epoch = len(shuffled)
        shuffled.set_epoch(0)
        batch_at = shuffled.__getitem__
    else:
        batches = list(eval_batches(fit_x, protocol.batch_size))
        per_epoch = len(batches)
        batch_at = lambda i: tuple(b for b in batches[i] if b is not None)  # noqa: E731

    # Time full-size batches only: a smaller last batch has another shape and would be compiled again.
    full = [i for i in range(per_epoch) if len(batch_at(i)[0]) == len(batch_at(0)[0])]

    def step(i):
        batch = batch_at(full[i % len(full)])
        model.train_on_batch(batch[0], batch[1], sample_weight=batch[2] if len(batch) > 2 else None)

    warm = {}  # one batch of each shape the timed loop meets: each compiles once (trim.py buckets)
    for i in range(updates):
        warm.setdefault(tuple(np.shape(a) for a in batch_at(full[i % len(full)])), i)
    for i in [0, 1, *warm.values()]:
        step(i)
    start = time.perf_counter()
    for i in range(updates):
        step(i)
    seconds = time.perf_counter() - start
    rate = updates / seconds
    epoch_seconds = per_epoch / rate
    return {"updates": updates, "steps_per_second": rate, "batches_per_epoch": per_epoch,
            "estimated_epoch_seconds": epoch_seconds, "estimated_wall_seconds": epoch_seconds * protocol.epochs,
            "parameters": int(sum(int(np.prod(v.shape)) for v in model.trainable_variables))}
