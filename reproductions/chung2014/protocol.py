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

The optimiser and the weight-noise placement plug into the shared trainer through its hooks (``make_optimizer``,
``noisy_variables``); the learning-rate search is :mod:`.lr_search`, the summed training cost :mod:`.losses`.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from lstm_hist.errors import UserError
from lstm_hist.training.minibatch import OPTIMIZERS, MinibatchResult

from .lr_search import LearningRateSearch, LRSearchResult

NOISE_SCOPES = ("recurrent", "all")


@dataclasses.dataclass
class ChungProtocol(LearningRateSearch):
    """:class:`~lstm_hist.training.minibatch.MinibatchProtocol` with the §4 learning-rate search (the ``lr_*``
    fields of :class:`~reproductions.chung2014.lr_search.LearningRateSearch`) plus the authors' optimiser fields.

    stabilizer: floor on the RMS of ``rmsprop_momentum`` (librnn 1e-2).
    momentum_clipping: largest norm of one step over all parameters (librnn 1); null = no clip.
    lr_decay_factor: final / initial learning rate of the linear per-epoch decay (librnn 0.01); null = constant.
    lr_decay_epochs: the epoch at which the decay reaches its final value (librnn 500 = max_epochs).
    weight_noise_scope: "recurrent" (the recurrent layer's weight matrices: kernel, recurrent kernel and the
        LSTM's peepholes, no biases; Pylearn2's layers add noise to W and U only) or "all" trainable weights.
    candidates_in_one_graph: train the ``lr_candidates`` as one jitted JAX graph (``candidate_search.py``; JAX,
        rmsprop_momentum; elsewhere the generic path runs), the default (about 5x faster per
        epoch of the search); false = the generic per-candidate ``fit``. Its weight noise is another random stream
        than the generic path's, so the numbers of the two paths differ by that draw.
    """

    stabilizer: float = 1e-2
    momentum_clipping: float | None = 1.0
    lr_decay_factor: float | None = None
    lr_decay_epochs: int = 500
    weight_noise_scope: str = "all"
    candidates_in_one_graph: bool = True

    # Added after Chung checkpoints existed: left out of the fingerprint at its default.
    fingerprint_omits_defaults: ClassVar[tuple[str, ...]] = ("candidates_in_one_graph",)

    optimizers = (*OPTIMIZERS, "rmsprop_momentum")

    def __post_init__(self):
        super().__post_init__()
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
        """As the shared protocol; a run without a search also reports its one learning rate, so every record
        says which learning rate (``metrics.learning_rate``) and which epoch (``metrics.best_epoch``) it kept."""
        from .candidates import unsupported_reason

        # The one-graph path covers JAX with the authors' optimizer; anywhere else the generic per-candidate fit
        # runs (as Keras falls back from cuDNN), so the default never stops a config from running.
        if self.lr_candidates is not None and self.candidates_in_one_graph and unsupported_reason(self) is None:
            from .candidate_search import search_in_one_graph

            return search_in_one_graph(self, **kwargs)
        result = super().run(**kwargs)
        if isinstance(result, LRSearchResult):
            return result
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(MinibatchResult)}
        row = {**result.per_trial()[0], "learning_rate": self.learning_rate,
               "valid_nll": result.evaluation.get("valid_nll"), "chosen": result.status == "completed"}
        return LRSearchResult(**fields, learning_rate=self.learning_rate, candidates=[row])

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
