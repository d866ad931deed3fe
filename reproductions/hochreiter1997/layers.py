"""The 1997 layers used in models: :class:`LSTM1997` (the memory-cell blocks over a sequence) and
:class:`TrialDense` (the logistic output units), both trial-parallel with ``trials=N``.

:class:`LSTM1997` hoists the input projection out of the time loop (one matmul for all steps), then scans only
the recurrent part of :class:`~.cell.LSTM1997Cell`, and accepts a mask for variable-length sequences.
"""

from __future__ import annotations

import keras
from keras import ops

from .cell import LSTM1997Cell
from .equations import trial_matmul

CELL_ARGS = (
    "blocks", "block_size", "output_gate", "recurrent", "cell_bias", "gate_bias", "cell_input_activation",
    "cell_output_activation", "input_gate_bias", "output_gate_bias", "init_range", "truncate_gradient",
    "initial_activation", "trials", "seed", "input_gate_bias_range",
)  # fmt: skip


@keras.saving.register_keras_serializable(package="lstm_hist")
class LSTM1997(keras.layers.Layer):
    """Hochreiter & Schmidhuber (1997) LSTM layer: :class:`LSTM1997Cell` run over a sequence.

    Same arguments as :class:`LSTM1997Cell`, plus ``return_sequences`` (False: the cell outputs y^c at each
    sequence's last real step; True: at every step), ``symbols`` (None: inputs are vectors (B, L, in); an int:
    inputs are symbol indices (B, L) standing for one-hot vectors of that width, index ``symbols`` a zero vector,
    :mod:`.symbols`) and ``fast_path`` (True: on JAX with the truncated gradient,
    the forward scan and a closed-form backward without a pass through time, ``fast_jax``; otherwise, and with
    False, the generic ``keras.ops`` loop below, which every backend runs; both give the same numbers to float
    tolerance, tests/test_h97_fast_path.py). The input projection of all steps is one matmul before
    the time loop; only the recurrent part runs inside ``keras.ops.scan``. A mask (B, L) freezes the states
    on padded steps, so the last state is the one at each sequence's own end.

    Call arguments:
        inputs: (B, L, inputs).
        mask: optional (B, L) bool, True on real steps.

    Example::

        model = keras.Sequential([
            keras.Input((None, 2)),
            LSTM1997(blocks=2, block_size=2, input_gate_bias=[-3.0, -6.0]),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
    """

    def __init__(self, blocks: int, return_sequences: bool = False, fast_path: bool = True,
                 symbols: int | None = None, **kwargs):
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in CELL_ARGS}
        super().__init__(**kwargs)
        self.cell = LSTM1997Cell(blocks, **cell_kwargs, name="cell")
        self.return_sequences = return_sequences
        self.fast_path = bool(fast_path)
        self.symbols = None if symbols is None else int(symbols)
        self.supports_masking = True

    def build(self, input_shape):
        self.cell.build(input_shape if self.symbols is None else (*input_shape[:2], self.symbols))

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def uses_fast_path(self) -> bool:
        """Whether ``call`` takes the JAX fast path (``fast_jax``): asked for, JAX backend, truncated gradient."""
        return self.fast_path and self.cell.truncate_gradient and keras.backend.backend() == "jax"

    def call(self, inputs, mask=None, training=False):
        if self.uses_fast_path():
            from . import fast_jax

            return fast_jax.call(self.cell, inputs, mask, self.return_sequences)
        if self.symbols is not None:  # the generic loop sees the one-hot vectors the indices stand for
            from .symbols import one_hot

            inputs = one_hot(inputs, self.symbols)
        cell = self.cell
        projected = cell.project_inputs(inputs)  # (B, L, units), hoisted out of the loop
        states = cell.get_initial_state(ops.shape(inputs)[0])
        steps = ops.moveaxis(projected, 1, 0)
        # Keras's TensorFlow scan needs the per-step outputs shaped like the carry, so every backend
        # emits the carry itself; y^c(t) is the first `cells` columns of r(t).
        if mask is None:

            def step(carry, projected_t):
                _, new = cell.recurrent_step(projected_t, list(carry))
                return tuple(new), tuple(new)

            (s, r), (_, r_seq) = ops.scan(step, tuple(states), steps)
        else:
            step_mask = ops.expand_dims(ops.moveaxis(ops.cast(mask, "bool"), 1, 0), -1)

            def step(carry, xs):
                projected_t, keep = xs
                _, new = cell.recurrent_step(projected_t, list(carry))
                new = tuple(ops.where(keep, n, c) for n, c in zip(new, carry))
                return new, new

            (s, r), (_, r_seq) = ops.scan(step, tuple(states), (steps, step_mask))
        if self.return_sequences:
            return ops.moveaxis(r_seq[..., : cell.cells], 0, 1)
        return r[:, : cell.cells]

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.cell.cells)
        return (input_shape[0], self.cell.cells)

    def get_config(self):
        cell_config = self.cell.get_config()
        return {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "fast_path": self.fast_path,
            "symbols": self.symbols,
            **{k: cell_config[k] for k in CELL_ARGS},
        }


@keras.saving.register_keras_serializable(package="lstm_hist")
class TrialDense(keras.layers.Layer):
    """A dense layer whose weights carry a leading trial axis (batch rows trial-major), or a plain one.

    The 1997 output units: y^k = f(Σ_c w_kc y^c + b_k), f the logistic sigmoid (§5, "output units see
    memory cells only"), weights uniform in [−init_range, init_range].
    """

    def __init__(
        self,
        units: int,
        activation: str | None = "sigmoid",
        use_bias: bool = True,
        init_range: float = 0.1,
        trials: int | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.init_range = float(init_range)
        self.trials = trials
        self.seed = seed
        self.supports_masking = True  # per step, so a (B, L) mask of every-step outputs passes through unchanged

    def build(self, input_shape):
        lead = () if self.trials is None else (self.trials,)
        init = lambda k: keras.initializers.RandomUniform(  # noqa: E731
            -self.init_range, self.init_range, seed=None if self.seed is None else self.seed + k
        )
        self.kernel = self.add_weight(name="kernel", shape=(*lead, input_shape[-1], self.units), initializer=init(0))
        self.bias = (
            self.add_weight(name="bias", shape=(*lead, self.units), initializer=init(1)) if self.use_bias else None
        )

    def call(self, inputs):
        out = trial_matmul(inputs, self.kernel, self.trials)
        if self.bias is not None:
            bias = self.bias
            if self.trials is not None:
                bias = ops.repeat(bias, ops.shape(inputs)[0] // self.trials, axis=0)
                if len(inputs.shape) == 3:
                    bias = ops.expand_dims(bias, 1)
            out = out + bias
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "init_range": self.init_range,
            "trials": self.trials,
            "seed": self.seed,
        }
