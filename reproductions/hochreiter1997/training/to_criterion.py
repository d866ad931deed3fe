"""Minibatch training to an online experiment's stopping criterion: the modern baseline rows.

Hochreiter & Schmidhuber (1997) train online (one sequence, one SGD step) to a stopping criterion and report
the training sequences it took (§5, Table 11). A modern baseline asks the same question of today's default
recipe: ``keras.layers.LSTM`` trained with Adam on minibatches of fresh sequences from the same generator,
stopped by the *same* criterion (:mod:`.criteria`), counted in *training sequences*, and tested
on the same 2560 fresh sequences per trial. It is clearly not the paper's method (docs/deviations.md,
"Modern baselines").

Each trial is one ``model.fit`` on an endless :class:`~.criterion_callback.FreshSequences`
stream, compiled by the shared minibatch trainer (``lstm_hist.training.minibatch.build_model``: optimizer and
MSE loss from its protocol), stopped by a ``CriterionStop`` callback. Trials run one after another, each
with its own weights seed and data stream:

* training batch i of trial b: ``lstm_hist.seeds.train_batch_rng`` (a child of the online trainer's stream of
  trial b; the sequences are fresh draws of the same generator, not the online run's sequences);
* check and test sets: the online trainer's streams (``lstm_hist.seeds.trial_rng``), so trial b is checked and
  tested on exactly the sequences the paper row's trial b is;
* Exp 1's fixed training/test set pairs: ``fixed_set_pairs``, the paper row's pairs;
* initial weights: ``lstm_hist.seeds.weights_seed_to_criterion``.

The result is an :class:`~.result.OnlineResult`, so the record carries the paper row's
metric keys (success_rate, sequences_mean/median/min/max, test_wrong, test_mse, st1_mean, ...).

Resume: a finished trial is saved in ``workdir/baseline_trials.json``; an interrupted trial restarts from
its beginning on ``--resume`` (the sequences it had seen are reported as ``repeated_sequences``).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from lstm_hist import run_state, seeds
from lstm_hist.contract import TrainingProtocol
from lstm_hist.errors import UserError
from lstm_hist.experiment import SequenceBatch

from .criteria import legal_next_correct, sequence_scores
from .data import concat, fixed_set_pairs, take
from .protocol import CriterionFields, OnlineProtocol
from .result import OnlineResult

CHECKPOINT = "baseline_trials"  # lstm_hist.run_state writes baseline_trials.json
OPTIMIZERS = ("adam", "sgd", "rmsprop")
# The fields this protocol shares with OnlineProtocol: the criterion and the test, with the same meaning.
_CRITERION_FIELDS = tuple(field.name for field in dataclasses.fields(CriterionFields))


@dataclasses.dataclass
class CriterionMinibatchProtocol(CriterionFields, TrainingProtocol):
    """Fields are the ``protocol:`` keys of a ``*_keras_lstm`` config.

    optimizer: "adam" (the baseline), "sgd" or "rmsprop"; Keras defaults otherwise.
    learning_rate: step size (Keras's Adam default 1e-3).
    batch_size: fresh sequences per update.
    progress_every: batches between two progress lines.

    The other fields come from :class:`.protocol.CriterionFields` and mean what they mean for
    :class:`~.protocol.OnlineProtocol`, which validates them. ``max_sequences`` caps each trial's training sequences.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    progress_every: int = 50
    resumable_changes: ClassVar[tuple[str, ...]] = ("progress_every",)  # not in the fingerprint

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"protocol.optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.batch_size < 1 or self.progress_every < 1:
            raise UserError(f"protocol.batch_size and progress_every must be at least 1, got {self.batch_size} "
                            f"and {self.progress_every}")
        if not self.learning_rate > 0:
            raise UserError(f"protocol.learning_rate must be positive, got {self.learning_rate}")
        self.criteria  # noqa: B018 -- building it runs OnlineProtocol's checks of the shared fields

    @property
    def criteria(self) -> OnlineProtocol:
        """The shared fields as an OnlineProtocol (what criteria, checks and fixed sets are defined on)."""
        return OnlineProtocol(**{name: getattr(self, name) for name in _CRITERION_FIELDS})

    @property
    def every_step(self) -> bool:
        return self.target == "every_step"

    def run(self, **kwargs) -> OnlineResult:
        return train_to_criterion(protocol=self, **kwargs)

    def bench(self, **kwargs) -> dict[str, Any]:
        return bench_to_criterion(protocol=self, **kwargs)


# --- pieces -------------------------------------------------------------------------------------------


def _minibatch_protocol(protocol: CriterionMinibatchProtocol):
    from lstm_hist.training.minibatch import MinibatchProtocol

    return MinibatchProtocol(optimizer=protocol.optimizer, learning_rate=protocol.learning_rate,
                             batch_size=protocol.batch_size, loss="mse", from_logits=False)


def _predict(model, batch: SequenceBatch) -> np.ndarray:
    from lstm_hist.training.minibatch import sync

    sync(model)  # during fit (JAX) the current weights live outside the variables
    return np.asarray(model.predict_on_batch([batch.x, batch.mask()]))


def _drawer(task, task_cfg: dict, pair: tuple[SequenceBatch, SequenceBatch] | None):
    """``draw(rng, n)``: n fresh sequences, or (Exp 1) n exemplars drawn at random from the pair's training set."""
    if pair is None:
        return lambda rng, n: task(rng, n, **task_cfg)
    train = pair[0]
    return lambda rng, n: take(train, rng.integers(0, len(train.lengths), size=n))


def _check(task, task_cfg, protocol, seed, trial, pair, model) -> Callable[[], tuple[bool, bool | None]] | None:
    """The periodic check of "check_set" (Exp 3: ST1/ST2 on the trial's 256 check sequences) and "legal_next"
    (Exp 1: every symbol of the pair's training and test strings), on the current weights."""
    p = protocol.criteria
    if p.criterion == "check_set":
        rng = seeds.trial_rng(seed, "check", trial)
        check_set = task(rng, p.check_sequences, **{**task_cfg, **p.test_task})

        def check():
            pred = _predict(model, check_set)
            _, correct, absolute, count = sequence_scores(check_set.y, pred, check_set.mask(), p.threshold,
                                                          p.every_step, p.criterion_steps)  # fmt: skip
            st1 = int((~correct).sum()) <= p.st1_max_wrong
            return bool(st1 and absolute.sum() / count.sum() < p.st2_error), bool(st1)

        return check
    if p.criterion == "legal_next":
        legal_of = getattr(task, "legal_next", None)
        if legal_of is None:
            raise UserError("protocol.criterion 'legal_next' needs a task with a legal_next(x, lengths) function")
        both = concat(list(pair))
        legal = legal_of(both.x, both.lengths)

        def check():
            return bool(legal_next_correct(_predict(model, both), legal, both.mask()).all()), None

        return check
    return None


def evaluate_trial(model, task, task_cfg, seed, trial, protocol, block: int = 256) -> dict[str, float]:
    """ABS(threshold) errors and MSE of one trial on its ``test_sequences`` fresh test sequences: the same
    sequences as the online trainer's ``evaluate_trials`` gives trial ``trial``, scored the same way."""
    p = protocol.criteria
    rng = seeds.trial_rng(seed, "test", trial)
    cfg = {**task_cfg, **p.test_task}
    wrong, squared, absolute, values, done = 0, 0.0, 0.0, 0, 0
    while done < p.test_sequences:
        count = min(block, p.test_sequences - done)
        batch = task(rng, count, **cfg)
        error, correct, abs_sum, n_values = sequence_scores(batch.y, _predict(model, batch), batch.mask(),
                                                            p.threshold, p.every_step, p.criterion_steps)
        wrong += int((~correct).sum())
        squared += float(error.sum())
        absolute += float(abs_sum.sum())
        values += int(n_values.sum())
        done += count
    return {"test_wrong": wrong, "test_mse": squared / values, "test_mean_abs_error": absolute / values}


# --- training -----------------------------------------------------------------------------------------


def train_trial(protocol: CriterionMinibatchProtocol, *, experiment, task_cfg, model_cfg, seed, trial,
                pairs=None, progress=None, extra=None, test: bool = True) -> tuple[dict[str, Any], Any]:
    """Train trial ``trial`` to the criterion (or the cap) and test it: ``(per-trial dict, model)``.

    Raises KeyboardInterrupt (Ctrl-C, SIGTERM via the runner) with the sequences seen so far in
    ``exc.sequences_seen``.
    """
    from .criterion_callback import (BatchOutputs, CriterionStop, FreshSequences, TrialCriterion,
                                     deferred_interrupts)
    from lstm_hist.training.minibatch import build_model

    p = protocol.criteria
    task = experiment.task
    pair = pairs[trial % len(pairs)] if pairs else None
    probe = task(seeds.probe_rng(), 1, **task_cfg)
    metric = BatchOutputs((protocol.batch_size, *probe.y.shape[1:]))
    model = build_model(experiment, model_cfg, _minibatch_protocol(protocol),
                        seeds.weights_seed_to_criterion(seed, trial), metrics=[metric])
    data = FreshSequences(_drawer(task, task_cfg, pair), seed=seed, trial=trial,
                          batch_size=protocol.batch_size, every_step=p.every_step)
    criterion = TrialCriterion(p, _check(task, task_cfg, protocol, seed, trial, pair, model))
    steps = -(-p.max_sequences // protocol.batch_size)
    start = time.perf_counter()
    try:
        with deferred_interrupts():
            stop = CriterionStop(data, criterion, p.max_sequences, progress, protocol.progress_every, extra)
            model.fit(data, epochs=1, steps_per_epoch=steps, callbacks=[stop], verbose=0, shuffle=False)
    except KeyboardInterrupt as exc:
        exc.sequences_seen = criterion.seen
        raise
    seconds = time.perf_counter() - start
    row: dict[str, Any] = {
        "trial": trial, "solved": criterion.solved, "diverged": criterion.diverged,
        "sequences": criterion.sequences, "seen": criterion.seen, "train_seconds": seconds,
        "recent_correct_fraction": float(criterion.window.correct_fraction()[0]),
        "mean_error_below_beta_at": criterion.error_part_at, "correct_99_percent_at": criterion.correct_99_at,
        "st1_at": criterion.st1_at, "st2_at": criterion.st2_at, "weights": int(model.count_params()),
    }
    if test and not criterion.diverged and p.criterion != "legal_next":  # Exp 1's criterion covers its test set
        row.update(evaluate_trial(model, task, task_cfg, seed, trial, protocol))
    return row, model


def train_to_criterion(
    *,
    protocol: CriterionMinibatchProtocol,
    experiment,
    task_cfg: dict,
    model_cfg: dict,
    seed: int = 0,
    workdir: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[dict], None] | None = None,
) -> OnlineResult:
    """Train ``protocol.trials`` trials one after another to the criterion, test each; one OnlineResult."""
    p = protocol.criteria
    n = p.trials
    fingerprint = run_state.fingerprint(task_cfg, model_cfg, protocol, seed)
    workdir = Path(workdir) if workdir is not None else None
    state = {"done": [], "repeated_sequences": 0, "partial_seen": 0}
    if resume:
        state, _ = run_state.load(workdir, CHECKPOINT, fingerprint=fingerprint)
        if not isinstance(state.get("done"), list) or not isinstance(state.get("repeated_sequences"), int):
            raise UserError(f"the checkpoint in {workdir} does not fit this run; {run_state.FRESH_HINT}")
        state["repeated_sequences"] += state.get("partial_seen", 0)
        state["partial_seen"] = 0
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    pairs = fixed_set_pairs(experiment.task, task_cfg, p, seed) if p.fixed_sets else None
    status = "completed"
    for trial in range(len(state["done"]), n):
        solved = sum(row["solved"] for row in state["done"])
        extra = {"trial": f"{trial + 1}/{n}", "solved": solved, "trials": n}
        before = sum(int(row["sequences"]) for row in state["done"])
        try:
            row, _ = train_trial(protocol, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg,
                                 seed=seed, trial=trial, pairs=pairs, extra=extra,
                                 progress=_over_the_run(progress, before, (n - trial) * p.max_sequences))
        except KeyboardInterrupt as exc:
            status = "interrupted"
            state["partial_seen"] = int(getattr(exc, "sequences_seen", 0))
            run_state.save(workdir, CHECKPOINT, state, fingerprint=fingerprint)
            break
        state["done"].append(row)
        run_state.save(workdir, CHECKPOINT, state, fingerprint=fingerprint)
    return _result(state, protocol, seed, status)


def _over_the_run(progress: Callable[[dict], None] | None, before: int, left: int) -> Callable[[dict], None] | None:
    """The trials train one after another, so a trial's count restarts at 0 and its cap is one trial's: an ETA from
    those is off by the trials still to come (42 min shown with 4 left). Report the run's count instead, the
    finished trials' sequences plus this one's, against the run's cap: those plus ``left``, the cap of every trial
    not finished."""
    if progress is None:
        return None
    return lambda info: progress({**info, "sequences": before + info["sequences"], "max_sequences": before + left})


def _result(state: dict, protocol: CriterionMinibatchProtocol, seed: int, status: str) -> OnlineResult:
    p = protocol.criteria
    rows = state["done"]
    # An interrupted run reports the trials it finished (the record says so), not unrun trials as failures.
    n = len(rows) if status == "interrupted" and rows else p.trials

    def column(key, dtype, default=0):
        values = [row.get(key, default) for row in rows] + [default] * (n - len(rows))
        return np.array(values, dtype=dtype)

    solved, diverged = column("solved", bool, False), column("diverged", bool, False)
    if status == "completed" and diverged.all():
        status = "diverged"
    test = None
    if status in ("completed", "interrupted") and p.criterion != "legal_next" and rows:  # finished trials are tested
        test = {"test_sequences": p.test_sequences, "test_wrong": column("test_wrong", np.int64),
                "test_mse": column("test_mse", float, np.nan), "test_mean_abs_error":
                column("test_mean_abs_error", float, np.nan)}
    check_set = p.criterion == "check_set"
    return OnlineResult(
        status=status,
        trials=n,
        parameters=int(rows[0]["weights"]) if rows else 0,
        sequences=column("sequences", np.int64),
        solved=solved,
        diverged=diverged,
        sequences_seen=int(column("seen", np.int64).max()) if n else 0,
        repeated_sequences=int(state["repeated_sequences"]),
        seeds={**seeds.describe("train_batches", "test_streams", "check_streams", seed=seed),
               "weights": seeds.STREAMS["weights_to_criterion"].derivation},
        train_seconds=float(sum(row["train_seconds"] for row in rows)),
        test=test,
        window_correct_fraction=column("recent_correct_fraction", float),
        error_part_at=column("mean_error_below_beta_at", np.int64),
        correct_99_at=column("correct_99_percent_at", np.int64),
        st1_at=column("st1_at", np.int64) if check_set else None,
        st2_at=column("st2_at", np.int64) if check_set else None,
    )


def bench_to_criterion(*, protocol: CriterionMinibatchProtocol, experiment, task_cfg, model_cfg, seed=0,
                       updates: int = 100, reported: dict | None = None) -> dict[str, Any]:
    """Seconds per minibatch of one trial after it has compiled, and the run's wall time at the cap and at the
    paper's mean (a trial that meets its criterion early is timed over the batches it ran)."""
    import keras

    warmup = 5
    clock: list[tuple[int, float]] = []
    capped = dataclasses.replace(protocol, max_sequences=protocol.batch_size * (warmup + updates), trials=1,
                                 progress_every=1)
    start = time.perf_counter()
    row, _ = train_trial(capped, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg, seed=seed, trial=0,
                         progress=lambda info: clock.append((info["sequences"], time.perf_counter())), test=False)
    total = time.perf_counter() - start
    timed = [(seen, at) for seen, at in clock if seen >= warmup * protocol.batch_size]
    if len(timed) < 2:
        raise UserError("bench: the trial stopped before it could be timed; use more --updates")
    (seen0, t0), (seen1, t1) = timed[0], timed[-1]
    per_sequence = (t1 - t0) / (seen1 - seen0)
    out: dict[str, Any] = {
        "backend": keras.backend.backend(),
        "batch_size": protocol.batch_size,
        "updates": (seen1 - seen0) // protocol.batch_size,
        "ms_per_update": round(per_sequence * protocol.batch_size * 1e3, 3),
        "sequences_per_second": round(1.0 / per_sequence, 1),
        "fixed_seconds_per_trial": round(max(total - row["seen"] * per_sequence, 0.0), 1),
        "estimated_seconds_at_cap": round(protocol.trials * protocol.max_sequences * per_sequence, 1),
    }
    if reported and reported.get("sequences_mean"):
        out["estimated_seconds_at_paper_mean"] = round(protocol.trials * float(reported["sequences_mean"])
                                                       * per_sequence, 1)
    return out
