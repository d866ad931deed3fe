"""The training split's batches in an order that depends only on (seed, epoch): a resumed run sees exactly the
batches an uninterrupted one would. Imported when training starts (it subclasses a Keras class)."""

from __future__ import annotations

import math

import keras
import numpy as np

from lstm_hist.training.trim import trim_padding


class EpochShuffled(keras.utils.PyDataset):
    """Batches of the arrays ``split`` in an order that depends only on (``shuffle_seed``, epoch)."""

    def __init__(self, split: tuple, batch_size: int, shuffle_seed: int):
        super().__init__()
        self.split, self.batch_size, self.shuffle_seed = split, batch_size, shuffle_seed
        self.order = np.arange(len(split[0]))

    def set_epoch(self, epoch: int) -> None:
        self.order = np.random.default_rng([self.shuffle_seed, epoch]).permutation(len(self.split[0]))

    def __len__(self) -> int:
        return math.ceil(len(self.split[0]) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return trim_padding(tuple(a[rows] for a in self.split))
