"""The online protocol of Hochreiter & Schmidhuber (1997, §5 intro, App. A.1), many trials in one graph.

Each update shows every active trial one fresh sequence, computes the error at the sequence end and
applies plain gradient descent, Δw = −α ∂E/∂w, with E = ``loss_scale`` · Σ_k (t_k − y_k)² (eq. 16;
eqs. 19 and 22 drop the factor 2, so ``loss_scale`` = ½ reproduces the paper's update, see
docs/deviations.md). The paper's independent trials are the rows of one model whose weights carry a
leading trial axis; each trial draws its data from its own RNG stream, so its updates depend on nothing
the other trials see. A trial that meets its stopping criterion is frozen; the run ends when all are
frozen or the sequence cap is reached. Then every trial is tested on ``test_sequences`` fresh sequences.
With ``update: per_step`` the weights change after every step that carries a target instead (App. A.1's
online learning, by truncated RTRL: lstm_hist.training.rtrl); for end-of-sequence targets the two coincide.

Checkpoints (weights, optimizer variables, per-trial counters and windows, RNG states) are written
atomically every ``checkpoint_every`` sequences, so a killed run resumes with ``resume=True`` and repeats
at most that many sequences.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lstm_hist import interrupt, run_state
from lstm_hist.arrays import aligned_stack
from lstm_hist.contract import RunResult, TrainingProtocol
from lstm_hist.errors import UserError
from lstm_hist.experiment import SequenceBatch
from lstm_hist.training.divergence import exploded_trials
from lstm_hist.evaluation.criteria import CRITERIA, RecentWindow, abs_correct, legal_next_correct, sequence_scores

CHECKPOINT = "checkpoint"  # lstm_hist.run_state writes checkpoint.json (state) and checkpoint.npz (arrays)
WEIGHTS_FILE = f"{CHECKPOINT}.npz"


@dataclasses.dataclass
class CriterionFields:
    """The stopping-criterion and test fields that :class:`OnlineProtocol` and the baselines'
    ``CriterionMinibatchProtocol`` share (documented on OnlineProtocol, checked in its ``__post_init__``)."""

    trials: int = 10
    max_sequences: int = 1_000_000
    criterion: str = "st3"
    criterion_error: float = 0.01
    threshold: float = 0.04
    window: int = 2000
    test_sequences: int = 2560
    target: str = "end"
    criterion_steps: str = "all"
    max_wrong: int = 0
    check_every: int = 100
    check_sequences: int = 256
    st1_max_wrong: int = 0
    st2_error: float = 0.01
    fixed_sets: int = 0
    training_set: int = 256
    test_set: int = 256
    test_task: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class OnlineProtocol(CriterionFields, TrainingProtocol):
    """Fields are the ``protocol:`` keys of a config (Table 10/11 of the 1997 paper give their values).

    trials: independent trials, run side by side in one graph.
    learning_rate: α of eq. 17 (Table 10).
    loss_scale: factor on the summed squared error; ½ gives the paper's update (eq. 19).
    max_sequences: cap on training sequences per trial (a trial that reaches it has failed).
    criterion: stopping criterion; "st3" = ST3(criterion_error) with ABS(threshold) (Table 11); "window",
        "window_wrong", "check_set", "legal_next": see lstm_hist.evaluation.criteria. With "window" a trial's
        sequence count is where its successful run of ``window`` sequences began.
    criterion_error: β of ST3(β).
    threshold: x of ABS(x): a sequence is correct when every output's absolute error is below it.
    window: how many most recent sequences ST3 looks at (2000 in the paper).
    test_sequences: fresh sequences per trial in the final test (2560 in the paper).
    checkpoint_every: sequences between checkpoints.
    optimizer: "sgd" (the paper) or "adam" (modern rows only).

    Fields for the other experiments of the 1997 paper (their defaults leave Exp 4 as it was):

    target: "end" (error at the sequence end) or "every_step" (next-symbol prediction, Exps 1, 2a, 2b; the
        task's y is (n, L, out) and the model outputs every step).
    criterion_steps: with every-step targets, which steps ABS(threshold) judges: "all" (Exp 2a) or "last"
        (Exp 2b: "at the sequence end").
    max_wrong: criterion "window_wrong" (Exp 5): solved when fewer than this many (n_seq) of the window fail
        ABS(threshold).
    check_every: criteria "check_set" and "legal_next": sequences between two checks.
    check_sequences: criterion "check_set" (Exp 3): size of each trial's fixed check set (256).
    st1_max_wrong: ST1 holds when at most this many check sequences are misclassified (0 in 3a, 5 in 3b).
    st2_error: ST2 (the stop) = ST1 and the mean absolute check-set error below this (0.01 / 0.04 / 0.015).
    fixed_sets: 0 = sequences generated on-line (Table 11 "t2"/"t3"); k > 0 = k fixed training/test set pairs
        (Exp 1, "t1"): trial b trains on exemplars drawn at random from pair b mod k's training set.
    training_set, test_set: sizes of those sets (256 and 256 in Exp 1); test strings never occur in training.
    test_task: task-config overrides for check and test sequences (3c: noise-free targets).
    update: "per_sequence" (one update per sequence with the summed truncated gradient, autodiff) or "per_step"
        (App. A.1's online learning: an update after every step that carries a target, by truncated RTRL,
        lstm_hist.training.rtrl; plain SGD and the 1997 nets only). With end-of-sequence targets both are the same.
    exemplar_order: with ``fixed_sets``, "random" (each exemplar drawn at random from the training set, Table 11
        "t1") or "epochs" (every training sequence once per epoch, in a fresh random order; docs/deviations.md).
    construction: sequential network construction (Exp 2a/2b, §4): when each trial's error stops decreasing, its
        next cell block is added (reproductions.hochreiter1997.growth.GrowthRule: window, patience, min_decrease;
        the net needs model.initial_blocks). Empty: the net is trained as built.
    """

    learning_rate: float = 0.5
    loss_scale: float = 0.5
    checkpoint_every: int = 2000
    optimizer: str = "sgd"
    update: str = "per_sequence"
    exemplar_order: str = "random"
    construction: dict = dataclasses.field(default_factory=dict)
    omitted_when_empty = ("construction",)  # run_state.fingerprint: checkpoints from before it stay resumable

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
        if self.target not in ("end", "every_step"):
            raise UserError(f"protocol.target must be 'end' or 'every_step', got {self.target!r}")
        if self.update not in ("per_sequence", "per_step"):
            raise UserError(f"protocol.update must be 'per_sequence' or 'per_step', got {self.update!r}")
        if self.exemplar_order not in ("random", "epochs"):
            raise UserError(f"protocol.exemplar_order must be 'random' or 'epochs', got {self.exemplar_order!r}")
        if self.update == "per_step" and self.optimizer != "sgd":
            raise UserError("protocol.update 'per_step' is the paper's plain gradient step: it needs optimizer: sgd")
        if self.criterion_steps not in ("all", "last"):
            raise UserError(f"protocol.criterion_steps must be 'all' or 'last', got {self.criterion_steps!r}")
        for name in ("check_every", "check_sequences", "training_set", "test_set"):
            if getattr(self, name) < 1:
                raise UserError(f"protocol.{name} must be at least 1, got {getattr(self, name)}")
        if self.fixed_sets < 0 or self.max_wrong < 0 or self.st1_max_wrong < 0:
            raise UserError("protocol.fixed_sets, max_wrong and st1_max_wrong must not be negative")
        if self.criterion == "legal_next" and (self.fixed_sets < 1 or self.target != "every_step"):
            raise UserError("protocol.criterion 'legal_next' needs target: every_step and fixed_sets ≥ 1")
        if self.criterion == "window_wrong" and self.max_wrong < 1:
            raise UserError("protocol.criterion 'window_wrong' needs max_wrong ≥ 1 (the paper's n_seq)")
        if self.construction:  # after the move to reproductions/hochreiter1997/: from .growth import GrowthRule
            from reproductions.hochreiter1997.growth import GrowthRule

            GrowthRule.from_config(self.construction)

    @property
    def every_step(self) -> bool:
        return self.target == "every_step"

    def run(self, **kwargs) -> "OnlineResult":
        return train_online(protocol=self, **kwargs)

    def bench(self, **kwargs) -> dict[str, Any]:
        return bench_online(protocol=self, **kwargs)


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


# --- data streams ------------------------------------------------------------------------------------


def trial_streams(seed: int, trials: int, purpose: str) -> list[np.random.Generator]:
    """One generator per trial. Trial b's stream depends on (seed, purpose, b) only, not on ``trials``."""
    key = {"train": 0, "test": 1, "check": 2}[purpose]
    parent = np.random.SeedSequence(seed, spawn_key=(key,))
    return [np.random.default_rng(child) for child in parent.spawn(trials)]


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
    probe = task(np.random.default_rng(0), 1, **task_cfg)
    per_update = protocol.trials * (probe.x.nbytes + probe.y.nbytes)
    chunk = int(max(1, min(protocol.checkpoint_every, 1000, 64_000_000 // max(per_update, 1))))
    while protocol.checkpoint_every % chunk:
        chunk -= 1
    return chunk


def _sequence_key(batch: SequenceBatch, i: int) -> bytes:
    return batch.x[i, : batch.lengths[i]].tobytes()


def _take(batch: SequenceBatch, index) -> SequenceBatch:
    return SequenceBatch(batch.x[index], batch.lengths[index], batch.y[index])


def _concat(batches: list[SequenceBatch]) -> SequenceBatch:
    return SequenceBatch(*(np.concatenate(parts, axis=0) for parts in zip(*batches)))


def fixed_set_pairs(task, task_cfg, protocol, seed) -> list[tuple[SequenceBatch, SequenceBatch]]:
    """Exp 1 (§5.1, Table 11 "t1"): ``fixed_sets`` pairs of a training set and a disjoint test set.

    Pair j is drawn from ``SeedSequence(seed, spawn_key=(3, j))``: first ``training_set`` sequences (the
    grammar's own frequencies, so repeats are possible), then test candidates, keeping only those that do not
    occur in the training set, until ``test_set`` are kept.
    """
    pairs = []
    for j in range(protocol.fixed_sets):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3, j)))
        train = task(rng, protocol.training_set, **task_cfg)
        known = {_sequence_key(train, i) for i in range(len(train.lengths))}
        kept, count = [], 0
        for _ in range(10_000):
            if count >= protocol.test_set:
                break
            candidates = task(rng, protocol.test_set, **task_cfg)
            index = [i for i in range(len(candidates.lengths)) if _sequence_key(candidates, i) not in known]
            index = index[: protocol.test_set - count]
            kept.append(_take(candidates, np.array(index, dtype=np.int64)))
            count += len(index)
        if count < protocol.test_set:
            raise UserError(f"could not draw {protocol.test_set} test sequences outside the training set")
        pairs.append((train, _concat(kept)))
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

    def draw(self, count: int, start: int = 0):
        """``count`` updates' worth of data; ``start`` = sequences already seen (used by exemplar_order "epochs")."""
        if self.pairs is None:
            return draw_chunk(self.task, self.task_cfg, self.streams, count)
        batches = []
        for b, rng in enumerate(self.streams):
            train = self.pair_of(b)[0]
            n = len(train.lengths)
            index = self.epoch_index(b, n, start, count) if self.epochs else rng.integers(0, n, size=count)
            batches.append(_take(train, index))
        x = np.stack([b.x for b in batches], axis=1)
        mask = np.stack([b.mask() for b in batches], axis=1)
        y = np.stack([b.y for b in batches], axis=1)
        return x, mask, y

    def epoch_index(self, b: int, n: int, start: int, count: int) -> np.ndarray:
        """Exemplars start … start+count−1 of trial b: epoch e is a permutation drawn from
        ``SeedSequence(seed, spawn_key=(5, b, e))``, so a resumed run draws the same ones."""
        first, last = start // n, (start + count - 1) // n
        order = np.concatenate([np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(5, b, e)))
                                .permutation(n) for e in range(first, last + 1)])  # fmt: skip
        return order[start - first * n : start - first * n + count]


