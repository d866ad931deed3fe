"""Initialisers of the 1997 nets beyond Keras's own."""

from __future__ import annotations

import keras
from keras import ops


class PerTrialConstant(keras.initializers.Initializer):
    """A per-block constant (the paper's gate-bias lists), tiled over any leading trial axis."""

    def __init__(self, values):
        self.values = [float(v) for v in values]

    def __call__(self, shape, dtype=None):
        return ops.broadcast_to(ops.convert_to_tensor(self.values, dtype=dtype), shape)

    def get_config(self):
        return {"values": self.values}
