"""The online protocol of Hochreiter & Schmidhuber (1997, §5 intro, App. A.1), many trials in one graph.

Each update shows every active trial one fresh sequence, computes the error at the sequence end and
applies plain gradient descent, Δw = −α ∂E/∂w, with E = ``loss_scale`` · Σ_k (t_k − y_k)² (eq. 16;
eqs. 19 and 22 drop the factor 2, so ``loss_scale`` = ½ reproduces the paper's update, see
docs/deviations.md). The paper's independent trials are the rows of one model whose weights carry a
leading trial axis; each trial draws its data from its own RNG stream, so its updates depend on nothing
the other trials see. A trial that meets its stopping criterion is frozen; the run ends when all are
frozen or the sequence cap is reached. Then every trial is tested on ``test_sequences`` fresh sequences.

Checkpoints (weights, optimizer variables, per-trial counters and windows, RNG states) are written
atomically every ``checkpoint_every`` sequences, so a killed run resumes with ``resume=True`` and repeats
at most that many sequences.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lstm_hist.errors import UserError
from lstm_hist.evaluation.criteria import CRITERIA, RecentWindow, abs_correct

STATE_FILE = "state.json"
WEIGHTS_FILE = "checkpoint.npz"
PROGRESS_FILE = "progress.json"


@dataclasses.dataclass
class OnlineProtocol:
    """Fields are the ``protocol:`` keys of a config (Table 10/11 of the 1997 paper give their values).

    trials: independent trials, run side by side in one graph.
    learning_rate: α of eq. 17 (Table 10).
    loss_scale: factor on the summed squared error; ½ gives the paper's update (eq. 19).
    max_sequences: cap on training sequences per trial (a trial that reaches it has failed).
    criterion: stopping criterion; "st3" = ST3(criterion_error) with ABS(threshold) (Table 11).
    criterion_error: β of ST3(β).
    threshold: x of ABS(x): a sequence is correct when every output's absolute error is below it.
    window: how many most recent sequences ST3 looks at (2000 in the paper).
    test_sequences: fresh sequences per trial in the final test (2560 in the paper).
    checkpoint_every: sequences between checkpoints.
    optimizer: "sgd" (the paper) or "adam" (modern rows only).
    """

    trials: int = 10
    learning_rate: float = 0.5
    loss_scale: float = 0.5
    max_sequences: int = 1_000_000
    criterion: str = "st3"
    criterion_error: float = 0.01
    threshold: float = 0.04
    window: int = 2000
    test_sequences: int = 2560
    checkpoint_every: int = 2000
    optimizer: str = "sgd"

    def __post_init__(self):
        positive = ("trials", "max_sequences", "window", "test_sequences", "checkpoint_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise UserError(f"protocol.{name} must be at least 1, got {getattr(self, name)}")
        if self.criterion not in CRITERIA:
            raise UserError(f"protocol.criterion must be one of {', '.join(CRITERIA)}, got {self.criterion!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise UserError(f"protocol.optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if not self.learning_rate > 0:
            raise UserError(f"protocol.learning_rate must be positive, got {self.learning_rate}")

    def run(self, **kwargs) -> "OnlineResult":
        return train_online(protocol=self, **kwargs)

    def bench(self, **kwargs) -> dict[str, Any]:
        return bench_online(protocol=self, **kwargs)


@dataclasses.dataclass
class OnlineResult:
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
        seqs = self.sequences[solved]
        if seqs.size:
            out.update(
                sequences_mean=float(seqs.mean()),
                sequences_median=float(np.median(seqs)),
                sequences_min=int(seqs.min()),
                sequences_max=int(seqs.max()),
                sequences_std=float(seqs.std(ddof=1)) if seqs.size > 1 else 0.0,
            )
        else:
            out.update(sequences_mean=None, sequences_median=None, sequences_min=None, sequences_max=None)
        if self.test is not None:
            test_sequences = int(self.test["test_sequences"])
            out["test_sequences"] = test_sequences
            for key in ("test_wrong", "test_mse", "test_mean_abs_error"):
                values = self.test[key][solved]
                out[key] = float(values.mean()) if values.size else None
            wrong = self.test["test_wrong"][solved]
            out["test_wrong_max"] = int(wrong.max()) if wrong.size else None
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
            if self.test is not None:
                for key in ("test_wrong", "test_mse", "test_mean_abs_error"):
                    row[key] = float(self.test[key][b]) if key != "test_wrong" else int(self.test[key][b])
            rows.append(row)
        return rows


# --- data streams ------------------------------------------------------------------------------------


def trial_streams(seed: int, trials: int, purpose: str) -> list[np.random.Generator]:
    """One generator per trial. Trial b's stream depends on (seed, purpose, b) only, not on ``trials``."""
    key = {"train": 0, "test": 1}[purpose]
    parent = np.random.SeedSequence(seed, spawn_key=(key,))
    return [np.random.default_rng(child) for child in parent.spawn(trials)]