def predict_trials(model, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """x (N, k, L, in), mask (N, k, L) → outputs (N, k, …), trial b's weights on its own k rows."""
    n, k = x.shape[:2]
    pred = np.asarray(model.predict_on_batch([x.reshape(n * k, *x.shape[2:]), mask.reshape(n * k, -1)]))
    return pred.reshape(n, k, *pred.shape[1:])


def _stack_per_trial(batches: list[SequenceBatch]):
    return (np.stack([b.x for b in batches]), np.stack([b.mask() for b in batches]), np.stack([b.y for b in batches]))


# --- training ----------------------------------------------------------------------------------------


def _build(experiment, model_cfg, protocol, seed):
    import keras

    keras.utils.set_random_seed(seed)
    model = experiment.model(trials=protocol.trials, **model_cfg)
    if protocol.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=protocol.learning_rate)
    else:
        optimizer = keras.optimizers.Adam(learning_rate=protocol.learning_rate)
    if protocol.update == "per_step":
        from lstm_hist.training.rtrl import RTRLStepper

        stepper = RTRLStepper(model, protocol.learning_rate, protocol.loss_scale, every_step=protocol.every_step)
        return model, optimizer, stepper
    from lstm_hist.training.steps import Stepper

    return model, optimizer, Stepper(model, optimizer, protocol.loss_scale, every_step=protocol.every_step)


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
    construction = None
    if protocol.construction:  # after the move: from .construction import Construction
        from reproductions.hochreiter1997.construction import Construction

        construction = Construction(model, protocol.construction, n)
    streams = trial_streams(seed, n, "train")
    window = RecentWindow(n, protocol.window)
    sequences = np.zeros(n, dtype=np.int64)
    solved = np.zeros(n, dtype=bool)
    diverged = np.zeros(n, dtype=bool)
    error_part_at = np.zeros(n, dtype=np.int64)
    correct_99_at = np.zeros(n, dtype=np.int64)
    st1_at = np.zeros(n, dtype=np.int64)
    st2_at = np.zeros(n, dtype=np.int64)
    data = TrainingData(task, task_cfg, protocol, seed, streams)
    check = _checker(task, task_cfg, protocol, seed, n, data)
    seen = 0
    repeated = 0
    elapsed_before = 0.0
    fingerprint = run_state.fingerprint(task_cfg, model_cfg, protocol, seed)
    workdir = Path(workdir) if workdir is not None else None
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)

    if resume:
        state, arrays = run_state.load(workdir, CHECKPOINT, fingerprint=fingerprint)
        try:
            if int(arrays["seen"]) != state["seen"]:
                raise ValueError("weights and state differ")
            for k, var in enumerate(model.trainable_variables + model.non_trainable_variables):
                var.assign(arrays[f"model_{k}"])
            for k, var in enumerate(optimizer.variables):
                var.assign(arrays[f"optimizer_{k}"])
            window.load(arrays)
            sequences, solved, diverged = arrays["sequences"], arrays["solved"], arrays["diverged"]
            error_part_at, correct_99_at = arrays["error_part_at"], arrays["correct_99_at"]
            st1_at, st2_at = arrays["st1_at"], arrays["st2_at"]
            if construction is not None:
                construction.load(arrays)
            seen = state["seen"]
            elapsed_before = state["train_seconds"]
            for rng, rng_state in zip(streams, state["rng"]):
                rng.bit_generator.state = rng_state
        except (KeyError, ValueError, TypeError) as exc:
            raise UserError(f"the checkpoint in {workdir} does not fit this run ({exc}); "
                            f"{run_state.FRESH_HINT}") from None
        stepper.pull()
        repeated = max(0, run_state.progress_reached(workdir, seen) - seen) + state.get("repeated_sequences", 0)

    def checkpoint():
        if workdir is None:
            return
        stepper.push()
        variables = model.trainable_variables + model.non_trainable_variables
        arrays = {f"model_{k}": np.asarray(v.numpy()) for k, v in enumerate(variables)}
        arrays.update({f"optimizer_{k}": np.asarray(v.numpy()) for k, v in enumerate(optimizer.variables)})
        arrays.update(window.state(), sequences=sequences, solved=solved, diverged=diverged, seen=seen,
                      error_part_at=error_part_at, correct_99_at=correct_99_at, st1_at=st1_at, st2_at=st2_at)
        if construction is not None:
            arrays.update(construction.state())
        state = {
            "seen": seen,
            "train_seconds": elapsed_before + (time.perf_counter() - start),
            "repeated_sequences": repeated,
            "rng": [rng.bit_generator.state for rng in streams],
        }
        run_state.save(workdir, CHECKPOINT, state, arrays, fingerprint=fingerprint)

    def note_progress():
        run_state.note_progress(workdir, seen)
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
    chunk = chunk_size(task, task_cfg, protocol)
    status = "completed"
    try:
        while seen < protocol.max_sequences and not (solved | diverged).all():
            count = min(chunk, protocol.max_sequences - seen)
            x, mask, y = data.draw(count, seen)
            for i in range(count):
                active = ~(solved | diverged)
                interrupt.check()  # a SIGTERM whose KeyboardInterrupt the jitted step swallowed
                pred = stepper(x[i], mask[i], y[i], active)
                seen += 1
                finite = np.isfinite(pred.reshape(n, -1)).all(axis=-1)
                diverged |= active & ~finite
                active &= finite
                error, correct, _, _ = sequence_scores(y[i], pred, mask[i], protocol.threshold, protocol.every_step,
                                                       protocol.criterion_steps)  # fmt: skip
                window.push(active, error, correct)
                if construction is not None:  # the next block for trials whose error stopped decreasing
                    construction.after_sequence(active, error, seen, stepper)
                sequences[active] = seen
                if protocol.criterion == "st3":
                    met = window.st3(protocol.criterion_error)
                elif protocol.criterion == "window":
                    met = window.full() & window.correct.all(axis=1)
                elif protocol.criterion == "window_wrong":
                    met = window.full() & ((~window.correct).sum(axis=1) < protocol.max_wrong)
                elif seen % protocol.check_every == 0:
                    stepper.push()
                    met, st1 = check(model)
                    stepper.pull()  # Keras's JAX predict donates the weight buffers the stepper holds
                    if st1 is not None:
                        st1_at[active & st1 & (st1_at == 0)] = seen
                        st2_at[active & met & (st2_at == 0)] = seen
                else:
                    met = np.zeros(n, dtype=bool)
                newly = active & met
                if protocol.criterion == "window":
                    # Exp 2 reports "success after" 5,040 sequences for a 10,000-sequence criterion, so the count
                    # is where the successful run of `window` sequences began (deviations E2.4).
                    sequences[newly] = seen - protocol.window
                solved |= newly
                if seen % progress_every == 0:
                    stepper.push()  # saturated, exploded weights can keep the outputs finite: check the weights too
                    blown = exploded_trials([v.numpy() for v in model.trainable_variables], n)
                    diverged |= blown & ~solved
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
        run_state.note_progress(workdir, seen)
    train_seconds = elapsed_before + (time.perf_counter() - start)
    stepper.push()
    if progress is not None and status == "completed":
        note_progress()

    test = None
    if status == "completed":
        if diverged.all():
            status = "diverged"
        else:
            if protocol.criterion != "legal_next":  # Exp 1 has no ABS test: its criterion covers the test set
                test = evaluate_trials(model, task, task_cfg, seed, n, protocol)
    check_set = protocol.criterion == "check_set"
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
        st1_at=st1_at.copy() if check_set else None,
        st2_at=st2_at.copy() if check_set else None,
        final_weights=model.get_weights() if status == "completed" else None,
        construction=None if construction is None else [construction.per_trial(b) for b in range(n)],
    )


