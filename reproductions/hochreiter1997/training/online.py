"""The online protocol of Hochreiter & Schmidhuber (1997, §5 intro, App. A.1), many trials in one graph.

Each update shows every active trial one fresh sequence, computes the error at the sequence end and
applies plain gradient descent, Δw = −α ∂E/∂w, with E = ``loss_scale`` · Σ_k (t_k − y_k)² (eq. 16;
eqs. 19 and 22 drop the factor 2, so ``loss_scale`` = ½ reproduces the paper's update, see
docs/deviations.md). The paper's independent trials are the rows of one model whose weights carry a
leading trial axis; each trial draws its data from its own RNG stream, so its updates depend on nothing
the other trials see. A trial that meets its stopping criterion is frozen; the run ends when all are
frozen or the sequence cap is reached. Then every trial is tested on ``test_sequences`` fresh sequences.
With ``update: per_step`` the weights change after every step that carries a target instead (App. A.1's
online learning, by truncated RTRL: :mod:`.rtrl`); for end-of-sequence targets the two coincide.

Checkpoints (weights, optimizer variables, per-trial counters and windows, RNG states) are written
atomically every ``checkpoint_every`` sequences, so a killed run resumes with ``resume=True`` and repeats
at most that many sequences.
"""

from __future__ import annotations

import dataclasses
import time
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from lstm_hist import interrupt, run_state, seeds
from lstm_hist.errors import UserError
from lstm_hist.training.divergence import exploded_trials

from ..construction import Construction
from ..symbols import task_for
from .checks import check_streams, evaluate_trials, make_checker
from .criteria import RecentWindow, first_reached, reported_count, sequence_scores, window_met
from .data import TrainingData, chunk_size
from .block_steps import block_stepper
from .compact import trial_compaction, widen
from .protocol import OnlineProtocol
from .result import OnlineResult

CHECKPOINT = "checkpoint"  # lstm_hist.run_state writes checkpoint.json (state) and checkpoint.npz (arrays)


def build_learner(experiment, model_cfg, protocol, seed):
    """``(model, optimizer, stepper)``: the trial-parallel net and what trains it, one update per sequence
    (:class:`.steps.Stepper`) or, with ``update: per_step``, per step by truncated RTRL (:class:`.rtrl.RTRLStepper`)."""
    import keras

    keras.utils.set_random_seed(seeds.weights_seed_online(seed))
    return build_unseeded(experiment, model_cfg, protocol)


def build_unseeded(experiment, model_cfg, protocol):
    """:func:`build_learner` without seeding Keras first (a second, smaller learner for .compact: its weights are
    replaced before use)."""
    import keras

    model = experiment.model(trials=protocol.trials, **model_cfg)
    if protocol.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=protocol.learning_rate)
    else:
        optimizer = keras.optimizers.Adam(learning_rate=protocol.learning_rate)
    from .numba_step import NumbaStepper, choose

    kernel = choose(model, protocol)  # a UserError for `kernel: numba` where it does not apply (e.g. per_step)
    if protocol.update == "per_step":
        from .rtrl import RTRLStepper

        stepper = RTRLStepper(model, protocol.learning_rate, protocol.loss_scale, every_step=protocol.every_step)
        return model, optimizer, stepper
    if kernel == "numba":
        return model, optimizer, NumbaStepper(model, optimizer, protocol.learning_rate, protocol.loss_scale)
    from .steps import Stepper

    return model, optimizer, Stepper(model, optimizer, protocol.loss_scale, every_step=protocol.every_step)


def parameters_per_trial(model, trials: int) -> int:
    return int(sum(int(np.prod(v.shape)) for v in model.trainable_variables) // trials)


COUNTERS = ("sequences", "solved", "diverged", "error_part_at", "correct_99_at", "st1_at", "st2_at")


@dataclasses.dataclass
class TrialCounters:
    """Per trial: the sequence count it reports, whether it is solved or diverged, and when it first met ST3's error
    part, 99% of its window correct, ST1 and ST2 (0 = not yet). Saved in the checkpoint under these names."""

    sequences: np.ndarray
    solved: np.ndarray
    diverged: np.ndarray
    error_part_at: np.ndarray
    correct_99_at: np.ndarray
    st1_at: np.ndarray
    st2_at: np.ndarray

    @classmethod
    def zeros(cls, trials: int) -> TrialCounters:
        return cls(*(np.zeros(trials, dtype=bool if name in ("solved", "diverged") else np.int64) for name in COUNTERS))

    @classmethod
    def from_arrays(cls, arrays) -> TrialCounters:
        return cls(*(arrays[name] for name in COUNTERS))

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in COUNTERS}

    def done(self) -> np.ndarray:
        return self.solved | self.diverged


