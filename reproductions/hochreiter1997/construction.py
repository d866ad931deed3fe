"""Sequential network construction (§4, "abuse problem", solution 1; used in Exp 2a/2b, §5.2).

"A memory cell and the corresponding gate units are added to the network whenever the error stops decreasing."
Exp 2a/2b start from the RTRL net without its hidden unit (inputs → outputs) and end as Table 10's net: one cell
with its input gate, 10,504 weights. To keep one static graph for N trials (each trial adds its cells at its own
time), the net is built at its largest size (``model.blocks``) and the not-yet-added blocks are held out by
:class:`CellBlockMask`, a per-trial 0/1 factor on each cell's output y^c:

* an inactive cell's y^c is 0, so no output unit sees it and nothing downstream changes;
* every gradient into an inactive block is exactly 0 (∂E/∂w_{k,c} = δ_k y^c = 0 and ∂E/∂s_c = e_c · 0), so its
  weights keep their initial values, drawn like every other weight (uniform in [−0.2, 0.2], §5 intro): adding the
  block later is adding a freshly initialised cell and gate;
* the factor is a non-trainable weight of the model, so checkpoints, the final ``.weights.npz`` and
  ``lstm-hist evaluate`` carry each trial's construction stage.

The mask sits on the cell outputs, outside the layer's recurrence, so it is exact only for nets whose cells and
gates do not see the cells (``recurrent: false``, Table 10's connectivity "B" of Exp 2a/2b); ``build_network``
refuses other nets. When to add (:mod:`.growth`) is the protocol's ``construction`` block.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from lstm_hist.errors import UserError

from .growth import Growth, GrowthRule

LAYER_NAME = "construction"


class CellBlockMask(keras.layers.Layer):
    """y^c → a_j · y^c for cell c of block j, a_j ∈ {0, 1} per trial (1: block j has been added).

    Input (B, cells) or (B, L, cells), batch rows trial-major as in ``TrialDense``. ``initial_blocks``: how many
    blocks (the first ones) are present from the start.
    """

    def __init__(self, blocks: int, block_size: int = 1, initial_blocks: int = 0, trials: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= initial_blocks <= blocks:
            raise ValueError(f"`initial_blocks` must be in [0, blocks={blocks}], received {initial_blocks!r}")
        self.blocks, self.block_size, self.initial_blocks, self.trials = blocks, block_size, initial_blocks, trials
        self.supports_masking = True

    def build(self, input_shape):
        lead = () if self.trials is None else (self.trials,)
        start = np.zeros((*lead, self.blocks), np.float32)
        start[..., : self.initial_blocks] = 1.0
        self.active = self.add_weight(name="active", shape=start.shape, trainable=False,
                                      initializer=keras.initializers.Constant(start))  # fmt: skip

    def call(self, cells):
        factor = ops.repeat(self.active, self.block_size, axis=-1)  # (N, cells) or (cells,)
        if self.trials is not None:
            factor = ops.repeat(factor, ops.shape(cells)[0] // self.trials, axis=0)
            if len(cells.shape) == 3:
                factor = ops.expand_dims(factor, 1)
        return cells * ops.cast(factor, cells.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def set_blocks(self, active_blocks: np.ndarray) -> None:
        """Trial b has its first ``active_blocks[b]`` blocks."""
        counts = np.asarray(active_blocks).reshape(-1, 1)
        value = (np.arange(self.blocks)[None, :] < counts).astype(np.float32)
        self.active.assign(value.reshape(self.active.shape))

    def active_blocks(self) -> np.ndarray:
        return np.asarray(ops.convert_to_numpy(self.active)).sum(axis=-1).astype(np.int64)

    def get_config(self):
        return {**super().get_config(), "blocks": self.blocks, "block_size": self.block_size,
                "initial_blocks": self.initial_blocks, "trials": self.trials}  # fmt: skip


def mask_layer(model) -> CellBlockMask | None:
    """The model's :class:`CellBlockMask`, found by its type (None: the net is trained as built)."""
    layers = [layer for layer in model.layers if isinstance(layer, CellBlockMask)]
    if len(layers) > 1:
        raise UserError(f"sequential construction needs at most one CellBlockMask layer, found {len(layers)}")
    return layers[0] if layers else None


class Construction:
    """Glue between the online loop and :class:`Growth`: after each sequence, add the next block to the trials
    whose error stopped decreasing, writing the new mask into the model and the stepper."""

    def __init__(self, model, config: dict, trials: int):
        self.layer = mask_layer(model)
        if self.layer is None:
            raise UserError("protocol.construction needs a net built with model.initial_blocks (the cells are then "
                            "added one block at a time); set model.initial_blocks or drop protocol.construction")
        self.growth = Growth(GrowthRule.from_config(config), trials, self.layer.blocks, self.layer.active_blocks())

    def after_sequence(self, rows: np.ndarray, error: np.ndarray, seen: int, stepper) -> np.ndarray:
        fired = self.growth.observe(rows, error, seen)
        if fired.any():
            stepper.push()  # the stepper holds the current weights (and, JAX autodiff, a copy of this mask)
            self.layer.set_blocks(self.growth.active_blocks)
            stepper.pull()
        return fired

    def state(self) -> dict[str, np.ndarray]:
        return self.growth.state()

    def load(self, arrays) -> None:
        self.growth.load(arrays)
        if not np.array_equal(self.growth.active_blocks, self.layer.active_blocks()):
            raise ValueError("construction stage and mask differ")

    def per_trial(self, b: int) -> dict:
        return self.growth.per_trial(b)


def check_initial_blocks(model_cfg_blocks: int, initial_blocks: int | None, recurrent: bool) -> None:
    """``build_network``'s checks of ``initial_blocks`` (see the module docstring)."""
    if initial_blocks is None:
        return
    if not 0 <= initial_blocks <= model_cfg_blocks:
        raise ValueError(f"`initial_blocks` must be in [0, blocks={model_cfg_blocks}], received {initial_blocks!r}")
    if recurrent:
        raise ValueError("`initial_blocks` (sequential construction) needs `recurrent=False`: the mask on the cell "
                         "outputs would not reach the recurrent connections inside the layer")