def _checker(task, task_cfg, protocol, seed, trials, data):
    """The periodic check of criteria "check_set" (Exp 3) and "legal_next" (Exp 1), or None.

    Returns ``check(model) -> (met (N,), st1 (N,) or None)``; the model must hold the current weights.
    """
    if protocol.criterion == "check_set":
        cfg = {**task_cfg, **protocol.test_task}
        streams = trial_streams(seed, trials, "check")
        x, mask, y = _stack_per_trial([task(rng, protocol.check_sequences, **cfg) for rng in streams])

        def check(model):
            pred = predict_trials(model, x, mask)
            _, correct, absolute, count = sequence_scores(y, pred, mask, protocol.threshold, protocol.every_step,
                                                          protocol.criterion_steps)  # fmt: skip
            st1 = (~correct).sum(axis=1) <= protocol.st1_max_wrong
            return st1 & (absolute.sum(axis=1) / count.sum(axis=1) < protocol.st2_error), st1

        return check
    if protocol.criterion == "legal_next":
        legal_of = getattr(task, "legal_next", None)
        if legal_of is None:
            raise UserError("protocol.criterion 'legal_next' needs a task with a legal_next(x, lengths) function")
        both = [_concat(list(data.pair_of(b))) for b in range(trials)]
        legal_by_pair = [legal_of(_concat(list(pair)).x, _concat(list(pair)).lengths) for pair in data.pairs]
        x, mask, _ = _stack_per_trial(both)
        legal = np.stack([legal_by_pair[b % len(data.pairs)] for b in range(trials)])

        def check(model):
            pred = predict_trials(model, x, mask)
            return legal_next_correct(pred, legal, mask).all(axis=1), None

        return check
    return None


