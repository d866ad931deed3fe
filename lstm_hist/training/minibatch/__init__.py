"""The minibatch protocol: Keras ``model.fit`` with callbacks, for corpus experiments (NPLM, Chung et al.).

Bengio et al. (2003, §3–4) train by stochastic gradient on word windows with early stopping on a validation
part; Chung et al. (2014, §4) use RMSProp, gradient-norm clipping at 1, weight noise (std 0.075) and early
stopping. This package holds that loop once, configured by :class:`MinibatchProtocol` (the ``protocol:`` block
of a config); paper modules provide data and a model, and change the training through the protocol's hooks
(a subclass overrides them; see :class:`MinibatchProtocol`), never by patching this package.

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

Random streams (``lstm_hist.seeds.minibatch_seeds``): ``init`` (the backend seed before the model is built),
``shuffle`` (epoch e's order of an array split: ``default_rng([shuffle, e])``), ``noise`` (batch i of epoch e:
``default_rng([noise, e, i])``) and ``data`` (the task's ``seed``).

Modules: :mod:`.trainer` (one run), :mod:`.data` (splits, batches, exact evaluation), :mod:`.losses`,
:mod:`.callbacks` and :mod:`.shuffled` (the Keras subclasses, imported when training starts, so importing this
package loads no Keras), :mod:`.checkpoint`, :mod:`.bench`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from lstm_hist.contract import TrainingProtocol
from lstm_hist.errors import UserError
from lstm_hist.seeds import minibatch_seeds

from .bench import bench_minibatch
from .checkpoint import CHECKPOINT, STATE_FILE, WEIGHTS_FILE, model_arrays, restore_model_arrays, sync, variable_value
from .data import batches_per_epoch, evaluate_split, load_data
from .losses import LOSSES, REGISTERED_LOSSES, LossSpec, batch_totals, build_loss, known_losses, register_loss
from .trainer import MinibatchResult, build_model, default_optimizer, train_minibatch

OPTIMIZERS = ("sgd", "rmsprop", "adam")

# Earlier names, kept for code written against them: the seeds now come from lstm_hist.seeds; ``_sync`` and
# ``_value`` were private (lstm_hist.training.to_criterion and criterion_callback imported them).
derive_seeds = minibatch_seeds
_sync, _value = sync, variable_value


@dataclasses.dataclass
class MinibatchProtocol(TrainingProtocol):
    """Fields are the ``protocol:`` keys of a config (the contract: :class:`lstm_hist.contract.TrainingProtocol`).

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
    fused_steps: on JAX, train through :mod:`.fused` with this many updates per jitted call (the same steps as
        ``fit``, without its per-batch Python work; array splits without weight noise only, else ``fit``); 0 = ``fit``.

    Hooks a paper's subclass overrides (e.g. ``reproductions.bengio2003.protocol.NPLMProtocol``,
    ``reproductions.chung2014.protocol.ChungProtocol``); the trainer calls them and nothing else of the paper:

    * ``make_optimizer(steps_per_epoch=None)`` — the Keras optimizer of one training run;
    * ``make_loss()`` / ``loss_totals(y, prediction, weight)`` — the training loss and its exact evaluation;
    * ``noisy_variables(model)`` — the variables that get weight noise;
    * ``extra_callbacks(model, state)`` — more Keras callbacks for ``fit``;
    * ``checkpoint_arrays(model, state)`` / ``restore_checkpoint(model, arrays, state)`` — what a checkpoint keeps;
    * ``evaluation_protocol(metrics)`` — the single run whose weights a record keeps (for ``lstm-hist evaluate``);
    * ``run(...)`` / ``bench(...)`` — the whole protocol (e.g. a search over several training runs).
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
    fused_steps: int = 0
    # Fields that may change between a run and its resume (extending training is allowed, and the fused path takes
    # the same steps as fit): not in the fingerprint.
    resumable_changes: ClassVar[tuple[str, ...]] = ("epochs", "early_stopping_patience", "fused_steps")

    # The ``optimizer`` names this protocol accepts; a subclass that builds others in make_optimizer extends it.
    optimizers: ClassVar[tuple[str, ...]] = OPTIMIZERS
    # Whether the record's metrics are the trained model's own scores (so `lstm-hist evaluate` can recompute them
    # from the kept weights); a subclass that mixes in another model's predictions sets False.
    metrics_from_model_alone: ClassVar[bool] = True

    def __post_init__(self):
        if self.optimizer not in self.optimizers:
            raise UserError(f"protocol.optimizer must be one of {', '.join(self.optimizers)}, got {self.optimizer!r}")
        if self.loss not in known_losses():
            raise UserError(f"protocol.loss must be one of {', '.join(known_losses())}, got {self.loss!r}")
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
        if self.fused_steps < 0:
            raise UserError(f"protocol.fused_steps must be >= 0, got {self.fused_steps}")
        if self.eval_batch_size is not None and self.eval_batch_size < 1:
            raise UserError(f"protocol.eval_batch_size must be at least 1, got {self.eval_batch_size}")

    # --- hooks ------------------------------------------------------------------------------------------------

    def make_optimizer(self, steps_per_epoch: int | None = None):
        """The Keras optimizer of one training run; ``steps_per_epoch`` (batches per epoch, None if unknown)
        lets a learning-rate schedule count epochs through the optimizer's iteration counter."""
        return default_optimizer(self)

    def make_loss(self):
        """The Keras loss ``fit`` minimises (default: ``protocol.loss``, built in or registered)."""
        return build_loss(self)

    def loss_totals(self, y, prediction: np.ndarray, weight) -> tuple[float, int]:
        """(summed loss, counted steps) of one evaluation batch, float64; the split metrics are their ratio."""
        return batch_totals(self, y, prediction, weight)

    def noisy_variables(self, model) -> list:
        """The variables that get weight noise when ``weight_noise`` > 0: every trainable one by default."""
        return list(model.trainable_variables)

    def extra_callbacks(self, model, state: dict) -> list:
        """Keras callbacks added to ``fit`` after the trainer's own (epoch order, weight noise, divergence guard,
        early stopping and checkpoint) and before the stop-request check. ``state`` is the trainer's dict (epoch,
        history, best epoch, ``batches_in_epoch``, ...), the one a checkpoint stores. Default: none."""
        return []

    def checkpoint_arrays(self, model, state: dict) -> dict[str, np.ndarray]:
        """The arrays a checkpoint keeps (default: weights ``w<i>``, optimizer variables ``o<i>``, best weights
        ``b<i>``); a subclass may add its own keys and read them back in :meth:`restore_checkpoint`."""
        return model_arrays(model, state)

    def restore_checkpoint(self, model, arrays, state: dict) -> None:
        """Put a checkpoint's arrays back: into ``model`` and ``state["best_weights"]``; raise KeyError or
        ValueError when they do not fit (the trainer turns that into a user error)."""
        restore_model_arrays(model, arrays, state)

    def evaluation_protocol(self, metrics: dict[str, Any]) -> "MinibatchProtocol":
        """The protocol of the one training run whose weights a record with these ``metrics`` keeps (a protocol
        that trains several times returns the chosen run's); ``lstm-hist evaluate`` rebuilds the model with it."""
        return self

    def run(self, *, experiment, task_cfg, model_cfg, seed, workdir=None, resume=False, progress=None):
        return train_minibatch(self, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg, seed=seed,
                               workdir=workdir, resume=resume, progress=progress)

    def bench(self, *, experiment, task_cfg, model_cfg, seed, updates=None, reported=None) -> dict[str, Any]:
        return bench_minibatch(self, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg, seed=seed,
                               updates=updates)


__all__ = [
    "CHECKPOINT", "LOSSES", "OPTIMIZERS", "REGISTERED_LOSSES", "STATE_FILE", "WEIGHTS_FILE",
    "LossSpec", "MinibatchProtocol", "MinibatchResult",
    "batches_per_epoch", "bench_minibatch", "build_model", "default_optimizer", "derive_seeds", "evaluate_split",
    "load_data", "register_loss", "sync", "train_minibatch", "variable_value",
]
