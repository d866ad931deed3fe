"""The per-step Bernoulli NLL as a Keras loss (its own module: importing it imports Keras, ``metrics`` does not)."""

from __future__ import annotations

import keras

from .metrics import bernoulli_nll_per_step_ops


class FrameNLLBernoulli(keras.losses.Loss):
    """Per-step Bernoulli NLL summed over notes, averaged over weighted steps (see ``metrics.frame_nll_loss``)."""

    def __init__(self, from_logits: bool = True, name: str = "frame_nll_bernoulli", **kwargs):
        kwargs.setdefault("reduction", "mean_with_sample_weight")
        super().__init__(name=name, **kwargs)
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        return bernoulli_nll_per_step_ops(y_true, y_pred, self.from_logits)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}
