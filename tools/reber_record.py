"""What the embedded-Reber profile tools share (``reber_error_profile``, ``reber_branch_profile``,
``reber_gradient_paths``): a record's row, config, seed and fixed training/test pairs, and a weights file's per-trial
arrays with the trials' solved flags."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np


@dataclass
class ReberRecord:
    experiment: object
    cfg: dict
    seed: int
    pairs: list  # (train, test) per fixed set pair; trial b uses pair b mod len(pairs)
    arrays: list[np.ndarray]  # the trainable variables in order, each (trials, …)
    solved: np.ndarray  # (trials,) bool
    seen: int  # training strings behind the weights

    def model(self, arrays: list[np.ndarray] | None = None, **overrides):
        """The record's trial-parallel net (its model config with ``overrides``), holding ``arrays`` (default: the
        file's weights)."""
        model = self.experiment.model(trials=self.arrays[0].shape[0], **{**self.cfg["model"], **overrides})
        values = (arrays or self.arrays)[: len(model.trainable_variables)]
        for variable, value in zip(model.trainable_variables, values, strict=True):
            variable.assign(value)
        return model


def load_record(path: str, checkpoint: str | None = None, backend: str | None = None) -> ReberRecord:
    """The record at ``path`` with the weights of ``checkpoint`` (a run's ``checkpoint.npz``), or else its final
    weights (``<record>.weights.npz``); rebuilds the fixed training/test pairs from its resolved config and seed."""
    from lstm_hist.backend import select_backend

    select_backend(backend)
    from lstm_hist.registry import load
    from reproductions.hochreiter1997.training.data import fixed_set_pairs
    from reproductions.hochreiter1997.training.protocol import OnlineProtocol

    record = json.loads(open(path, encoding="utf-8").read())
    _, _, experiment, _ = load(record["id"].split(".smoke")[0])
    cfg = record["config"]
    seed = record["seed"] if "seed" in record else record["seeds"]["seed"]
    pairs = fixed_set_pairs(experiment.task, cfg["task"], OnlineProtocol(**cfg["protocol"]), seed)
    if checkpoint:
        weights = np.load(checkpoint)
        prefix, solved, seen = "model_", weights["solved"], int(weights["seen"])
    else:
        weights = np.load(path.removesuffix(".json") + ".weights.npz")
        prefix, solved = "arr_", np.array([t["solved"] for t in record["trials"]])
        seen = int(record["metrics"].get("sequences_seen") or cfg["protocol"]["max_sequences"])
    count = sum(1 for name in weights.files if name.startswith(prefix) and name[len(prefix):].isdigit())
    # A checkpoint stores the trainable variables first (then any non-trainable state); a record's final weights
    # hold model.weights, which for these nets are the trainable ones.
    arrays = [weights[f"{prefix}{k}"] for k in range(count)]
    return ReberRecord(experiment, cfg, seed, pairs, arrays, np.asarray(solved, dtype=bool), seen)
