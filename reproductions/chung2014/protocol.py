"""Chung et al. (2014) §4 protocol at the authors' settings: the shared minibatch trainer with their optimiser,
learning-rate decay, training cost and weight-noise placement.

§4: RMSProp, weight noise of std 0.075, the learning rate chosen among 10 log-uniform samples of U(−12, −6) on
validation, early stopping. Where §4 is silent, jych/librnn ``exp/music/jsb/gru.yaml`` (with Pylearn2's
``sandbox/rnn/models/rnn.py``, the layers it instantiates) settles it (docs/deviations.md, Chung section):

* optimiser ``rmsprop_momentum`` (:class:`~reproductions.chung2014.optimizer.RMSPropMomentum`): momentum 0.9,
  averaging 0.95, RMS floor 0.01, the step's norm over all parameters clipped to 1;
* the learning rate decayed linearly to 1 % over 500 epochs (``lr_decay_factor``, ``lr_decay_epochs``);
* 500 epochs, the best-validation parameters kept (``MonitorBasedSaveBest``): no patience;
* the training cost is the NLL *summed* over the notes and steps of a piece (``frame_nll_sequence_sum``; the
  Pylearn2 sigmoid cost ``.sum()``), which with batch size 1 fixes the gradient's scale against the RMS floor;
* weight noise on the recurrent layer's weight matrices only (``weight_noise_scope: recurrent``).

The learning-rate selection (``lr_candidates``, :mod:`.lr_search`) trains once per candidate; the optimiser and
weight-noise placement plug into the shared trainer through the ``MinibatchProtocol`` hooks ``make_optimizer``
and ``noisy_variables``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from lstm_hist.errors import UserError
from lstm_hist.training.minibatch import OPTIMIZERS, MinibatchProtocol

from .lr_search import LR_SAMPLINGS, LRSearchResult, search_learning_rate

NOISE_SCOPES = ("recurrent", "all")


@dataclasses.dataclass
class ChungProtocol(MinibatchProtocol):
    """:class:`~lstm_hist.training.minibatch.MinibatchProtocol` plus the authors' optimiser fields.

    stabilizer: floor on the RMS of ``rmsprop_momentum`` (librnn 1e-2).
    momentum_clipping: largest norm of one step over all parameters (librnn 1); null = no clip.
    lr_decay_factor: final / initial learning rate of the linear per-epoch decay (librnn 0.01); null = constant.
    lr_decay_epochs: the epoch at which the decay reaches its final value (librnn 500 = max_epochs).
    weight_noise_scope: "recurrent" (the recurrent layer's weight matrices: kernel, recurrent kernel and the
        LSTM's peepholes, no biases; Pylearn2's layers add noise to W and U only) or "all" trainable weights.
    lr_candidates: None = train once with ``learning_rate``. An int n = the §4 learning-rate selection
        (:mod:`.lr_search`): n candidates ``lr_log_base ** u`` with u log-uniform in ``lr_log_range`` (Chung: 10
        samples of U(−12, −6)); one full training run per candidate, each with its own checkpoint folder
        (``workdir/lr<k>``); the candidate with the lowest validation NLL (``valid_nll``, or ``valid_mse``) is
        the result. ``learning_rate`` is then unused.
    lr_log_range: (low, high) exponents of the candidates.
    lr_log_base: the base of those exponents; the paper does not state it (e: natural logs, 6.1e-6 … 2.5e-3).
    lr_sampling: "iid" (independent log-uniform samples, the paper) or "stratified" (one log-uniform sample in
        each of n equal sub-ranges: the same marginal, but a small n still spans the range).
    (the other fields: see MinibatchProtocol)
    """

    stabilizer: float = 1e-2
    momentum_clipping: float | None = 1.0
    lr_decay_factor: float | None = None
    lr_decay_epochs: int = 500
    weight_noise_scope: str = "all"
    lr_candidates: int | None = None
    lr_log_range: tuple[float, float] = (-12.0, -6.0)
    lr_log_base: float = math.e
    lr_sampling: str = "iid"

    optimizers = (*OPTIMIZERS, "rmsprop_momentum")

    def __post_init__(self):
        super().__post_init__()
        self._check_search()
        if not self.stabilizer >= 0:
            raise UserError(f"protocol.stabilizer must be >= 0, got {self.stabilizer}")
        if self.momentum_clipping is not None and not self.momentum_clipping > 0:
            raise UserError(f"protocol.momentum_clipping must be positive or null, got {self.momentum_clipping}")
        if self.lr_decay_factor is not None and not 0 < self.lr_decay_factor <= 1:
            raise UserError(f"protocol.lr_decay_factor must be in (0, 1] or null, got {self.lr_decay_factor}")
        if self.lr_decay_epochs < 1:
            raise UserError(f"protocol.lr_decay_epochs must be at least 1, got {self.lr_decay_epochs}")
        if self.weight_noise_scope not in NOISE_SCOPES:
            raise UserError(f"protocol.weight_noise_scope must be one of {', '.join(NOISE_SCOPES)}, "
                            f"got {self.weight_noise_scope!r}")
        if self.optimizer != "rmsprop_momentum" and self.lr_decay_factor is not None:
            raise UserError("protocol.lr_decay_factor needs optimizer: rmsprop_momentum (set it to null otherwise)")
        if self.loss == "frame_nll_sequence_sum" and not self.from_logits:
            raise UserError("protocol.loss frame_nll_sequence_sum needs from_logits: true (the models output logits)")

    def _check_search(self) -> None:
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

    def make_optimizer(self, steps_per_epoch: int | None = None):
        if self.optimizer != "rmsprop_momentum":
            return super().make_optimizer(steps_per_epoch)
        from .optimizer import LinearDecayOverEpochs, RMSPropMomentum

        rate = self.learning_rate
        if self.lr_decay_factor is not None:
            if steps_per_epoch is None:
                raise UserError("protocol.lr_decay_factor needs a training split of known length (array data)")
            rate = LinearDecayOverEpochs(self.learning_rate, steps_per_epoch, saturate=self.lr_decay_epochs,
                                         decay_factor=self.lr_decay_factor)
        clip = {}
        if self.clipnorm is not None:
            clip["global_clipnorm" if self.clipnorm_scope == "global" else "clipnorm"] = self.clipnorm
        return RMSPropMomentum(learning_rate=rate, momentum=self.momentum, averaging_coeff=self.rho,
                               stabilizer=self.stabilizer, momentum_clipping=self.momentum_clipping, **clip)

    def run(self, **kwargs):
        """The learning-rate search (``lr_candidates``), or one run of the shared trainer that also reports its
        learning rate, so every record says which learning rate (``metrics.learning_rate``) and which epoch
        (``metrics.best_epoch``) it kept."""
        if self.lr_candidates is not None:
            return search_learning_rate(self, **kwargs)
        return LRSearchResult.single(super().run(**kwargs), self.learning_rate)

    def bench(self, **kwargs) -> dict[str, Any]:
        """The shared trainer's timing; a search trains once per candidate, so its run takes that many times."""
        out = super().bench(**kwargs)
        runs = self.lr_candidates or 1
        wall = out.pop("estimated_wall_seconds") * runs
        parameters = out.pop("parameters")
        return {**out, "lr_candidates": runs, "estimated_wall_seconds": wall, "parameters": parameters}

    def evaluation_protocol(self, metrics: dict[str, Any]) -> "ChungProtocol":
        """The chosen candidate's single run: its learning rate from the record (the optimizer is rebuilt, not
        used; evaluation only predicts)."""
        return dataclasses.replace(self, lr_candidates=None,
                                   learning_rate=metrics.get("learning_rate") or self.learning_rate)

    def noisy_variables(self, model) -> list:
        if self.weight_noise_scope == "all":
            return super().noisy_variables(model)
        return recurrent_weight_matrices(model)


def recurrent_weight_matrices(model) -> list:
    """The trainable non-bias weights of the model's recurrent (``keras.layers.RNN``) layers."""
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.RNN):
            out += [v for v in layer.trainable_variables if v.name != "bias"]
    if not out:
        raise UserError("protocol.weight_noise_scope: recurrent, but the model has no keras.layers.RNN layer")
    return out
