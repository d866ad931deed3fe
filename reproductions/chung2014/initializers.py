"""The recurrent-kernel initialisation of the Pylearn2 layers that jych/librnn's music configs instantiate.

Chung et al. (2014) do not state an initialisation. The authors' configs set ``irange: 0.1``, which Pylearn2's
``sandbox/rnn/models/rnn.py`` (commit 62bc2cc, "added GRU", the layer the README points to) uses for the input
matrix W only; the recurrent matrix U is one random orthogonal n×n block per gate (QR or ``orth`` of a Gaussian
matrix), the biases zero. docs/deviations.md (Chung section).
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="lstm_hist")
class BlockOrthogonal(keras.initializers.Initializer):
    """A (n, blocks·n) matrix of ``blocks`` independent random orthogonal n×n blocks (Q of the QR of a standard
    Gaussian matrix, column signs fixed by diag(R) so Q is Haar-distributed).

    Args:
        blocks: the number of gate blocks (tanh 1, GRU 3, LSTM 4).
        seed: an int for reproducible draws, or None to follow ``keras.utils.set_random_seed``.
    """

    def __init__(self, blocks: int, seed: int | None = None):
        if not isinstance(blocks, int) or isinstance(blocks, bool) or blocks < 1:
            raise ValueError(f"blocks must be a positive int, received blocks={blocks!r}")
        self.blocks = blocks
        self.seed = seed
        self._generator = keras.random.SeedGenerator(seed) if seed is not None else None

    def __call__(self, shape, dtype=None):
        rows, columns = shape
        if columns != self.blocks * rows:
            raise ValueError(f"BlockOrthogonal({self.blocks}) needs shape (n, {self.blocks}·n), received {shape}")
        parts = []
        for _ in range(self.blocks):
            gaussian = keras.random.normal((rows, rows), dtype="float32", seed=self._generator)
            q, r = ops.qr(gaussian)
            parts.append(q * ops.sign(ops.diagonal(r))[None, :])
        return ops.cast(ops.concatenate(parts, axis=1), dtype or "float32")

    def get_config(self):
        return {"blocks": self.blocks, "seed": self.seed}
