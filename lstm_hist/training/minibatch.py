"""The minibatch protocol: Keras ``model.fit`` with callbacks, for corpus experiments (NPLM, Chung et al.).

Bengio et al. (2003, §3–4) train by stochastic gradient on word windows with early stopping on a validation
part; Chung et al. (2014, §4) use RMSProp, gradient-norm clipping at 1, weight noise (std 0.075) and early
stopping. This module holds that loop once, configured by :class:`MinibatchProtocol` (the ``protocol:`` block
of a config); paper modules only provide data and a model.

Contract with the paper module (``lstm_hist.experiment.Experiment``):

* ``experiment.task(**task_cfg) -> {"train": split, "valid": split, "test": split}`` (``test`` optional).
  Data files are found by ``lstm_hist.data.resolution`` (``--data-dir`` reaches it as ``$LSTM_HIST_DATA``); a task
  that also takes ``seed`` gets the run's data seed. A split is either

  - a tuple ``(x, y)`` or ``(x, y, sample_weight)`` of NumPy arrays with one row per example — batched and
    shuffled here, in an order that is a pure function of (seed, epoch), so a resumed run sees exactly the
    batches an uninterrupted one would; ``sample_weight`` (e.g. the (B, T) step mask of padded sequences,
    ``lstm_hist.data.batching.next_step_arrays``) weights the loss and the evaluation; or
  - an already batched ``tf.data.Dataset`` (or ``keras.utils.PyDataset``) of such tuples, used as is.

* ``experiment.model(trials=None, **model_cfg) -> keras.Model`` (``trials`` only if the builder takes it),
  uncompiled, whose output matches ``protocol.loss``: logits (or probabilities with ``from_logits=False``)
  of shape (B, T, D) for ``frame_nll_bernoulli``, (..., V) for ``token_nll``.

After training the best-validation weights are restored (``restore_best_weights``) and every split is
evaluated exactly with the NumPy metrics of ``lstm_hist.evaluation.metrics`` (``<split>_nll`` per step or
token, ``<split>_perplexity`` for tokens), not with Keras's running batch averages.

Checkpoints: at every epoch end ``workdir/minibatch.npz`` (weights, optimizer variables, best weights) and
``workdir/minibatch.json`` (epoch, history, early-stopping state, fingerprint) are written atomically;
``resume=True`` continues from the next epoch. Ctrl-C (or SIGTERM via the runner) writes a checkpoint of the
current weights and returns ``status="interrupted"``; the interrupted epoch restarts on resume, and the
examples it had already trained on are reported as ``repeated_sequences``. A NaN/inf training loss stops
the run with ``status="diverged"``.

Weight noise (Graves 2011; Chung et al. §4): before each training batch Gaussian noise of std
``weight_noise`` is added to ``protocol.noisy_variables(model)`` (every trainable weight unless a subclass
narrows it), and after the update the same noise is subtracted, so
the gradient is taken at the noisy weights and applied to the clean ones (exact for SGD, RMSProp and Adam,
whose update does not depend on the weight value). Validation and evaluation see clean weights.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from lstm_hist import interrupt, run_state
from lstm_hist.contract import RunResult, TrainingProtocol
from lstm_hist.errors import UserError
from lstm_hist.evaluation import metrics as M
from lstm_hist.training.divergence import exploded
from lstm_hist.training.trim import trim_padding

CHECKPOINT = "minibatch"  # lstm_hist.run_state writes minibatch.json (state) and minibatch.npz (arrays)
STATE_FILE = f"{CHECKPOINT}.json"
WEIGHTS_FILE = f"{CHECKPOINT}.npz"
WEIGHT_CHECK_EVERY = 100  # batches between two checks of the weights for divergence (lstm_hist.training.divergence)
OPTIMIZERS = ("sgd", "rmsprop", "adam")
LOSSES = ("frame_nll_bernoulli", "token_nll", "mse")
LR_SAMPLINGS = ("iid", "stratified")


@dataclasses.dataclass(frozen=True)
class LossSpec:
    """A loss a paper module adds by name (``protocol.loss``), with its exact evaluation.

    make: ``make(protocol) -> keras.losses.Loss`` (reduction over the weighted steps, like the built-in ones).
    totals: ``totals(y, prediction, weight_or_None) -> (summed per-step NLL, counted steps)``, NumPy float64.
    """

    make: Callable[[Any], Any]
    totals: Callable[..., tuple[float, int]]


REGISTERED_LOSSES: dict[str, LossSpec] = {}


def register_loss(name: str, make: Callable[[Any], Any], totals: Callable[..., tuple[float, int]]) -> None:
    """Make ``protocol.loss: <name>`` available; its split metrics are ``<split>_nll`` and ``<split>_steps``.

    Paper modules call this at import (the registry imports them before building the protocol), so the shared
    layer never imports a paper (e.g. Chung et al.'s mixture-of-Gaussians NLL for raw speech).
    """
    if name in LOSSES:
        raise ValueError(f"loss name {name!r} is built in")
    REGISTERED_LOSSES[name] = LossSpec(make, totals)
@dataclasses.dataclass
class MinibatchProtocol(TrainingProtocol):
    """Fields are the ``protocol:`` keys of a config.

    optimizer: "sgd" (Bengio et al. 2003), "rmsprop" (Chung et al. 2014) or "adam".
    learning_rate: step size.
    batch_size: examples per update (rows of x; sequences for piano rolls, windows for the NPLM).
    epochs: maximum passes over the training split.
    clipnorm: rescale the gradient to this norm when it exceeds it (Chung: 1.0); None = no clipping.
    clipnorm_scope: "per_variable" (Keras ``clipnorm``: each weight tensor's gradient separately) or "global"
        (Keras ``global_clipnorm``: the norm of the whole gradient vector, Chung et al.'s "norm of the gradient").
    momentum: SGD / RMSProp momentum (jych/librnn: 0.9 with RMSProp).
    rho: RMSProp decay of the squared-gradient average.
    early_stopping_patience: epochs without improvement of ``monitor`` before stopping; None = never stop
        early (the best-``monitor`` weights are still restored when ``restore_best_weights``).
    monitor: "val_loss" or "loss"; lower is better.
    restore_best_weights: evaluate the weights of the best ``monitor`` epoch.
    weight_noise: std of Gaussian weight noise during training (Chung: 0.075); 0 = off.
    loss: "frame_nll_bernoulli" (piano rolls), "token_nll" (softmax over words), "mse", or a name a paper module
        registered with :func:`register_loss` (e.g. "mog_nll", Chung et al.'s speech mixture).
    from_logits: whether the model outputs logits (True) or probabilities.
    eval_batch_size: batch size for the final evaluation (default: batch_size).
    lr_candidates: None = train once with ``learning_rate``. An int n = Chung et al. (2014, §4) learning-rate
        selection: n candidates ``lr_log_base ** u`` with u log-uniform in ``lr_log_range`` (Chung: 10 samples of
        U(−12, −6)); one full training run per candidate, each with its own checkpoint folder
        (``workdir/lr<k>``); the candidate with the lowest validation NLL (``valid_nll``, or ``valid_mse``) is
        the result. ``learning_rate`` is then unused.
    lr_log_range: (low, high) exponents of the candidates.
    lr_log_base: the base of those exponents; the paper does not state it (e: natural logs, 6.1e-6 … 2.5e-3).
    lr_sampling: "iid" (independent log-uniform samples, the paper) or "stratified" (one log-uniform sample in
        each of n equal sub-ranges: the same marginal, but a small n still spans the range).
    """

    optimizer: str = "sgd"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 10
    clipnorm: float | None = None
    clipnorm_scope: str = "per_variable"
    momentum: float = 0.0
    rho: float = 0.9
    early_stopping_patience: int | None = None
    monitor: str = "val_loss"
    restore_best_weights: bool = True
    weight_noise: float = 0.0
    loss: str = "frame_nll_bernoulli"
    from_logits: bool = True
    eval_batch_size: int | None = None
    lr_candidates: int | None = None
    lr_log_range: tuple[float, float] = (-12.0, -6.0)
    lr_log_base: float = math.e
    lr_sampling: str = "iid"
    # Fields that may change between a run and its resume (extending training is allowed): not in the fingerprint.
    resumable_changes: ClassVar[tuple[str, ...]] = ("epochs", "early_stopping_patience")

    # The ``optimizer`` names this protocol accepts; a subclass that builds others in make_optimizer extends it.
    optimizers: ClassVar[tuple[str, ...]] = OPTIMIZERS
    # Whether the record's metrics are the trained model's own scores (so `lstm-hist evaluate` can recompute them
    # from the kept weights); a subclass that mixes in another model's predictions sets False.
    metrics_from_model_alone: ClassVar[bool] = True

    def __post_init__(self):
        if self.optimizer not in self.optimizers:
            raise UserError(f"protocol.optimizer must be one of {', '.join(self.optimizers)}, got {self.optimizer!r}")
        if self.loss not in LOSSES and self.loss not in REGISTERED_LOSSES:
            raise UserError(f"protocol.loss must be one of {', '.join((*LOSSES, *REGISTERED_LOSSES))}, "
                            f"got {self.loss!r}")
        if self.monitor not in ("val_loss", "loss"):
            raise UserError(f"protocol.monitor must be 'val_loss' or 'loss', got {self.monitor!r}")
        for name in ("batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise UserError(f"protocol.{name} must be at least 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise UserError(f"protocol.learning_rate must be positive, got {self.learning_rate}")
        if self.clipnorm is not None and not self.clipnorm > 0:
            raise UserError(f"protocol.clipnorm must be positive or null, got {self.clipnorm}")
        if self.clipnorm_scope not in ("per_variable", "global"):
            raise UserError(f"protocol.clipnorm_scope must be 'per_variable' or 'global', got {self.clipnorm_scope!r}")
        if self.weight_noise < 0:
            raise UserError(f"protocol.weight_noise must be >= 0, got {self.weight_noise}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 0:
            raise UserError("protocol.early_stopping_patience must be >= 0 or null, "
                            f"got {self.early_stopping_patience}")
        if self.eval_batch_size is not None and self.eval_batch_size < 1:
            raise UserError(f"protocol.eval_batch_size must be at least 1, got {self.eval_batch_size}")
        if self.lr_candidates is not None and self.lr_candidates < 1:
            raise UserError(f"protocol.lr_candidates must be at least 1 or null, got {self.lr_candidates}")
        bounds = tuple(float(v) for v in self.lr_log_range)
        if len(bounds) != 2 or not bounds[0] <= bounds[1]:
            raise UserError(f"protocol.lr_log_range must be [low, high] with low <= high, got {self.lr_log_range}")
        self.lr_log_range = bounds
        if not self.lr_log_base > 1:
            raise UserError(f"protocol.lr_log_base must be > 1, got {self.lr_log_base}")
        if self.lr_sampling not in LR_SAMPLINGS:
            raise UserError(f"protocol.lr_sampling must be one of {', '.join(LR_SAMPLINGS)}, "
                            f"got {self.lr_sampling!r}")

    # Hooks a paper's protocol subclass overrides (e.g. reproductions.chung2014.protocol.ChungProtocol).
    def make_optimizer(self, steps_per_epoch: int | None = None):
        """The Keras optimizer of one training run; ``steps_per_epoch`` (batches per epoch, None if unknown)
        lets a learning-rate schedule count epochs through the optimizer's iteration counter."""
        return _make_optimizer(self)

    def noisy_variables(self, model) -> list:
        """The variables that get weight noise when ``weight_noise`` > 0: every trainable one by default."""
        return list(model.trainable_variables)

    def run(self, *, experiment, task_cfg, model_cfg, seed, workdir=None, resume=False, progress=None):
        if self.lr_candidates is not None:
            return search_learning_rate(self, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg,
                                        seed=seed, workdir=workdir, resume=resume, progress=progress)
        return train_minibatch(self, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg, seed=seed,
                               workdir=workdir, resume=resume, progress=progress)

    def bench(self, *, experiment, task_cfg, model_cfg, seed, updates=None, reported=None) -> dict[str, Any]:
        return bench_minibatch(self, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg, seed=seed,
                               updates=updates)


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


# --- helpers ------------------------------------------------------------------------------------------


def derive_seeds(seed: int) -> dict[str, int]:
    """Independent seeds for initialisation, data order, weight noise and the task, from one base seed."""
    states = np.random.SeedSequence(seed).generate_state(4)
    return {"base": int(seed), "init": int(states[0] % 2**31), "shuffle": int(states[1]),
            "noise": int(states[2]), "data": int(states[3] % 2**31)}


def _accepts(func: Callable, name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _sync(model) -> None:
    """JAX keeps the training state outside the variables during fit; pull it back before reading them."""
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


def _value(variable) -> np.ndarray:
    """A Keras variable's value as a NumPy array (any backend)."""
    from keras import ops

    return np.array(ops.convert_to_numpy(variable.value))


def _is_arrays(split) -> bool:
    return isinstance(split, (tuple, list)) and len(split) in (2, 3) and all(
        isinstance(a, np.ndarray) for a in split)


def _load_data(experiment, task_cfg: dict, data_seed: int) -> dict[str, Any]:
    task = experiment.task
    if task is None:
        raise UserError("the minibatch protocol needs experiment.task(**task_cfg) returning train/valid/test data")
    kwargs = dict(task_cfg)
    if _accepts(task, "seed") and "seed" not in kwargs:
        kwargs["seed"] = data_seed
    data = task(**kwargs)
    if not isinstance(data, dict) or "train" not in data or "valid" not in data:
        raise UserError(f"experiment.task must return a dict with 'train' and 'valid' (and 'test'), got {type(data)}")
    for name, split in data.items():
        if _is_arrays(split) and len({len(a) for a in split}) != 1:
            raise UserError(f"task split {name!r}: arrays differ in their first dimension")
    return data


def _batches_per_epoch(split, batch_size: int) -> int | None:
    if _is_arrays(split):
        return math.ceil(len(split[0]) / batch_size)
    try:
        return len(split)
    except TypeError:  # a tf.data.Dataset of unknown length
        return None


def _num_examples(split) -> int | None:
    return len(split[0]) if _is_arrays(split) else None


def _eval_batches(split, batch_size: int):
    """Yield (x, y, weight-or-None) NumPy batches of a split, in order."""
    if _is_arrays(split):
        n = len(split[0])
        for start in range(0, n, batch_size):
            part = trim_padding(tuple(a[start : start + batch_size] for a in split))
            yield part[0], part[1], (part[2] if len(part) == 3 else None)
        return
    if hasattr(split, "as_numpy_iterator"):
        batches = split.as_numpy_iterator()
    else:  # keras.utils.PyDataset
        batches = (split[i] for i in range(len(split)))
    for batch in batches:
        batch = tuple(batch)
        yield batch[0], batch[1], (batch[2] if len(batch) > 2 else None)


def evaluate_split(model, split, protocol: MinibatchProtocol, prefix: str) -> dict[str, float]:
    """Exact per-step / per-token metrics of one split (NumPy sums over all batches)."""
    total, count = 0.0, 0
    batch_size = protocol.eval_batch_size or protocol.batch_size
    for x, y, weight in _eval_batches(split, batch_size):
        interrupt.check()
        pred = np.asarray(model.predict_on_batch(x))
        if protocol.loss in REGISTERED_LOSSES:
            t, c = REGISTERED_LOSSES[protocol.loss].totals(y, pred, weight)
        elif protocol.loss == "frame_nll_bernoulli":
            t, c = M.frame_nll_totals(y, pred, weight, from_logits=protocol.from_logits)
        elif protocol.loss == "token_nll":
            logits = pred if protocol.from_logits else np.log(np.clip(pred, 1e-12, None))
            t, c = M.softmax_nll_totals_fast(y, logits, weight)
        else:
            sq = ((np.asarray(y, np.float64) - pred) ** 2).mean(axis=-1)
            w = np.ones_like(sq) if weight is None else np.broadcast_to(np.asarray(weight, np.float64), sq.shape)
            t, c = float((sq * w).sum()), int(np.count_nonzero(w))
        total, count = total + t, count + c
    if protocol.loss == "mse":
        return {f"{prefix}_mse": M.mean_nll_per_token(total, count)}
    out = {f"{prefix}_nll": M.mean_nll_per_token(total, count), f"{prefix}_steps": count}
    if protocol.loss == "token_nll":
        out = {f"{prefix}_nll": out[f"{prefix}_nll"], f"{prefix}_perplexity": M.perplexity(total, count),
               f"{prefix}_tokens": count}
    return out


def _make_optimizer(protocol: MinibatchProtocol):
    import keras

    common = {"learning_rate": protocol.learning_rate}
    if protocol.clipnorm is not None:
        common["global_clipnorm" if protocol.clipnorm_scope == "global" else "clipnorm"] = protocol.clipnorm
    if protocol.optimizer == "sgd":
        return keras.optimizers.SGD(momentum=protocol.momentum, **common)
    if protocol.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(rho=protocol.rho, momentum=protocol.momentum, **common)
    return keras.optimizers.Adam(**common)


def _make_loss(protocol: MinibatchProtocol):
    import keras

    if protocol.loss in REGISTERED_LOSSES:
        return REGISTERED_LOSSES[protocol.loss].make(protocol)
    if protocol.loss == "frame_nll_bernoulli":
        return M.frame_nll_loss(from_logits=protocol.from_logits)
    if protocol.loss == "token_nll":
        return M.token_nll_loss(from_logits=protocol.from_logits)
    return keras.losses.MeanSquaredError(reduction="mean_with_sample_weight")


def build_model(experiment, model_cfg: dict, protocol: MinibatchProtocol, init_seed: int, metrics=None,
                steps_per_epoch: int | None = None):
    """Seeded, compiled model with its optimizer variables built (so a checkpoint can be loaded into it).

    ``metrics``: extra Keras metrics for ``compile`` (e.g. lstm_hist.training.criterion_callback's batch outputs).
    ``steps_per_epoch``: passed to ``protocol.make_optimizer`` (epoch-based schedules).
    """
    import keras

    keras.utils.set_random_seed(init_seed)
    kwargs = dict(model_cfg)
    if _accepts(experiment.model, "trials"):
        kwargs["trials"] = None
    model = experiment.model(**kwargs)
    model.compile(optimizer=protocol.make_optimizer(steps_per_epoch), loss=_make_loss(protocol), metrics=metrics)
    model.optimizer.build(model.trainable_variables)
    return model


def _fit_input(split, batch_size: int, shuffle_seed: int):
    """What ``fit`` gets for the training split, and the dataset whose epoch order we set (arrays only)."""
    if not _is_arrays(split):
        return split, None
    import keras

    class EpochShuffled(keras.utils.PyDataset):
        """Batches of the arrays in an order that depends only on (shuffle_seed, epoch)."""

        def __init__(self):
            super().__init__()
            self.order = np.arange(len(split[0]))

        def set_epoch(self, epoch: int) -> None:
            self.order = np.random.default_rng([shuffle_seed, epoch]).permutation(len(split[0]))

        def __len__(self) -> int:
            return math.ceil(len(split[0]) / batch_size)

        def __getitem__(self, index: int):
            rows = self.order[index * batch_size : (index + 1) * batch_size]
            return trim_padding(tuple(a[rows] for a in split))

    dataset = EpochShuffled()
    return dataset, dataset


# --- callbacks ------------------------------------------------------------------------------------------


def _callbacks(protocol, model, state, shuffled, seeds, save, progress):
    """The training callbacks; ``state`` (a dict) is shared with them and is what a checkpoint stores."""
    import keras

    class EpochOrder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            state["batches_in_epoch"] = 0
            state["current_epoch"] = epoch
            if shuffled is not None:
                shuffled.set_epoch(epoch)

        def on_train_batch_end(self, batch, logs=None):
            state["batches_in_epoch"] += 1

    class WeightNoise(keras.callbacks.Callback):
        """Graves (2011) weight noise: gradient at w + ε, update applied to w (see module docstring)."""

        noise: list[np.ndarray] = []
        clean: list[np.ndarray] | None = None  # weights before the noise, while a batch is in flight
        noisy = protocol.noisy_variables(model)

        def on_train_batch_begin(self, batch, logs=None):
            _sync(self.model)
            rng = np.random.default_rng([seeds["noise"], state["current_epoch"], batch])
            self.noise, self.clean = [], []
            for variable in self.noisy:
                value = _value(variable)
                eps = rng.normal(0.0, protocol.weight_noise, variable.shape).astype(value.dtype)
                variable.assign(value + eps)
                self.noise.append(eps)
                self.clean.append(value)

        def on_train_batch_end(self, batch, logs=None):
            _sync(self.model)
            for variable, eps in zip(self.noisy, self.noise):
                variable.assign(_value(variable) - eps)
            self.noise, self.clean = [], None

        def undo_pending(self) -> None:
            """After an interrupt inside a batch: go back to the clean weights from before that batch."""
            if self.clean is not None:
                for variable, value in zip(self.noisy, self.clean):
                    variable.assign(value)
                self.noise, self.clean = [], None

    class NaNGuard(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            blown = loss is not None and not np.isfinite(float(loss))
            if not blown and (batch + 1) % WEIGHT_CHECK_EVERY == 0:
                _sync(self.model)  # finite losses can hide saturated, exploded weights
                blown = exploded(_value(v) for v in self.model.trainable_variables)
            if blown:
                state["diverged"] = True
                self.model.stop_training = True

    class EpochEnd(keras.callbacks.Callback):
        """Early stopping with best weights, then the checkpoint, then progress — in that order."""

        def on_epoch_end(self, epoch, logs=None):
            if state.get("diverged"):
                return
            _sync(self.model)
            if exploded(_value(v) for v in self.model.trainable_variables):
                state["diverged"] = True
                self.model.stop_training = True
                return
            logs = {k: float(v) for k, v in (logs or {}).items()}
            for key, value in logs.items():
                state["history"].setdefault(key, []).append(value)
            state["epoch"] = epoch + 1
            state["batches_in_epoch"] = 0
            value = logs.get(protocol.monitor)
            if value is not None and np.isfinite(value) and (state["best"] is None or value < state["best"]):
                state["best"], state["best_epoch"], state["wait"] = value, epoch + 1, 0
                if protocol.restore_best_weights:
                    state["best_weights"] = [np.array(w) for w in self.model.get_weights()]
            else:
                state["wait"] += 1
                patience = protocol.early_stopping_patience
                if patience is not None and state["wait"] >= max(patience, 1):
                    state["stopped_early"] = True
                    self.model.stop_training = True
            save()
            if progress is not None:
                progress({"epoch": epoch + 1, "epochs": protocol.epochs, "loss": logs.get("loss"),
                          "val_loss": logs.get("val_loss"), "best_epoch": state["best_epoch"]})

    class StopRequest(keras.callbacks.Callback):
        """Last in the list, so a SIGTERM acts between batches, with the weight noise already removed."""

        def on_train_batch_end(self, batch, logs=None):
            interrupt.check()

        def on_test_batch_end(self, batch, logs=None):
            interrupt.check()

    callbacks = [EpochOrder()]
    if protocol.weight_noise > 0:
        callbacks.append(WeightNoise())
    callbacks += [NaNGuard(), EpochEnd(), StopRequest()]
    return callbacks


# --- training -------------------------------------------------------------------------------------------


def train_minibatch(
    protocol: MinibatchProtocol,
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
    seeds = derive_seeds(seed)
    fingerprint = run_state.fingerprint(task_cfg, model_cfg, protocol, seed)
    workdir = Path(workdir) if workdir is not None else None
    saved = run_state.load(workdir, CHECKPOINT, fingerprint=fingerprint) if resume else None  # before expensive work
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    data = _load_data(experiment, task_cfg, seeds["data"])
    model = build_model(experiment, model_cfg, protocol, seeds["init"],
                        steps_per_epoch=_batches_per_epoch(data["train"], protocol.batch_size))

    state: dict[str, Any] = {"epoch": 0, "history": {}, "best": None, "best_epoch": None, "wait": 0,
                             "stopped_early": False, "repeated_sequences": 0, "batches_in_epoch": 0,
                             "current_epoch": 0, "best_weights": None, "diverged": False}
    if saved is not None:
        _load_checkpoint(model, workdir, *saved, state)

    def save() -> None:
        if workdir is None:
            return
        _sync(model)
        arrays = {f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
        arrays.update({f"o{i}": _value(v) for i, v in enumerate(model.optimizer.variables)})
        for i, w in enumerate(state["best_weights"] or []):
            arrays[f"b{i}"] = w
        meta = {k: v for k, v in state.items() if k != "best_weights"}
        run_state.save(workdir, CHECKPOINT, meta, arrays, fingerprint=fingerprint)

    train, valid = data["train"], data["valid"]
    fit_x, shuffled = _fit_input(train, protocol.batch_size, seeds["shuffle"])
    eval_batch_size = protocol.eval_batch_size or protocol.batch_size
    validation = _fit_input(valid, eval_batch_size, 0)[0]  # in order, each batch cut to its length (trim.py)
    callbacks = _callbacks(protocol, model, state, shuffled, seeds, save, progress)

    status = "completed"
    start = time.perf_counter()
    done = state["epoch"] >= protocol.epochs or state["stopped_early"]
    if not done:
        try:
            model.fit(fit_x, validation_data=validation, epochs=protocol.epochs, initial_epoch=state["epoch"],
                      callbacks=callbacks, verbose=0, shuffle=False)  # shuffle=False: the order is ours
        except KeyboardInterrupt:
            status = "interrupted"
            _sync(model)
            for callback in callbacks:
                if hasattr(callback, "undo_pending"):
                    callback.undo_pending()
            batches = state["batches_in_epoch"]
            n = _num_examples(train)
            seen = batches * protocol.batch_size
            state["repeated_sequences"] += min(seen, n) if n is not None else seen
            state["batches_in_epoch"] = 0
            save()
    if state["diverged"]:
        status = "diverged"
    train_seconds = time.perf_counter() - start

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


def _load_checkpoint(model, workdir: Path, meta: dict, arrays: dict | None, state: dict) -> None:
    try:
        weights = [arrays[f"w{i}"] for i in range(len(model.get_weights()))]
        optimizer = [arrays[f"o{i}"] for i in range(len(model.optimizer.variables))]
        best = [arrays[f"b{i}"] for i in range(len(weights))] if "b0" in arrays else None
        model.set_weights(weights)
        for variable, value in zip(model.optimizer.variables, optimizer):
            variable.assign(value)
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"the checkpoint in {workdir} does not fit this model ({exc}); "
                        f"{run_state.FRESH_HINT}") from None
    state.update(meta)
    state["best_weights"] = best
    state["diverged"] = False


# --- bench ----------------------------------------------------------------------------------------------


def bench_minibatch(protocol: MinibatchProtocol, *, experiment, task_cfg, model_cfg, seed=0, updates=None):
    """Time ``updates`` training batches (after 2 warm-up batches) and estimate epoch and run time."""
    seeds = derive_seeds(seed)
    data = _load_data(experiment, task_cfg, seeds["data"])
    model = build_model(experiment, model_cfg, protocol, seeds["init"],
                        steps_per_epoch=_batches_per_epoch(data["train"], protocol.batch_size))
    updates = updates or 20
    fit_x, shuffled = _fit_input(data["train"], protocol.batch_size, seeds["shuffle"])
    if shuffled is not None:
        batches_per_epoch = len(shuffled)
        shuffled.set_epoch(0)
        batch_at = shuffled.__getitem__
    else:
        batches = list(_eval_batches(fit_x, protocol.batch_size))
        batches_per_epoch = len(batches)
        batch_at = lambda i: tuple(b for b in batches[i] if b is not None)  # noqa: E731

    # Time full-size batches only: a smaller last batch has another shape and would be compiled again.
    full = [i for i in range(batches_per_epoch) if len(batch_at(i)[0]) == len(batch_at(0)[0])]

    def step(i):
        batch = batch_at(full[i % len(full)])
        model.train_on_batch(batch[0], batch[1], sample_weight=batch[2] if len(batch) > 2 else None)

    warm = {}  # one batch of each shape the timed loop meets: each compiles once (trim.py buckets)
    for i in range(updates):
        warm.setdefault(tuple(np.shape(a) for a in batch_at(full[i % len(full)])), i)
    for i in [0, 1, *warm.values()]:
        step(i)
    start = time.perf_counter()
    for i in range(updates):
        step(i)
    seconds = time.perf_counter() - start
    rate = updates / seconds
    epoch_seconds = batches_per_epoch / rate
    runs = protocol.lr_candidates or 1  # learning-rate selection trains once per candidate
    return {"updates": updates, "steps_per_second": rate, "batches_per_epoch": batches_per_epoch,
            "estimated_epoch_seconds": epoch_seconds, "lr_candidates": runs,
            "estimated_wall_seconds": epoch_seconds * protocol.epochs * runs,
            "parameters": int(sum(int(np.prod(v.shape)) for v in model.trainable_variables))}


# --- learning-rate selection (Chung et al. 2014 §4) -----------------------------------------------------


def sample_learning_rates(protocol: MinibatchProtocol, seed: int) -> list[float]:
    """The ``protocol.lr_candidates`` learning rates ``base ** u``, u log-uniform in ``lr_log_range``.

    A pure function of (seed, protocol): a resumed search retrains the same candidates.
    """
    n = int(protocol.lr_candidates or 1)
    low, high = protocol.lr_log_range
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1412_3555]))
    if protocol.lr_sampling == "stratified":
        edges = np.linspace(low, high, n + 1)
        exponents = rng.uniform(edges[:-1], edges[1:])
    else:
        exponents = rng.uniform(low, high, size=n)
    return [float(protocol.lr_log_base ** e) for e in exponents]


@dataclasses.dataclass
class LRSearchResult(MinibatchResult):
    """The chosen candidate's result, plus every candidate's learning rate and validation score."""

    learning_rate: float | None = None
    candidates: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        out = super().metrics()
        out["learning_rate"] = self.learning_rate
        out["lr_candidates_run"] = len(self.candidates)
        return out

    def per_trial(self) -> list[dict[str, Any]]:
        """One row per learning-rate candidate (``chosen`` marks the one whose metrics are reported)."""
        return [dict(row) for row in self.candidates]


def search_learning_rate(protocol: MinibatchProtocol, *, experiment, task_cfg, model_cfg, seed=0, workdir=None,
                         resume=False, progress=None) -> LRSearchResult:
    """Train once per candidate learning rate, keep the one with the lowest validation score (Chung et al. §4).

    Every candidate gets the same seed (same initial weights, data order and weight noise), so the candidates
    differ only in the learning rate. Selection looks at the validation split only; the chosen candidate's
    train/valid/test metrics are reported. A diverged candidate scores +inf; an interrupted one ends the search
    (``status="interrupted"``; ``--resume`` continues with the finished candidates kept).
    """
    rates = sample_learning_rates(protocol, seed)
    workdir = Path(workdir) if workdir is not None else None
    rows: list[dict[str, Any]] = []
    results: list[MinibatchResult] = []
    score_key = "valid_mse" if protocol.loss == "mse" else "valid_nll"
    for k, rate in enumerate(rates):
        single = dataclasses.replace(protocol, learning_rate=rate, lr_candidates=None)
        sub = workdir / f"lr{k}" if workdir is not None else None
        sub_resume = bool(resume and run_state.exists(sub, CHECKPOINT))
        if sub is not None and not sub_resume:
            for name in (STATE_FILE, WEIGHTS_FILE):
                (sub / name).unlink(missing_ok=True)

        def tagged(info, k=k, rate=rate):
            if progress is not None:
                progress({**info, "candidate": f"{k + 1}/{len(rates)}", "learning_rate": rate})

        result = train_minibatch(single, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg, seed=seed,
                                 workdir=sub, resume=sub_resume, progress=tagged)
        score = result.evaluation.get(score_key, math.inf) if result.status == "completed" else math.inf
        rows.append({"trial": k, "learning_rate": rate, "status": result.status, score_key: score,
                     "epochs": result.epochs_run, "best_epoch": result.best_epoch, "history": result.history,
                     "chosen": False})
        results.append(result)
        if result.status == "interrupted":
            break
    finite = [k for k, row in enumerate(rows) if np.isfinite(row[score_key])]
    interrupted = rows[-1]["status"] == "interrupted"
    if interrupted or not finite:
        chosen = len(rows) - 1
        status = "interrupted" if interrupted else "diverged"
    else:
        chosen = min(finite, key=lambda k: rows[k][score_key])
        status = "completed"
        rows[chosen]["chosen"] = True
    best = results[chosen]
    return LRSearchResult(
        status=status, parameters=best.parameters, epochs_run=best.epochs_run, best_epoch=best.best_epoch,
        history=best.history, evaluation=best.evaluation if status == "completed" else {}, seeds=best.seeds,
        repeated_sequences=sum(r.repeated_sequences for r in results),
        train_seconds=sum(r.train_seconds for r in results), stopped_early=best.stopped_early,
        learning_rate=rates[chosen], candidates=rows,
        final_weights=best.final_weights if status == "completed" else None,
    )
