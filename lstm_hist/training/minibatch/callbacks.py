"""The minibatch trainer's Keras callbacks. Imported when training starts (they subclass a Keras class).

They share one ``state`` dict with the trainer: what a checkpoint stores (epoch, history, early-stopping state,
batches of the current epoch, best weights, divergence). :func:`training_callbacks` lists them in the order they
must act; a protocol's ``extra_callbacks`` go after the trainer's own and before the stop-request check.
"""

from __future__ import annotations

import time
from typing import Callable

import keras
import numpy as np

from lstm_hist import interrupt
from lstm_hist.training.divergence import exploded

from .checkpoint import sync, variable_value

WEIGHT_CHECK_EVERY = 100  # batches between two checks of the weights for divergence (lstm_hist.training.divergence)
PROGRESS_SECONDS = 30.0  # between two progress reports inside an epoch


class EpochOrder(keras.callbacks.Callback):
    """Counts the batches of the epoch and sets the epoch's order of the shuffled training data."""

    def __init__(self, state: dict, shuffled):
        super().__init__()
        self.state, self.shuffled = state, shuffled

    def on_epoch_begin(self, epoch, logs=None):
        self.state["batches_in_epoch"] = 0
        self.state["current_epoch"] = epoch
        if self.shuffled is not None:
            self.shuffled.set_epoch(epoch)

    def on_train_batch_end(self, batch, logs=None):
        self.state["batches_in_epoch"] += 1


class WeightNoise(keras.callbacks.Callback):
    """Graves (2011) weight noise: gradient at w + ε, update applied to w (see the package docstring).

    The noise of batch ``batch`` of epoch ``e`` is drawn from ``default_rng([noise_seed, e, batch])``.
    """

    def __init__(self, state: dict, std: float, noisy: list, noise_seed: int):
        super().__init__()
        self.state, self.std, self.noisy, self.noise_seed = state, std, noisy, noise_seed
        self.noise: list[np.ndarray] = []
        self.clean: list[np.ndarray] | None = None  # weights before the noise, while a batch is in flight

    def on_train_batch_begin(self, batch, logs=None):
        sync(self.model)
        rng = np.random.default_rng([self.noise_seed, self.state["current_epoch"], batch])
        self.noise, self.clean = [], []
        for variable in self.noisy:
            value = variable_value(variable)
            eps = rng.normal(0.0, self.std, variable.shape).astype(value.dtype)
            variable.assign(value + eps)
            self.noise.append(eps)
            self.clean.append(value)

    def on_train_batch_end(self, batch, logs=None):
        sync(self.model)
        for variable, eps in zip(self.noisy, self.noise):
            variable.assign(variable_value(variable) - eps)
        self.noise, self.clean = [], None

    def undo_pending(self) -> None:
        """After an interrupt inside a batch: go back to the clean weights from before that batch."""
        if self.clean is not None:
            for variable, value in zip(self.noisy, self.clean):
                variable.assign(value)
            self.noise, self.clean = [], None


class NaNGuard(keras.callbacks.Callback):
    """Stops a run whose loss is not finite, or whose weights exploded (checked every WEIGHT_CHECK_EVERY batches)."""

    def __init__(self, state: dict):
        super().__init__()
        self.state = state

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        blown = loss is not None and not np.isfinite(float(loss))
        if not blown and (batch + 1) % WEIGHT_CHECK_EVERY == 0:
            sync(self.model)  # finite losses can hide saturated, exploded weights
            blown = exploded(variable_value(v) for v in self.model.trainable_variables)
        if blown:
            self.state["diverged"] = True
            self.model.stop_training = True


class EpochEnd(keras.callbacks.Callback):
    """Early stopping with best weights, then the checkpoint, then progress — in that order."""

    def __init__(self, protocol, state: dict, save: Callable[[], None], progress: Callable[[dict], None] | None):
        super().__init__()
        self.protocol, self.state, self.save, self.progress = protocol, state, save, progress

    def on_epoch_end(self, epoch, logs=None):
        state = self.state
        if state.get("diverged"):
            return
        sync(self.model)
        if exploded(variable_value(v) for v in self.model.trainable_variables):
            state["diverged"] = True
            self.model.stop_training = True
            return
        logs = {k: float(v) for k, v in (logs or {}).items()}
        for key, value in logs.items():
            state["history"].setdefault(key, []).append(value)
        state["epoch"] = epoch + 1
        state["batches_in_epoch"] = 0
        self._early_stopping(epoch, logs.get(self.protocol.monitor))
        self.save()
        if self.progress is not None:
            self.progress({"epoch": epoch + 1, "epochs": self.protocol.epochs, "loss": logs.get("loss"),
                           "val_loss": logs.get("val_loss"), "best_epoch": state["best_epoch"]})

    def _early_stopping(self, epoch: int, value) -> None:
        state, protocol = self.state, self.protocol
        if value is not None and np.isfinite(value) and (state["best"] is None or value < state["best"]):
            state["best"], state["best_epoch"], state["wait"] = value, epoch + 1, 0
            if protocol.restore_best_weights:
                state["best_weights"] = [np.array(w) for w in self.model.get_weights()]
            return
        state["wait"] += 1
        patience = protocol.early_stopping_patience
        if patience is not None and state["wait"] >= max(patience, 1):
            state["stopped_early"] = True
            self.model.stop_training = True


class BatchProgress(keras.callbacks.Callback):
    """Progress inside an epoch, at most every ``every`` seconds: an NPLM epoch takes minutes to hours on a CPU,
    and a run that reports only at epoch ends shows nothing (and a campaign no ETA) until the first one ends.

    The report's ``epoch`` is fractional (epochs done + this epoch's share of batches), so the campaign's ETA to
    ``epochs`` counts from it; ``batch``/``batches`` say where in the epoch the run is. Epoch ends report as before.
    """

    def __init__(self, protocol, progress: Callable[[dict], None], every: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.protocol, self.progress, self.clock = protocol, progress, clock
        self.every = PROGRESS_SECONDS if every is None else every
        self._epoch, self._last = 0, clock()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        steps, now = (self.params or {}).get("steps"), self.clock()
        if not steps or batch + 1 >= steps or now - self._last < self.every:
            return  # the epoch's last batch: the epoch-end report follows
        self._last = now
        loss = (logs or {}).get("loss")
        self.progress({"epoch": round(self._epoch + (batch + 1) / steps, 4), "epochs": self.protocol.epochs,
                       "batch": batch + 1, "batches": int(steps), "loss": None if loss is None else float(loss)})


class StopRequest(keras.callbacks.Callback):
    """Last in the list, so a SIGTERM acts between batches, with the weight noise already removed."""

    def on_train_batch_end(self, batch, logs=None):
        interrupt.check()

    def on_test_batch_end(self, batch, logs=None):
        interrupt.check()


def training_callbacks(protocol, model, state: dict, shuffled, noise_seed: int, save: Callable[[], None],
                       progress: Callable[[dict], None] | None) -> list:
    """The trainer's callbacks in order, with ``protocol.extra_callbacks(model, state)`` before the stop check."""
    callbacks: list = [EpochOrder(state, shuffled)]
    if protocol.weight_noise > 0:
        callbacks.append(WeightNoise(state, protocol.weight_noise, protocol.noisy_variables(model), noise_seed))
    callbacks += [NaNGuard(state), EpochEnd(protocol, state, save, progress)]
    if progress is not None:
        callbacks.append(BatchProgress(protocol, progress))
    callbacks += list(protocol.extra_callbacks(model, state))
    callbacks.append(StopRequest())
    return callbacks
