"""What a run of the 1997 protocol returns: per-trial counts and test metrics, summarised under the metric keys of
the configs' ``reported`` blocks (Table 1–9's "success after", "# wrong", ST1/ST2, ...)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from lstm_hist.contract import RunResult


@dataclasses.dataclass
class OnlineResult(RunResult):
    status: str  # completed | interrupted | diverged
    trials: int
    parameters: int
    sequences: np.ndarray  # per trial: sequences seen when it met the criterion, or when training stopped
    solved: np.ndarray
    diverged: np.ndarray
    sequences_seen: int
    repeated_sequences: int
    seeds: dict[str, Any]
    train_seconds: float
    test: dict[str, np.ndarray] | None = None  # per trial: test_wrong, test_mse, test_mean_abs_error
    window_correct_fraction: np.ndarray | None = None
    # Diagnostics: when each trial first met ST3's error part alone, and 99% of its window correct (0 = never).
    error_part_at: np.ndarray | None = None
    correct_99_at: np.ndarray | None = None
    # Criterion "check_set" (Exp 3): when each trial first met ST1 and ST2 (0 = never).
    st1_at: np.ndarray | None = None
    st2_at: np.ndarray | None = None
    # The trained weights (model.get_weights(), trial axis first) of a completed run: kept beside the record
    # by lstm_hist.weights so `lstm-hist evaluate` can recompute the test metrics without retraining.
    final_weights: list | None = dataclasses.field(default=None, repr=False)
    construction: list | None = None  # per trial: blocks present and when each was added (sequential construction)
    # What computed the updates (protocol.kernel, .numba_step): "keras" or "numba", one entry per change of stepper
    # over the run's segments. The same update to float rounding; named so a record says how it was computed.
    steppers: list | None = None

    def metrics(self) -> dict[str, Any]:
        """Summary over trials, under the metric keys the configs' ``reported`` blocks use.

        Sequence statistics and test metrics are over the trials that met the criterion (the paper
        tests after its stopping criterion); ``success_rate`` says how many did.
        """
        solved = self.solved
        out: dict[str, Any] = {
            "trials": self.trials,
            "weights": self.parameters,
            "success_rate": float(solved.mean()),
            "solved_trials": int(solved.sum()),
            "diverged_trials": int(self.diverged.sum()),
            "sequences_seen": self.sequences_seen,
        }
        if self.steppers:
            out["updates_computed_by"] = " then ".join(self.steppers)
        seqs = self.sequences[solved]
        if seqs.size:
            out.update(
                sequences_mean=float(seqs.mean()),
                sequences_median=float(np.median(seqs)),
                sequences_min=int(seqs.min()),
                sequences_max=int(seqs.max()),
                # a sample sd needs two solved trials; one gives None (undefined), as lstm_hist.seed_stats does
                sequences_std=float(seqs.std(ddof=1)) if seqs.size > 1 else None,
            )
        else:
            out.update(sequences_mean=None, sequences_median=None, sequences_min=None, sequences_max=None,
                       sequences_std=None)
        if self.test is not None:
            test_sequences = int(self.test["test_sequences"])
            out["test_sequences"] = test_sequences
            for key in ("test_wrong", "test_mse", "test_mean_abs_error"):
                values = self.test[key][solved]
                out[key] = float(values.mean()) if values.size else None
            wrong = self.test["test_wrong"][solved]
            out["test_wrong_max"] = int(wrong.max()) if wrong.size else None
            # Every trial, solved or stopped at the cap: how good the nets are, whatever the criterion says.
            out["all_trials_test_wrong_mean"] = float(self.test["test_wrong"].mean())
            out["all_trials_test_mse_mean"] = float(self.test["test_mse"].mean())
        if self.st1_at is not None:  # Tables 4–6: ST1, ST2 and the fraction misclassified, over solved trials
            st1, st2 = self.st1_at[solved], self.st2_at[solved]
            out["st1_mean"] = float(st1.mean()) if st1.size else None
            out["st2_mean"] = float(st2.mean()) if st2.size else None
            if self.test is not None:
                wrong = self.test["test_wrong"][solved]
                out["fraction_misclassified"] = float(wrong.mean()) / int(self.test["test_sequences"]) if wrong.size else None
        if self.construction is not None:  # sequential construction: when the (first added) block came, mean
            added = [row["blocks_added_at"][0] for row in self.construction if row["blocks_added_at"]]
            out["first_block_added_at_mean"] = float(np.mean(added)) if added else None
        for name, at in (("mean_error_below_beta_at", self.error_part_at), ("correct_99_percent_at", self.correct_99_at)):
            if at is not None and (at > 0).all():
                out[f"{name}_mean"] = float(at.mean())
        return out

    def per_trial(self) -> list[dict[str, Any]]:
        rows = []
        for b in range(self.trials):
            row = {
                "trial": b,
                "solved": bool(self.solved[b]),
                "diverged": bool(self.diverged[b]),
                "sequences": int(self.sequences[b]),
            }
            if self.window_correct_fraction is not None:
                row["recent_correct_fraction"] = float(self.window_correct_fraction[b])
            if self.error_part_at is not None:
                row["mean_error_below_beta_at"] = int(self.error_part_at[b]) or None
                row["correct_99_percent_at"] = int(self.correct_99_at[b]) or None
            if self.st1_at is not None:
                row["st1"] = int(self.st1_at[b]) or None
                row["st2"] = int(self.st2_at[b]) or None
            if self.test is not None:
                for key in ("test_wrong", "test_mse", "test_mean_abs_error"):
                    row[key] = float(self.test[key][b]) if key != "test_wrong" else int(self.test[key][b])
            if self.construction is not None:
                row.update(self.construction[b])
            rows.append(row)
        return rows
