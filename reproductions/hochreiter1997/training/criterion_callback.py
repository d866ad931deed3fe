"""Train with ``model.fit`` on an endless stream of fresh sequences until a stopping criterion holds.

Three Keras pieces, for minibatch baselines of the online experiments (Hochreiter & Schmidhuber 1997 Exps 1–6,
modern rows; :mod:`.to_criterion` puts them together):

* :class:`FreshSequences`: an infinite ``keras.utils.PyDataset``. Batch ``i`` is a pure function of
  ``(seed, trial, i)``, not of the order in which Keras asks for batches (the TensorFlow adapter reads a few
  batches ahead to infer shapes, tf.data prefetches), so every backend trains on the same sequences.
* :class:`BatchOutputs`: a metric that returns the training step's own outputs. They are computed with the
  weights *before* that step's update, which is exactly what the online trainer judges each sequence by
  (:mod:`.criteria`), and they cost no second forward pass.
* :class:`CriterionStop`: counts training sequences, feeds each batch's outputs to a :class:`TrialCriterion`
  and stops ``fit`` when the criterion holds, the outputs stop being finite, or the sequence cap is reached.

The criteria themselves are those of :mod:`.criteria` (ST3, the windows of Exps 2 and 5, the check set of Exp 3,
legal next symbols of Exp 1); this module only feeds them.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Any, Callable

import keras
import numpy as np
from keras import ops

from lstm_hist import interrupt, seeds
from lstm_hist.experiment import SequenceBatch
from lstm_hist.training.divergence import exploded
from lstm_hist.training.minibatch import sync, variable_value

from .criteria import RecentWindow, first_reached, reported_count, sequence_scores, step_targets, window_met


class TrialCriterion:
    """One trial's stopping criterion, fed one minibatch of training outputs at a time.

    ``protocol`` carries the criterion fields of :class:`.protocol.OnlineProtocol` (criterion,
    criterion_error, threshold, window, every_step, criterion_steps, max_wrong, check_every). ``check`` is
    needed by "check_set" and "legal_next": ``check() -> (met, st1 or None)`` on the current weights.
    """

    def __init__(self, protocol, check: Callable[[], tuple[bool, bool | None]] | None = None):
        if protocol.criterion in ("check_set", "legal_next") and check is None:
            raise ValueError(f"criterion {protocol.criterion!r} needs a check function")
        self.protocol = protocol
        self.check = check
        self.window = RecentWindow(1, protocol.window)
        self.seen = 0
        self.sequences = 0  # the count reported for this trial (see `update`)
        self.solved = False
        self.diverged = False
        self.error_part_at = 0
        self.correct_99_at = 0
        self.st1_at = 0
        self.st2_at = 0

    @property
    def done(self) -> bool:
        return self.solved or self.diverged

    def update(self, target: np.ndarray, output: np.ndarray, mask: np.ndarray) -> bool:
        """Count one batch of training sequences and judge it; True when training should stop.

        The count is whole batches: the update of the batch in which the criterion is met has been applied,
        as the online trainer applies the update of the sequence at which it stops. With "window" the count
        is where the successful run of ``window`` sequences began (deviations E2.4), to batch resolution.
        """
        p = self.protocol
        n = len(output)
        self.seen += n
        self.sequences = self.seen
        if not np.isfinite(output).all():
            self.diverged = True
            return True
        error, correct, _, _ = sequence_scores(target, output, mask, p.threshold, p.every_step, p.criterion_steps)
        one = np.ones(1, dtype=bool)
        for j in range(n):
            self.window.push(one, error[j : j + 1], correct[j : j + 1])
        met = window_met(self.window, p)
        if met is not None:
            met = bool(met[0])
        elif self.seen // p.check_every > (self.seen - n) // p.check_every:
            met = self.run_check()
        else:
            met = False
        error_part_at, correct_99_at = first_reached(self.window, p.criterion_error, self.seen,
                                                     np.array([self.error_part_at]), np.array([self.correct_99_at]))
        self.error_part_at, self.correct_99_at = int(error_part_at[0]), int(correct_99_at[0])
        if met:
            self.solved = True
            self.sequences = reported_count(self.seen, p)
        return self.solved

    def run_check(self) -> bool:
        """The periodic check ("check_set", "legal_next") on the current weights; notes when ST1 and ST2 first held."""
        met, st1 = self.check()
        if st1 is not None:
            if st1 and not self.st1_at:
                self.st1_at = self.seen
            if met and not self.st2_at:
                self.st2_at = self.seen
        return met


class FreshSequences(keras.utils.PyDataset):
    """Endless minibatches: batch i of trial ``trial`` is ``draw(lstm_hist.seeds.train_batch_rng(seed, trial, i),
    batch_size)``, as ``((x, mask), y[, w])``.

    Every-step targets (Exps 1, 2a, 2b) get the steps that carry a target as sample weights ``w``, so padding
    and the last symbol (which has no successor) add nothing to the loss.
    """

    def __init__(self, draw: Callable[[np.random.Generator, int], SequenceBatch], *, seed: int, trial: int,
                 batch_size: int, every_step: bool):
        super().__init__()  # one worker, no multiprocessing: batches are cheap to draw
        self.draw, self.seed, self.trial = draw, seed, trial
        self.batch_size, self.every_step = batch_size, every_step
        self.cache: dict[int, SequenceBatch] = {}

    @property
    def num_batches(self):
        return None  # endless: fit runs until CriterionStop stops it

    def batch(self, index: int) -> SequenceBatch:
        if index not in self.cache:
            self.cache[index] = self.draw(seeds.train_batch_rng(self.seed, self.trial, index), self.batch_size)
        return self.cache[index]

    def release(self, upto: int) -> None:
        """Forget batches before ``upto`` (the callback has judged them)."""
        for index in [i for i in self.cache if i < upto]:
            del self.cache[index]

    def __getitem__(self, index: int):
        b = self.batch(index)
        mask = b.mask()
        if self.every_step:
            return (b.x, mask), b.y, step_targets(mask).astype("float32")
        return (b.x, mask), b.y


class BatchOutputs(keras.metrics.Metric):
    """A metric holding the last training batch's outputs and targets (``batch_shape`` = (B, …outputs)).

    Its result is ``{"batch_outputs": …, "batch_targets": …}``, which reaches the callbacks' ``logs`` as
    NumPy arrays (scalars are turned into floats; arrays are passed through).
    """

    def __init__(self, batch_shape: tuple[int, ...], name: str = "batch_outputs", **kwargs):
        super().__init__(name=name, **kwargs)
        self.batch_shape = tuple(batch_shape)
        self.outputs = self.add_variable(shape=self.batch_shape, initializer="zeros", name="outputs")
        self.targets = self.add_variable(shape=self.batch_shape, initializer="zeros", name="targets")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.outputs.assign(ops.cast(y_pred, self.outputs.dtype))
        self.targets.assign(ops.cast(y_true, self.targets.dtype))

    def result(self):
        return {"batch_outputs": self.outputs.value, "batch_targets": self.targets.value}

    def reset_state(self):
        self.outputs.assign(ops.zeros(self.batch_shape))
        self.targets.assign(ops.zeros(self.batch_shape))


@contextlib.contextmanager
def deferred_interrupts():
    """Hold SIGINT and SIGTERM during ``fit`` until a callback raises them as KeyboardInterrupt.

    Keras turns each batch's logs into Python numbers inside a bare ``except:`` (``pythonify_logs``), and that
    is where the main thread waits for the training step, so an interrupt raised by a signal handler is
    mostly swallowed there and the run goes on. Here the handler only records the signal in
    :mod:`lstm_hist.interrupt`; ``CriterionStop`` raises it at the next batch end, and leaving the block raises one
    that arrived after the last batch. (Inside ``lstm-hist run`` the runner's handler records it too.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: interrupt.request(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    interrupt.check()


class CriterionStop(keras.callbacks.Callback):
    """Judges every training batch and stops ``fit`` (see the module docstring).

    A stop request held by :func:`deferred_interrupts` (or the runner) is raised as KeyboardInterrupt at a batch end.
    """

    def __init__(self, dataset: FreshSequences, criterion: TrialCriterion, max_sequences: int,
                 progress: Callable[[dict], None] | None = None, progress_every: int = 50,
                 extra: dict[str, Any] | None = None):
        super().__init__()
        self.dataset, self.criterion, self.max_sequences = dataset, criterion, max_sequences
        self.progress, self.progress_every, self.extra = progress, progress_every, extra or {}
        self.batches = 0
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        interrupt.check()
        logs = logs or {}
        criterion = self.criterion
        output, target = np.asarray(logs["batch_outputs"]), np.asarray(logs["batch_targets"])
        data = self.dataset.batch(self.batches)
        if not np.array_equal(target, data.y):
            # The k-th step must have trained on batch k; anything else would judge the wrong sequences.
            raise RuntimeError(f"training batch {self.batches} is not the one the criterion judges")
        self.batches += 1
        self.dataset.release(self.batches)
        stop = criterion.update(target, output, data.mask())
        if not stop and self.batches % 100 == 0 and _weights_exploded(self.model):
            criterion.diverged = stop = True  # saturated, exploded weights keep the outputs finite
        if stop or criterion.seen >= self.max_sequences:
            self.model.stop_training = True
        if self.progress is not None and (stop or self.batches % self.progress_every == 0):
            rate = criterion.seen / max(time.perf_counter() - self.start, 1e-9)
            self.progress({**self.extra, "sequences": criterion.seen, "max_sequences": self.max_sequences,
                           "error": float(criterion.window.mean_error()[0]),
                           "correct": float(criterion.window.correct_fraction()[0]), "rate": rate})


def _weights_exploded(model) -> bool:
    sync(model)  # during fit (JAX) the current weights live outside the variables
    return exploded(variable_value(v) for v in model.trainable_variables)