def evaluate_trials(model, task, task_cfg, seed, trials, protocol, block: int = 256) -> dict[str, np.ndarray]:
    """Each trial's ABS(threshold) errors and MSE on ``test_sequences`` fresh sequences of its own."""
    streams = trial_streams(seed, trials, "test")
    task_cfg = {**task_cfg, **protocol.test_task}  # e.g. 3c: judged against the noise-free target
    wrong = np.zeros(trials, dtype=np.int64)
    squared = np.zeros(trials)
    absolute = np.zeros(trials)
    values = np.zeros(trials)
    done = 0
    while done < protocol.test_sequences:
        count = min(block, protocol.test_sequences - done)
        x, mask, y = draw_chunk(task, task_cfg, streams, count)  # (count, N, ...)
        # Trial-major rows: trial b owns rows [b·count, (b+1)·count).
        x, mask, y = (np.swapaxes(a, 0, 1) for a in (x, mask, y))
        pred = predict_trials(model, x, mask)
        error, correct, abs_sum, n_values = sequence_scores(y, pred, mask, protocol.threshold, protocol.every_step,
                                                            protocol.criterion_steps)  # fmt: skip
        wrong += (~correct).sum(axis=1)
        squared += error.sum(axis=1)
        absolute += abs_sum.sum(axis=1)
        values += n_values.sum(axis=1)
        done += count
    # Means per output value: over sequences × outputs (end targets) or target steps × outputs (every step).
    return {
        "test_sequences": protocol.test_sequences,
        "test_wrong": wrong,
        "test_mse": squared / values,
        "test_mean_abs_error": absolute / values,
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
    data = TrainingData(experiment.task, task_cfg, protocol, seed, streams)
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
