"""One minibatch training run: build the seeded model, fit with checkpoints and early stopping, evaluate exactly.

Every paper-specific piece comes from the protocol's hooks (``make_optimizer``, ``make_loss``,
``noisy_variables``, ``extra_callbacks``, ``checkpoint_arrays`` / ``restore_checkpoint``, ``loss_totals``; see
``MinibatchProtocol``); this module holds the loop once.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lstm_hist import interrupt, run_state
from lstm_hist.contract import RunResult
from lstm_hist.seeds import minibatch_seeds

from . import checkpoint
from .data import accepts, batches_per_epoch, evaluate_split, fit_input, load_data, num_examples


@dataclasses.dataclass
class MinibatchResult(RunResult):
    status: str  # completed | interrupted | diverged
    parameters: int
    epochs_run: int
    best_epoch: int | None  # 1-based epoch whose weights were evaluated
    history: dict[str, list[float]]
    evaluation: dict[str, float]  # <split>_nll, <split>_perplexity, ... (empty unless completed)
    seeds: dict[str, Any]
    repeated_sequences: int
    train_seconds: float
    stopped_early: bool = False
    # The evaluated weights of a completed run (lstm_hist.weights keeps small ones beside the record).
    final_weights: list | None = dataclasses.field(default=None, repr=False)

    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {"weights": self.parameters, "epochs": self.epochs_run, "best_epoch": self.best_epoch,
                               "stopped_early": self.stopped_early, "train_seconds": self.train_seconds}
        for key in ("loss", "val_loss"):
            if self.history.get(key):
                out[f"final_{key}"] = self.history[key][-1]
        out.update(self.evaluation)
        return out

    def per_trial(self) -> list[dict[str, Any]]:
        """One row: the minibatch protocol runs a single trial; the row carries the per-epoch history."""
        return [{"trial": 0, "status": self.status, "epochs": self.epochs_run, "best_epoch": self.best_epoch,
                 "history": self.history}]


def default_optimizer(protocol):
    """SGD, RMSProp or Adam from the protocol's fields (the default of ``MinibatchProtocol.make_optimizer``)."""
    import keras

    common = {"learning_rate": protocol.learning_rate}
    if protocol.clipnorm is not None:
        common["global_clipnorm" if protocol.clipnorm_scope == "global" else "clipnorm"] = protocol.clipnorm
    if protocol.optimizer == "sgd":
        return keras.optimizers.SGD(momentum=protocol.momentum, **common)
    if protocol.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(rho=protocol.rho, momentum=protocol.momentum, **common)
    return keras.optimizers.Adam(**common)


def build_model(experiment, model_cfg: dict, protocol, init_seed: int, metrics=None,
                steps_per_epoch: int | None = None):
    """Seeded, compiled model with its optimizer variables built (so a checkpoint can be loaded into it).

    ``metrics``: extra Keras metrics for ``compile`` (e.g. lstm_hist.training.criterion_callback's batch outputs).
    ``steps_per_epoch``: passed to ``protocol.make_optimizer`` (epoch-based schedules).
    """
    import keras

    keras.utils.set_random_seed(init_seed)
    kwargs = dict(model_cfg)
    if accepts(experiment.model, "trials"):
        kwargs["trials"] = None
    model = experiment.model(**kwargs)
    model.compile(optimizer=protocol.make_optimizer(steps_per_epoch), loss=protocol.make_loss(), metrics=metrics)
    model.optimizer.build(model.trainable_variables)
    return model


def _fresh_state() -> dict[str, Any]:
    return {"epoch": 0, "history": {}, "best": None, "best_epoch": None, "wait": 0, "stopped_early": False,
            "repeated_sequences": 0, "batches_in_epoch": 0, "current_epoch": 0, "best_weights": None,
            "diverged": False}


