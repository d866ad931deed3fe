"""The training cost of jych/librnn's music runs, ``protocol.loss: frame_nll_sequence_sum`` (registered in
``reproductions/chung2014/__init__.py``): the Bernoulli NLL summed over the notes and real steps of a piece.

The Pylearn2 sigmoid cost of ``exp/music/jsb/gru.yaml`` is a ``.sum()``; with batch size 1 that fixes the
gradient's scale against RMSProp's RMS floor (docs/deviations.md, Chung section). Its exact evaluation is the
per-step NLL of ``frame_nll_bernoulli``, so records of either cost compare.
"""

from __future__ import annotations

import keras
from keras import ops

from lstm_hist.evaluation import metrics as M


class FrameNLLSequenceSum(keras.losses.Loss):
    """Bernoulli NLL summed over the notes and real steps of each sequence, averaged over the batch's sequences.

    Keras's ``sum_over_batch_size`` divides the weighted sum by B·T (T the padded length); the per-step values are
    multiplied by T first, so the result is Σ mask·nll / B.
    """

    def __init__(self, name: str = "frame_nll_sequence_sum", **kwargs):
        kwargs.setdefault("reduction", "sum_over_batch_size")
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        per_step = M.bernoulli_nll_per_step_ops(y_true, y_pred, True)
        return per_step * ops.cast(ops.shape(per_step)[1], per_step.dtype)


def sequence_sum_loss(protocol):
    """``frame_nll_sequence_sum``: with batch size 1, the piece's total NLL (the Pylearn2 cost of jych/librnn)."""
    return FrameNLLSequenceSum()


def sequence_sum_totals(y_true, logits, mask=None):
    """Exact evaluation of ``frame_nll_sequence_sum`` runs: the per-step NLL of ``frame_nll_bernoulli``."""
    return M.frame_nll_totals(y_true, logits, mask, from_logits=True)