def draw_chunk(task, task_cfg, streams, count):
    """``count`` updates' worth of data: x (count, N, L, in), mask (count, N, L), y (count, N, out)."""
    batches = [task(rng, count, **task_cfg) for rng in streams]
    x = np.stack([b.x for b in batches], axis=1)
    mask = np.stack([b.mask() for b in batches], axis=1)
    y = np.stack([b.y for b in batches], axis=1)
    return x, mask, y


# --- checkpoints -------------------------------------------------------------------------------------


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _fingerprint(task_cfg, model_cfg, protocol, seed) -> str:
    text = json.dumps(
        {"task": task_cfg, "model": model_cfg, "protocol": dataclasses.asdict(protocol), "seed": seed},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- training ----------------------------------------------------------------------------------------


def _build(experiment, model_cfg, protocol, seed):
    import keras

    keras.utils.set_random_seed(seed)
    model = experiment.model(trials=protocol.trials, **model_cfg)
    if protocol.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=protocol.learning_rate)
    else:
        optimizer = keras.optimizers.Adam(learning_rate=protocol.learning_rate)
    from lstm_hist.training.steps import Stepper

    return model, optimizer, Stepper(model, optimizer, protocol.loss_scale)


def parameters_per_trial(model, trials: int) -> int:
    return int(sum(int(np.prod(v.shape)) for v in model.trainable_variables) // trials)


def train_online(
    *,
    protocol: OnlineProtocol,
    experiment,
    task_cfg: dict,
    model_cfg: dict,
    seed: int = 0,
    workdir: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[dict], None] | None = None,
    progress_every: int = 250,
) -> OnlineResult:
    """Train ``protocol.trials`` trials online to the stopping criterion, then test them."""
    task = experiment.task
    n = protocol.trials
    model, optimizer, stepper = _build(experiment, model_cfg, protocol, seed)
    streams = trial_streams(seed, n, "train")
    window = RecentWindow(n, protocol.window)
    sequences = np.zeros(n, dtype=np.int64)
    solved = np.zeros(n, dtype=bool)
    diverged = np.zeros(n, dtype=bool)
    error_part_at = np.zeros(n, dtype=np.int64)
    correct_99_at = np.zeros(n, dtype=np.int64)
    seen = 0
    repeated = 0
    elapsed_before = 0.0
    fingerprint = _fingerprint(task_cfg, model_cfg, protocol, seed)
    workdir = Path(workdir) if workdir is not None else None
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)

    if resume:
        if workdir is None or not (workdir / STATE_FILE).exists():
            raise UserError(f"nothing to resume: no checkpoint in {workdir}; run without --resume to start")
        state = json.loads((workdir / STATE_FILE).read_text())
        if state["fingerprint"] != fingerprint:
            raise UserError(
                f"the checkpoint in {workdir} was made with a different config or seed; "
                "run without --resume to start over"
            )
        arrays = np.load(workdir / WEIGHTS_FILE)
        if int(arrays["seen"]) != state["seen"]:
            raise UserError(f"checkpoint in {workdir} is inconsistent (weights and state differ); start over")
        for k, var in enumerate(model.trainable_variables + model.non_trainable_variables):
            var.assign(arrays[f"model_{k}"])
        for k, var in enumerate(optimizer.variables):
            var.assign(arrays[f"optimizer_{k}"])
        stepper.pull()
        window.load(arrays)
        sequences, solved, diverged = arrays["sequences"], arrays["solved"], arrays["diverged"]
        error_part_at, correct_99_at = arrays["error_part_at"], arrays["correct_99_at"]
        seen = state["seen"]
        elapsed_before = state["train_seconds"]
        for rng, rng_state in zip(streams, state["rng"]):
            rng.bit_generator.state = rng_state
        progress_path = workdir / PROGRESS_FILE
        reached = json.loads(progress_path.read_text())["seen"] if progress_path.exists() else seen
        repeated = max(0, reached - seen) + state.get("repeated_sequences", 0)

    def checkpoint():
        if workdir is None:
            return
        stepper.push()
        variables = model.trainable_variables + model.non_trainable_variables
        arrays = {f"model_{k}": np.asarray(v.numpy()) for k, v in enumerate(variables)}
        arrays.update({f"optimizer_{k}": np.asarray(v.numpy()) for k, v in enumerate(optimizer.variables)})
        arrays.update(window.state(), sequences=sequences, solved=solved, diverged=diverged, seen=seen,
                      error_part_at=error_part_at, correct_99_at=correct_99_at)
        _atomic_savez(workdir / WEIGHTS_FILE, arrays)
        state = {
            "fingerprint": fingerprint,
            "seen": seen,
            "train_seconds": elapsed_before + (time.perf_counter() - start),
            "repeated_sequences": repeated,
            "rng": [rng.bit_generator.state for rng in streams],
        }
        _atomic_write_bytes(workdir / STATE_FILE, json.dumps(state).encode())

    def note_progress():
        if workdir is not None:
            _atomic_write_bytes(workdir / PROGRESS_FILE, json.dumps({"seen": seen}).encode())
        if progress is not None:
            active = ~(solved | diverged)
            rows = active if active.any() else np.ones(n, dtype=bool)
            progress(
                {
                    "sequences": seen,
                    "max_sequences": protocol.max_sequences,
                    "solved": int(solved.sum()),
                    "trials": n,
                    "error": float(window.mean_error()[rows].mean()),
                    "correct": float(window.correct_fraction()[rows].mean()),
                    "rate": (seen - seen_at_start) / max(time.perf_counter() - start, 1e-9),
                }
            )

    start = time.perf_counter()
    seen_at_start = seen
    chunk = min(protocol.checkpoint_every, 1000)
    status = "completed"
    try:
        while seen < protocol.max_sequences and not (solved | diverged).all():
            count = min(chunk, protocol.max_sequences - seen)
            x, mask, y = draw_chunk(task, task_cfg, streams, count)
            for i in range(count):
                active = ~(solved | diverged)
                pred = stepper(x[i], mask[i], y[i], active)
                seen += 1
                finite = np.isfinite(pred).all(axis=-1)
                diverged |= active & ~finite
                active &= finite
                error = np.sum((y[i] - pred) ** 2, axis=-1)
                window.push(active, error, abs_correct(y[i], pred, protocol.threshold))
                sequences[active] = seen
                newly = active & window.st3(protocol.criterion_error)
                solved |= newly
                if seen % progress_every == 0:
                    full = window.full()
                    error_part_at[(error_part_at == 0) & full & (window.mean_error() < protocol.criterion_error)] = seen
                    correct_99_at[(correct_99_at == 0) & full & (window.correct_fraction() >= 0.99)] = seen
                    note_progress()
                if (solved | diverged).all():
                    break
            if seen % protocol.checkpoint_every == 0 or (solved | diverged).all():
                checkpoint()
    except KeyboardInterrupt:
        status = "interrupted"
        if workdir is not None:
            _atomic_write_bytes(workdir / PROGRESS_FILE, json.dumps({"seen": seen}).encode())
    train_seconds = elapsed_before + (time.perf_counter() - start)
    stepper.push()
    if progress is not None and status == "completed":
        note_progress()

    test = None
    if status == "completed":
        if diverged.all():
            status = "diverged"
        else:
            test = evaluate_trials(model, task, task_cfg, seed, n, protocol)
    return OnlineResult(
        status=status,
        trials=n,
        parameters=parameters_per_trial(model, n),
        sequences=sequences.copy(),
        solved=solved.copy(),
        diverged=diverged.copy(),
        sequences_seen=seen,
        repeated_sequences=repeated,
        seeds={"seed": seed, "train_streams": "SeedSequence(seed, spawn_key=(0,)).spawn(trials)",
               "test_streams": "SeedSequence(seed, spawn_key=(1,)).spawn(trials)", "weights": seed},
        train_seconds=train_seconds,
        test=test,
        window_correct_fraction=window.correct_fraction(),
        error_part_at=error_part_at.copy(),
        correct_99_at=correct_99_at.copy(),
    )


