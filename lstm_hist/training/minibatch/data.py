"""The minibatch trainer's data side: the task's splits, their batches, and the exact evaluation of a split.

A split is a tuple ``(x, y)`` / ``(x, y, sample_weight)`` of NumPy arrays (batched and shuffled here) or an
already batched ``tf.data.Dataset`` / ``keras.utils.PyDataset`` of such tuples (used as is); see the package
docstring for the contract with the paper module.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import numpy as np

from lstm_hist import interrupt
from lstm_hist.errors import UserError
from lstm_hist.training.trim import trim_padding

from .losses import split_metrics


def accepts(func: Callable, name: str) -> bool:
    """Whether ``func`` takes a keyword argument ``name`` (by name or through ``**kwargs``)."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def is_arrays(split) -> bool:
    return isinstance(split, (tuple, list)) and len(split) in (2, 3) and all(
        isinstance(a, np.ndarray) for a in split)


def load_data(experiment, task_cfg: dict, data_seed: int) -> dict[str, Any]:
    """``experiment.task(**task_cfg)`` (with ``seed=data_seed`` if the task takes it), checked: the splits the
    trainer fits and scores, so anything that recomputes a run's metrics gets the same ones."""
    task = experiment.task
    if task is None:
        raise UserError("the minibatch protocol needs experiment.task(**task_cfg) returning train/valid/test data")
    kwargs = dict(task_cfg)
    if accepts(task, "seed") and "seed" not in kwargs:
        kwargs["seed"] = data_seed
    data = task(**kwargs)
    if not isinstance(data, dict) or "train" not in data or "valid" not in data:
        raise UserError(f"experiment.task must return a dict with 'train' and 'valid' (and 'test'), got {type(data)}")
    for name, split in data.items():
        if is_arrays(split) and len({len(a) for a in split}) != 1:
            raise UserError(f"task split {name!r}: arrays differ in their first dimension")
    return data


def batches_per_epoch(split, batch_size: int) -> int | None:
    """Training batches of one epoch over ``split``; None for a ``tf.data.Dataset`` of unknown length."""
    if is_arrays(split):
        return math.ceil(len(split[0]) / batch_size)
    try:
        return len(split)
    except TypeError:  # a tf.data.Dataset of unknown length
        return None


def num_examples(split) -> int | None:
    return len(split[0]) if is_arrays(split) else None


def eval_batches(split, batch_size: int):
    """Yield (x, y, weight-or-None) NumPy batches of a split, in order."""
    if is_arrays(split):
        n = len(split[0])
        for start in range(0, n, batch_size):
            part = trim_padding(tuple(a[start : start + batch_size] for a in split))
            yield part[0], part[1], (part[2] if len(part) == 3 else None)
        return
    if hasattr(split, "as_numpy_iterator"):
        batches = split.as_numpy_iterator()
    else:  # keras.utils.PyDataset
        batches = (split[i] for i in range(len(split)))
    for batch in batches:
        batch = tuple(batch)
        yield batch[0], batch[1], (batch[2] if len(batch) > 2 else None)


def fit_input(split, batch_size: int, shuffle_seed: int):
    """What ``fit`` gets for the training split, and the dataset whose epoch order we set (arrays only)."""
    if not is_arrays(split):
        return split, None
    from .shuffled import EpochShuffled

    dataset = EpochShuffled(split, batch_size, shuffle_seed)
    return dataset, dataset


def evaluate_split(model, split, protocol, prefix: str) -> dict[str, float]:
    """Exact per-step / per-token metrics of one split (NumPy sums over all batches, ``protocol.loss_totals``)."""
    total, count = 0.0, 0
    batch_size = protocol.eval_batch_size or protocol.batch_size
    for x, y, weight in eval_batches(split, batch_size):
        interrupt.check()
        pred = np.asarray(model.predict_on_batch(x))
        t, c = protocol.loss_totals(y, pred, weight)
        total, count = total + t, count + c
    return split_metrics(protocol.loss, prefix, total, count)
