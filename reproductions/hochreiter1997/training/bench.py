"""``lstm-hist bench`` for the online protocol: updates per second on this machine and the run's wall time."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from lstm_hist import seeds

from ..symbols import task_for
from .data import TrainingData, chunk_size
from .online import build_learner
from .protocol import OnlineProtocol


def bench_online(
    *,
    protocol: OnlineProtocol,
    experiment,
    task_cfg: dict,
    model_cfg: dict,
    seed: int = 0,
    updates: int = 300,
    reported: dict | None = None,
) -> dict[str, Any]:
    """Updates per second of this protocol on this machine, and the wall time of the paper's protocol."""
    import keras

    model, _, stepper = build_learner(experiment, model_cfg, protocol, seed)
    streams = seeds.trial_streams(seed, "train", protocol.trials)
    data = TrainingData(task_for(experiment.task, model), task_cfg, protocol, seed, streams)
    k = min(updates + 20, chunk_size(experiment.task, task_cfg, protocol))  # data reused cyclically if large
    x, mask, y = data.draw(k)
    active = np.ones(protocol.trials, dtype=bool)
    for i in range(20):  # compile and warm up
        stepper(x[i % k], mask[i % k], y[i % k], active)
    start = time.perf_counter()
    for i in range(20, updates + 20):
        stepper(x[i % k], mask[i % k], y[i % k], active)
    seconds = (time.perf_counter() - start) / updates
    out: dict[str, Any] = {
        "backend": keras.backend.backend(),
        "trials": protocol.trials,
        "updates": updates,
        "ms_per_update": round(seconds * 1e3, 3),
        "updates_per_second": round(1.0 / seconds, 1),
        "sequences_per_second": round(protocol.trials / seconds, 1),
        "estimated_seconds_at_cap": round(protocol.max_sequences * seconds, 1),
    }
    # The run lasts as long as its slowest trial, so the paper's max (or, failing that, its mean) bounds it.
    for key in ("sequences_mean", "sequences_max"):
        if reported and reported.get(key):
            out[f"estimated_seconds_at_paper_{key.split('_')[1]}"] = round(float(reported[key]) * seconds, 1)
    return out