def evaluate_trials(model, task, task_cfg, seed, trials, protocol, block: int = 256) -> dict[str, np.ndarray]:
    """Each trial's ABS(threshold) errors and MSE on ``test_sequences`` fresh sequences of its own."""
    streams = trial_streams(seed, trials, "test")
    wrong = np.zeros(trials, dtype=np.int64)
    squared = np.zeros(trials)
    absolute = np.zeros(trials)
    done = 0
    while done < protocol.test_sequences:
        count = min(block, protocol.test_sequences - done)
        x, mask, y = draw_chunk(task, task_cfg, streams, count)  # (count, N, ...)
        # Trial-major rows: trial b owns rows [b·count, (b+1)·count).
        x, mask, y = (np.swapaxes(a, 0, 1).reshape(trials * count, *a.shape[2:]) for a in (x, mask, y))
        pred = np.asarray(model.predict_on_batch([x, mask])).reshape(trials, count, -1)
        y = y.reshape(trials, count, -1)
        wrong += (~abs_correct(y, pred, protocol.threshold)).sum(axis=1)
        squared += np.sum((y - pred) ** 2, axis=(1, 2))
        absolute += np.sum(np.abs(y - pred), axis=(1, 2))
        done += count
    outputs = y.shape[-1]
    return {
        "test_sequences": protocol.test_sequences,
        "test_wrong": wrong,
        "test_mse": squared / (protocol.test_sequences * outputs),
        "test_mean_abs_error": absolute / (protocol.test_sequences * outputs),
    }


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

    model, _, stepper = _build(experiment, model_cfg, protocol, seed)
    streams = trial_streams(seed, protocol.trials, "train")
    x, mask, y = draw_chunk(experiment.task, task_cfg, streams, updates + 20)
    active = np.ones(protocol.trials, dtype=bool)
    for i in range(20):  # compile and warm up
        stepper(x[i], mask[i], y[i], active)
    start = time.perf_counter()
    for i in range(20, updates + 20):
        stepper(x[i], mask[i], y[i], active)
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