class OnlineRun:
    """One run of :func:`train_online`: the net, its data, each trial's criterion state, and the checkpoint."""

    def __init__(self, protocol: OnlineProtocol, experiment, task_cfg: dict, model_cfg: dict, seed: int,
                 workdir, progress: Callable[[dict], None] | None, progress_every: int):
        n = protocol.trials
        self.protocol, self.task_cfg, self.seed, self.n = protocol, task_cfg, seed, n
        self.model, self.optimizer, self.stepper = build_learner(experiment, model_cfg, protocol, seed)
        self.task = task_for(experiment.task, self.model)  # Exp 2 on the fast path: symbol indices (..symbols)
        # Sequential construction (Exp 2a/2b, §4): each trial's next block comes when its error stops decreasing.
        self.construction = Construction(self.model, protocol.construction, n) if protocol.construction else None
        self.streams = seeds.trial_streams(seed, "train", n)
        self.window = RecentWindow(n, protocol.window)
        self.counters = TrialCounters.zeros(n)
        self.data = TrainingData(self.task, task_cfg, protocol, seed, self.streams)
        self.check = make_checker(self.task, task_cfg, protocol, seed, n, self.data)
        self.block = block_stepper(self.stepper, protocol, self.construction, self.check)
        self.compaction = trial_compaction(protocol, self.stepper, lambda size: build_unseeded(
            experiment, model_cfg, dataclasses.replace(protocol, trials=size))[2])  # the tail: active trials only
        self.takes_rows = getattr(self.stepper, "takes_rows", False)  # the numba stepper: its own tail handling
        self.seen = self.repeated = 0
        self.elapsed_before = 0.0
        self.steppers = [getattr(self.stepper, "name", "keras")]  # what computed the updates, segment by segment
        self.fingerprint = run_state.fingerprint(task_cfg, model_cfg, protocol, seed)
        self.workdir = Path(workdir) if workdir is not None else None
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
        self.progress, self.progress_every = progress, progress_every
        self.start, self.seen_at_start = time.perf_counter(), 0

    def _variables(self) -> list:
        return self.model.trainable_variables + self.model.non_trainable_variables

    def restore(self) -> None:
        """Continue from the checkpoint in ``workdir`` (UserError when it does not fit this run)."""
        state, arrays = run_state.load(self.workdir, CHECKPOINT, fingerprint=self.fingerprint)
        try:
            if int(arrays["seen"]) != state["seen"]:
                raise ValueError("weights and state differ")
            for k, var in enumerate(self._variables()):
                var.assign(arrays[f"model_{k}"])
            for k, var in enumerate(self.optimizer.variables):
                var.assign(arrays[f"optimizer_{k}"])
            self.window.load(arrays)
            self.counters = TrialCounters.from_arrays(arrays)
            if self.construction is not None:
                self.construction.load(arrays)
            self.seen = state["seen"]
            self.elapsed_before = state["train_seconds"]
            # a checkpoint from before the numba stepper existed was written by this run's stepper of then
            current = self.steppers[-1]
            before = state.get("steppers") or ["keras" if current == "numba" else current]
            self.steppers = before if before[-1] == current else before + [current]
            for rng, rng_state in zip(self.streams, state["rng"]):
                rng.bit_generator.state = rng_state
        except (KeyError, ValueError, TypeError) as exc:
            raise UserError(f"the checkpoint in {self.workdir} does not fit this run ({exc}); "
                            f"{run_state.FRESH_HINT}") from None
        self.stepper.pull()
        self.repeated = (max(0, run_state.progress_reached(self.workdir, self.seen) - self.seen)
                         + state.get("repeated_sequences", 0))

    def checkpoint(self) -> None:
        if self.workdir is None:
            return
        self.stepper.push()
        arrays = {f"model_{k}": np.asarray(v.numpy()) for k, v in enumerate(self._variables())}
        arrays.update({f"optimizer_{k}": np.asarray(v.numpy()) for k, v in enumerate(self.optimizer.variables)})
        arrays.update(self.window.state(), **self.counters.arrays(), seen=self.seen)
        if self.construction is not None:
            arrays.update(self.construction.state())
        state = {
            "seen": self.seen,
            "train_seconds": self.elapsed_before + (time.perf_counter() - self.start),
            "repeated_sequences": self.repeated,
            "steppers": self.steppers,
            "rng": [rng.bit_generator.state for rng in self.streams],
        }
        run_state.save(self.workdir, CHECKPOINT, state, arrays, fingerprint=self.fingerprint)

    def note_progress(self) -> None:
        run_state.note_progress(self.workdir, self.seen)
        if self.progress is None:
            return
        active = ~self.counters.done()
        rows = active if active.any() else np.ones(self.n, dtype=bool)
        self.progress({
            "sequences": self.seen,
            "max_sequences": self.protocol.max_sequences,
            "solved": int(self.counters.solved.sum()),
            "trials": self.n,
            "error": float(self.window.mean_error()[rows].mean()),
            "correct": float(self.window.correct_fraction()[rows].mean()),
            "rate": (self.seen - self.seen_at_start) / max(time.perf_counter() - self.start, 1e-9),
        })

    def train(self) -> str:
        """Train until every trial is solved or diverged or the cap is reached: "completed" or "interrupted"."""
        p = self.protocol
        self.start, self.seen_at_start = time.perf_counter(), self.seen
        chunk = chunk_size(self.task, self.task_cfg, p)
        try:
            while self.seen < p.max_sequences and not self.counters.done().all():
                count = min(chunk, p.max_sequences - self.seen)
                rows = self.rows(self.counters.done())
                x, mask, y = self.data.draw(count, self.seen, rows)  # rows: the active trials' data only
                if self.block is not None:
                    self.train_blocks(x, mask, y, rows)
                for i in range(0 if self.block is not None else count):
                    self.train_sequence(x[i], mask[i], y[i], rows)
                    if self.counters.done().all():
                        break
                if self.seen % p.checkpoint_every == 0 or self.counters.done().all():
                    self.checkpoint()
        except KeyboardInterrupt:
            run_state.note_progress(self.workdir, self.seen)
            return "interrupted"
        return "completed"

    def rows(self, done: np.ndarray) -> np.ndarray | None:
        """The trials to draw the next chunk for (None: all): the active ones where compaction applies, or
        wherever a trial is done for a stepper that takes data for some trials only. Each trial has its own
        stream, so an active trial's sequences are the same either way."""
        if self.compaction is not None:
            return self.compaction.rows(done)
        return np.flatnonzero(~done) if self.takes_rows and done.any() else None

    def train_sequence(self, x, mask, y, rows=None) -> None:
        """One sequence per active trial: update, then judge it by the outputs from before the update. ``rows``:
        the trials the data hold (None: all)."""
        active = ~self.counters.done()
        interrupt.check()  # a SIGTERM whose KeyboardInterrupt the jitted step swallowed
        if self.compaction is not None:
            step = partial(self.compaction, rows=rows)
        else:
            step = partial(self.stepper, rows=rows) if self.takes_rows else self.stepper
        self.judge(step(x, mask, y, active), widen(mask, rows, self.n), widen(y, rows, self.n), active)

    def train_blocks(self, x, mask, y, rows=None) -> None:
        """A chunk's updates, several per jitted call (:mod:`.block_steps`). A block ends where K single calls
        would change something between updates: a trial newly done (the block is rewound to that update), and
        the ``progress_every`` boundaries where :meth:`watch` reads the weights."""
        k_max, every, i = self.protocol.updates_per_call, self.progress_every, 0
        while i < len(x) and not self.counters.done().all():
            k = min(k_max - self.seen % k_max, every - self.seen % every, len(x) - i)
            done = self.counters.done().copy()
            interrupt.check()
            block = self.block if self.compaction is None else partial(self.compaction.block, rows=rows,
                                                                        full_block=self.block)
            preds = block(x[i : i + k], mask[i : i + k], y[i : i + k], ~done)
            for j in range(k):
                self.judge(preds[j], widen(mask[i + j], rows, self.n), widen(y[i + j], rows, self.n), ~done)
                if (self.counters.done() != done).any() or j == k - 1:
                    self.block.rewind(j) if self.compaction is None else self.compaction.rewind(j, self.block)
                    break
            i += j + 1

    def judge(self, pred, mask, y, active) -> None:
        """Count the update just made and judge it by its outputs ``pred`` from before the update."""
        p, c = self.protocol, self.counters
        self.seen += 1
        finite = np.isfinite(pred.reshape(self.n, -1)).all(axis=-1)
        c.diverged |= active & ~finite
        active &= finite
        error, correct, _, _ = sequence_scores(y, pred, mask, p.threshold, p.every_step, p.criterion_steps)
        self.window.push(active, error, correct)
        if self.construction is not None:  # the next block for trials whose error stopped decreasing
            self.construction.after_sequence(active, error, self.seen, self.stepper)
        c.sequences[active] = self.seen
        newly = active & self.criterion_met(active)
        c.sequences[newly] = reported_count(self.seen, p)
        c.solved |= newly
        if self.seen % self.progress_every == 0:
            self.watch()

    def criterion_met(self, active: np.ndarray) -> np.ndarray:
        """Per trial, whether its stopping criterion holds after the current sequence."""
        p, c = self.protocol, self.counters
        met = window_met(self.window, p)
        if met is not None:
            return met
        if self.seen % p.check_every:
            return np.zeros(self.n, dtype=bool)
        if self.compaction is not None and self.compaction.applies(active):  # the active trials' check sets only
            met, st1 = self.compaction.check(self.check, active, at=self.seen)
        elif self.takes_rows:  # the numba stepper's own forward pass, on the active trials' check sets only
            trial = np.flatnonzero(active)
            if not trial.size:
                return np.zeros(self.n, dtype=bool)
            met, st1 = self.check(self.stepper.on_trials(trial), trial, active=np.ones(trial.size, bool), at=self.seen)
            met, st1 = widen(met, trial, self.n), None if st1 is None else widen(st1, trial, self.n)
        else:
            self.stepper.push()
            met, st1 = self.check(self.model, active=active, at=self.seen)
            self.stepper.pull()  # Keras's JAX predict donates the weight buffers the stepper holds
        if st1 is not None:
            c.st1_at[active & st1 & (c.st1_at == 0)] = self.seen
            c.st2_at[active & met & (c.st2_at == 0)] = self.seen
        return met

    def watch(self) -> None:
        """Every ``progress_every`` sequences: exploded weights, the window diagnostics, the progress line."""
        c = self.counters
        self.stepper.push()  # saturated, exploded weights can keep the outputs finite: check the weights too
        blown = exploded_trials([v.numpy() for v in self.model.trainable_variables], self.n)
        c.diverged |= blown & ~c.solved
        c.error_part_at, c.correct_99_at = first_reached(self.window, self.protocol.criterion_error, self.seen,
                                                         c.error_part_at, c.correct_99_at)
        self.note_progress()

    def result(self, status: str) -> OnlineResult:
        """Test the trials of a completed run and summarise (the model holds the final weights afterwards)."""
        p, c = self.protocol, self.counters
        train_seconds = self.elapsed_before + (time.perf_counter() - self.start)
        self.stepper.push()
        if self.progress is not None and status == "completed":
            self.note_progress()
        test = None
        if status == "completed":
            if c.diverged.all():
                status = "diverged"
            elif p.criterion != "legal_next":  # Exp 1 has no ABS test: its criterion covers the test set
                test = evaluate_trials(self.model, self.task, self.task_cfg, self.seed, self.n, p)
        check_set = p.criterion == "check_set"
        return OnlineResult(
            status=status,
            trials=self.n,
            parameters=parameters_per_trial(self.model, self.n),
            sequences=c.sequences.copy(),
            solved=c.solved.copy(),
            diverged=c.diverged.copy(),
            sequences_seen=self.seen,
            repeated_sequences=self.repeated,
            seeds={**seeds.describe("train_streams", "test_streams", *check_streams(p), seed=self.seed),
                   "weights": seeds.weights_seed_online(self.seed)},
            train_seconds=train_seconds,
            test=test,
            window_correct_fraction=self.window.correct_fraction(),
            error_part_at=c.error_part_at.copy(),
            correct_99_at=c.correct_99_at.copy(),
            st1_at=c.st1_at.copy() if check_set else None,
            st2_at=c.st2_at.copy() if check_set else None,
            final_weights=self.model.get_weights() if status == "completed" else None,
            construction=None if self.construction is None else [self.construction.per_trial(b) for b in range(self.n)],
            steppers=list(self.steppers),
        )


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
    run = OnlineRun(protocol, experiment, task_cfg, model_cfg, seed, workdir, progress, progress_every)
    if resume:
        run.restore()
    return run.result(run.train())
