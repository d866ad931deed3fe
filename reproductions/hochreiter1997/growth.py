"""When to add the next memory cell: the "error stops decreasing" test of sequential network construction.

§4 ("abuse problem", solution 1) and §5.2 (Exp 2a/2b): "a memory cell and the corresponding gate units are added
to the network whenever the error stops decreasing". The paper gives no test for "stops decreasing"; ours
(docs/deviations.md, E2.10) is cascade-correlation's stagnation test (Fahlman's output-training patience), read
for an online learner:

* the training error E = Σ_t Σ_k (t_k(t) − y_k(t))² (eq. 16) of each sequence, measured online (the weights as
  they were before that sequence's updates), is averaged over consecutive blocks of ``window`` sequences;
* a block *decreases* the error when its mean is below (1 − ``min_decrease``) × the reference, the mean of the
  last block that decreased it (the first block of a stage sets the reference);
* after ``patience`` blocks in a row that did not decrease it, the error has stopped decreasing: the next block
  of cells (with its gates) is added, active from the next sequence on, and a new stage starts (no reference).

Pure NumPy, one state row per trial, so the trials of one graph grow independently; ``state``/``load`` carry it
through checkpoints. Sequence counts are the run's (every sequence of every stage counts, as in the paper).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lstm_hist.errors import UserError


@dataclasses.dataclass(frozen=True)
class GrowthRule:
    """The ``protocol.construction`` keys.

    window: sequences per error mean (one "epoch"; 2 = the two sequences of Exp 2a's training set).
    patience: blocks in a row without a decrease before the next cell is added (cascade-correlation: 8).
    min_decrease: relative decrease a block must reach to count (cascade-correlation: 0.01).
    """

    window: int = 2
    patience: int = 8
    min_decrease: float = 0.01

    def __post_init__(self):
        if self.window < 1 or self.patience < 1:
            raise UserError(f"protocol.construction: window and patience must be at least 1, got "
                            f"window={self.window}, patience={self.patience}")  # fmt: skip
        if not 0.0 <= self.min_decrease < 1.0:
            raise UserError(f"protocol.construction.min_decrease must be in [0, 1), got {self.min_decrease}")

    @classmethod
    def from_config(cls, cfg: dict) -> "GrowthRule":
        if not isinstance(cfg, dict):
            raise UserError(f"protocol.construction must be a mapping, got {cfg!r}")
        known = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = sorted(set(cfg) - set(known))
        if unknown:
            raise UserError(f"protocol.construction: unknown key(s) {', '.join(unknown)} "
                            f"(known: {', '.join(known)})")  # fmt: skip
        for key, value in cfg.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UserError(f"protocol.construction.{key} must be a number, got {value!r}")
            if key != "min_decrease" and int(value) != value:
                raise UserError(f"protocol.construction.{key} must be an integer, got {value!r}")
        return cls(**{k: (float(v) if k == "min_decrease" else int(v)) for k, v in cfg.items()})


class Growth:
    """Per-trial stagnation tracking. ``observe`` returns the trials whose error has just stopped decreasing."""

    def __init__(self, rule: GrowthRule, trials: int, blocks: int, initial_blocks: np.ndarray):
        self.rule = rule
        self.blocks = blocks
        self.active_blocks = np.array(initial_blocks, dtype=np.int64).reshape(trials)
        self.block_sum = np.zeros(trials)
        self.block_count = np.zeros(trials, dtype=np.int64)
        self.reference = np.full(trials, np.inf)
        self.stale = np.zeros(trials, dtype=np.int64)
        self.added_at = np.zeros((trials, blocks), dtype=np.int64)  # sequence count when block j was added (0: never)

    def observe(self, rows: np.ndarray, error: np.ndarray, seen: int) -> np.ndarray:
        """Record one sequence's error E for each trial in ``rows`` (bool (N,)); returns bool (N,): the trials
        that get their next block now (``active_blocks`` and ``added_at`` already updated)."""
        rows = rows & (self.active_blocks < self.blocks)  # a full net has nothing left to add
        self.block_sum[rows] += error[rows]
        self.block_count[rows] += 1
        closed = rows & (self.block_count >= self.rule.window)
        mean = np.where(closed, self.block_sum / np.maximum(self.block_count, 1), np.inf)
        decreased = closed & (mean < (1.0 - self.rule.min_decrease) * self.reference)
        self.reference[decreased] = mean[decreased]
        self.stale[decreased] = 0
        self.stale[closed & ~decreased] += 1
        self.block_sum[closed], self.block_count[closed] = 0.0, 0
        fired = closed & (self.stale >= self.rule.patience)
        for b in np.flatnonzero(fired):
            self.added_at[b, self.active_blocks[b]] = seen
        self.active_blocks[fired] += 1
        self.reference[fired], self.stale[fired] = np.inf, 0
        return fired

    def state(self) -> dict[str, np.ndarray]:
        return {"growth_active_blocks": self.active_blocks, "growth_block_sum": self.block_sum,
                "growth_block_count": self.block_count, "growth_reference": self.reference,
                "growth_stale": self.stale, "growth_added_at": self.added_at}  # fmt: skip

    def load(self, arrays) -> None:
        self.active_blocks = np.array(arrays["growth_active_blocks"])
        self.block_sum = np.array(arrays["growth_block_sum"])
        self.block_count = np.array(arrays["growth_block_count"])
        self.reference = np.array(arrays["growth_reference"])
        self.stale = np.array(arrays["growth_stale"])
        self.added_at = np.array(arrays["growth_added_at"])

    def per_trial(self, b: int) -> dict:
        """Trial b's construction history for its record row."""
        return {"blocks_active": int(self.active_blocks[b]),
                "blocks_added_at": [int(s) for s in self.added_at[b] if s > 0]}  # fmt: skip