def train_minibatch(
    protocol,
    *,
    experiment,
    task_cfg: dict,
    model_cfg: dict,
    seed: int = 0,
    workdir: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[dict], None] | None = None,
) -> MinibatchResult:
    """Fit, checkpoint every epoch, stop early on ``monitor``, evaluate every split exactly."""
    seeds = minibatch_seeds(seed)  # init, shuffle (epoch order: shuffled.py), noise (callbacks.py), data
    fingerprint = run_state.fingerprint(task_cfg, model_cfg, protocol, seed)
    workdir = Path(workdir) if workdir is not None else None
    saved = run_state.load(workdir, checkpoint.CHECKPOINT, fingerprint=fingerprint) if resume else None
    if workdir is not None:  # the checkpoint was read before the expensive work above
        workdir.mkdir(parents=True, exist_ok=True)
    data = load_data(experiment, task_cfg, seeds["data"])
    model = build_model(experiment, model_cfg, protocol, seeds["init"],
                        steps_per_epoch=batches_per_epoch(data["train"], protocol.batch_size))
    state = _fresh_state()
    if saved is not None:
        checkpoint.restore(protocol, model, workdir, *saved, state)

    def save() -> None:
        checkpoint.save(protocol, workdir, model, state, fingerprint)

    status, train_seconds = _fit(protocol, model, data, state, seeds, save, progress)
    return _result(protocol, model, data, state, seeds, status, train_seconds)


def _fit(protocol, model, data: dict, state: dict, seeds: dict, save, progress) -> tuple[str, float]:
    """``model.fit`` from ``state["epoch"]`` on: the run's status (an interrupt writes a checkpoint first) and the
    seconds it trained."""
    from . import fused
    from .callbacks import EpochEnd, training_callbacks

    train, valid = data["train"], data["valid"]
    fit_x, shuffled = fit_input(train, protocol.batch_size, seeds["shuffle"])
    eval_batch_size = protocol.eval_batch_size or protocol.batch_size
    validation = fit_input(valid, eval_batch_size, 0)[0]  # in order, each batch cut to its length (trim.py)
    callbacks = training_callbacks(protocol, model, state, shuffled, seeds["noise"], save, progress)
    status = "completed"
    start = time.perf_counter()
    if not (state["epoch"] >= protocol.epochs or state["stopped_early"]):
        try:
            with interrupt.deferred():  # a stop acts at a batch end (StopRequest), where the weights are whole
                if fused.applies(protocol, data):
                    epoch_end = next(c for c in callbacks if isinstance(c, EpochEnd))
                    epoch_end.set_model(model)
                    fused.fit(protocol, model, data, state, seeds["shuffle"], epoch_end, progress)
                else:
                    model.fit(fit_x, validation_data=validation, epochs=protocol.epochs,
                              initial_epoch=state["epoch"], callbacks=callbacks, verbose=0,
                              shuffle=False)  # shuffle=False: the order is ours
        except KeyboardInterrupt:
            status = "interrupted"
            checkpoint.sync(model)
            for callback in callbacks:
                if hasattr(callback, "undo_pending"):
                    callback.undo_pending()
            n = num_examples(train)
            seen = state["batches_in_epoch"] * protocol.batch_size
            state["repeated_sequences"] += min(seen, n) if n is not None else seen
            state["batches_in_epoch"] = 0
            save()
    return ("diverged" if state["diverged"] else status), time.perf_counter() - start


def _result(protocol, model, data: dict, state: dict, seeds: dict, status: str,
            train_seconds: float) -> MinibatchResult:
    """Best weights restored, every split evaluated (completed runs only)."""
    evaluation: dict[str, float] = {}
    if status == "completed":
        if protocol.restore_best_weights and state["best_weights"] is not None:
            model.set_weights(state["best_weights"])
        for name in ("train", "valid", "test"):
            if name in data:
                evaluation.update(evaluate_split(model, data[name], protocol, name))
    best = state["best_epoch"] if protocol.restore_best_weights and state["best_weights"] is not None else None
    return MinibatchResult(
        status=status,
        parameters=int(sum(int(np.prod(v.shape)) for v in model.trainable_variables)),
        epochs_run=state["epoch"],
        best_epoch=best if best is not None else (state["epoch"] or None),
        history=state["history"],
        evaluation=evaluation,
        seeds=seeds,
        repeated_sequences=int(state["repeated_sequences"]),
        train_seconds=train_seconds,
        stopped_early=bool(state["stopped_early"]),
        final_weights=model.get_weights() if status == "completed" else None,
    )
