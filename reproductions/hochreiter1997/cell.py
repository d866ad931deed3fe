"""The 1997 LSTM memory cell (Hochreiter & Schmidhuber 1997, §4, App. A.1, eqs. 3–9): no forget gate.

Two layers live here:

* :class:`LSTM1997Cell` computes one time step. It works with ``keras.layers.RNN`` like any Keras cell.
* :class:`LSTM1997` runs the cell over a sequence. It hoists the input projection out of the time loop
  (one matmul for all steps), then scans only the recurrent part, and accepts a mask for variable-length
  sequences. Use this one in models.

Both accept ``trials=N``: every weight then has a leading axis of size N and batch row b is computed with
trial b's weights (rows are trial-major when the batch holds several sequences per trial: rows
``[b*k, (b+1)*k)`` belong to trial b). That is how the paper's independent trials train in one graph.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops

CELL_INPUT_ACTIVATIONS = ("g2", "g1")  # g2: 4σ(x)−2 in [−2, 2] (eq. 5); g1: σ(x) in [0, 1] (Exp 2a/2b)
CELL_OUTPUT_ACTIVATIONS = ("h1", "identity")  # h1: 2σ(x)−1 in [−1, 1] (eq. 4); identity (Exp 2a/2b)


def _g(x, kind):
    return 4.0 * ops.sigmoid(x) - 2.0 if kind == "g2" else ops.sigmoid(x)


def _h(x, kind):
    return 2.0 * ops.sigmoid(x) - 1.0 if kind == "h1" else x


class _PerTrialConstant(keras.initializers.Initializer):
    """A per-block constant (the paper's gate-bias lists), tiled over any leading trial axis."""

    def __init__(self, values):
        self.values = [float(v) for v in values]

    def __call__(self, shape, dtype=None):
        return ops.broadcast_to(ops.convert_to_tensor(self.values, dtype=dtype), shape)

    def get_config(self):
        return {"values": self.values}


def trial_matmul(x, kernel, trials):
    """``x @ kernel`` where, with ``trials``, rows are grouped by trial and each group uses its own kernel.

    x: (B, ..., n) with B = trials·k; kernel: (trials, n, m) or (n, m). One batched matmul over the trial axis
    (measured faster on CPU than a broadcast multiply-and-sum for 10 and 30 trials, docs/performance.md).
    """
    if trials is None:
        return ops.matmul(x, kernel)
    batch = ops.shape(x)[0]
    rest = ops.shape(x)[1:]
    grouped = ops.reshape(x, (trials, -1, rest[-1]))  # (N, k·…, n): trial-major rows
    out = ops.matmul(grouped, kernel)
    return ops.reshape(out, (batch, *rest[:-1], ops.shape(kernel)[-1]))


class LSTM1997Cell(keras.layers.Layer):
    """Hochreiter & Schmidhuber (1997) memory-cell blocks without forget gate, one time step.

    A block j holds ``block_size`` cells sharing one input gate and one output gate (§4). In the paper's
    notation, with u running over inputs, cells and gates::

        net_in_j(t)  = Σ_u w_{in_j,u} y^u(t-1)      y^in_j(t)  = σ(net_in_j(t))                  (eq. 3)
        net_out_j(t) = Σ_u w_{out_j,u} y^u(t-1)     y^out_j(t) = σ(net_out_j(t))
        net_c(t)     = Σ_u w_{c,u} y^u(t-1)
        s_c(t)       = s_c(t-1) + y^in_j(t) · g(net_c(t))        s_c(0) = 0   (CEC, self-weight 1.0)
        y^c(t)       = y^out_j(t) · h(s_c(t))
        g(x) = 4σ(x) − 2 ∈ [−2, 2] (eq. 5, "g2")     h(x) = 2σ(x) − 1 ∈ [−1, 1] (eq. 4, "h1")

    The input units enter at step t (§5: inputs are set first, then the hidden units are computed); the
    recurrent units (all cells and all gates) enter with their values from t−1.

    Gradient truncation (App. A.1): the partial derivatives of net_in, net_out and net_c with respect to
    y^u(t−1) are set to 0, so error flows back in time only through s_c (the constant error carousel).
    Implemented as a stop-gradient on the recurrent vector; ``truncate_gradient=False`` gives the full
    gradient (§6: "no significant difference").

    Args:
        blocks: number of memory-cell blocks.
        block_size: cells per block (S).
        output_gate: False for Exp 2a/2b (no output gate: y^c = h(s_c)).
        recurrent: True for the paper's connectivity "F" (cells and gates see all cells and gates); False
            for connectivity "B" of Exp 2a/2b (they see the inputs only).
        cell_bias: whether the cells have bias weights (Table 10 bias column "b1"/"all").
        gate_bias: whether the gates have bias weights ("ga", "b1", "all").
        cell_input_activation: "g2" (eq. 5) or "g1" (logistic in [0, 1], Exp 2a/2b).
        cell_output_activation: "h1" (eq. 4) or "identity" (Exp 2a/2b).
        input_gate_bias: initial input-gate bias per block (Table 10 "igb"); None = random like the rest.
        output_gate_bias: initial output-gate bias per block (Table 10 "ogb"); None = random.
        init_range: weights start uniform in [−init_range, init_range] (0.2 in Exps 1–2, 0.1 in Exps 3–6).
        input_gate_bias_range: with ``input_gate_bias`` None, the random input-gate biases start uniform in
            [−r, r] with this r instead of init_range (Exp 1: Table 10's "r" = [−0.1, 0.1] against the §5.1
            text's [−0.2, 0.2], erratum 3); None = init_range.
        truncate_gradient: the paper's truncated gradient (default) or the full gradient.
        initial_activation: y^u(0) of every cell and gate at a sequence start. The paper resets "all
            activations" without a value (s_c(0) = 0 is stated); 0.0 is the usual modern choice, 0.5 is what
            the JKU LSTM simulator's `reset_net` does (docs/deviations.md).
        trials: None for an ordinary layer; N for N independent trials (leading weight axis).
        seed: seed for the initializers.

    Call arguments:
        inputs: (B, inputs) for one step.
        states: ``[s, r]`` with s (B, cells) the CEC states and r (B, units) the previous activations of all
            cells and gates, ordered [cells, input gates, output gates].

    Example::

        layer = keras.layers.RNN(LSTM1997Cell(blocks=2, block_size=2))
    """

    def __init__(
        self,
        blocks: int,
        block_size: int = 1,
        output_gate: bool = True,
        recurrent: bool = True,
        cell_bias: bool = True,
        gate_bias: bool = True,
        cell_input_activation: str = "g2",
        cell_output_activation: str = "h1",
        input_gate_bias: Sequence[float] | None = None,
        output_gate_bias: Sequence[float] | None = None,
        init_range: float = 0.1,
        truncate_gradient: bool = True,
        initial_activation: float = 0.0,
        trials: int | None = None,
        input_gate_bias_range: float | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("blocks", blocks), ("block_size", block_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, received {name}={value!r}")
        if trials is not None and (not isinstance(trials, int) or isinstance(trials, bool) or trials < 1):
            raise ValueError(f"`trials` must be None or a positive integer, received trials={trials!r}")
        if cell_input_activation not in CELL_INPUT_ACTIVATIONS:
            raise ValueError(
                f"`cell_input_activation` must be one of {CELL_INPUT_ACTIVATIONS}, "
                f"received cell_input_activation={cell_input_activation!r}"
            )
        if cell_output_activation not in CELL_OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"`cell_output_activation` must be one of {CELL_OUTPUT_ACTIVATIONS}, "
                f"received cell_output_activation={cell_output_activation!r}"
            )
        if not init_range > 0:
            raise ValueError(f"`init_range` must be positive, received init_range={init_range!r}")
        if input_gate_bias_range is not None and not input_gate_bias_range > 0:
            raise ValueError(f"`input_gate_bias_range` must be positive, received {input_gate_bias_range!r}")
        for name, values, present in (
            ("input_gate_bias", input_gate_bias, gate_bias),
            ("output_gate_bias", output_gate_bias, gate_bias and output_gate),
        ):
            if values is None:
                continue
            if not present:
                raise ValueError(f"`{name}` is given but that gate has no bias weight, received {name}={values!r}")
            if len(values) != blocks:
                raise ValueError(f"`{name}` needs one value per block ({blocks}), received {name}={values!r}")
        self.blocks = blocks
        self.block_size = block_size
        self.output_gate = output_gate
        self.recurrent = recurrent
        self.cell_bias = cell_bias
        self.gate_bias = gate_bias
        self.cell_input_activation = cell_input_activation
        self.cell_output_activation = cell_output_activation
        self.input_gate_bias = None if input_gate_bias is None else [float(v) for v in input_gate_bias]
        self.output_gate_bias = None if output_gate_bias is None else [float(v) for v in output_gate_bias]
        self.init_range = float(init_range)
        self.input_gate_bias_range = None if input_gate_bias_range is None else float(input_gate_bias_range)
        self.truncate_gradient = truncate_gradient
        self.initial_activation = float(initial_activation)
        self.trials = trials
        self.seed = seed
        self.cells = blocks * block_size
        self.gates = blocks * (2 if output_gate else 1)
        self.units = self.cells + self.gates  # the recurrent vector: [cells, input gates, output gates]
        self.state_size = [self.cells, self.units]
        self.output_size = self.cells

    def _shape(self, *shape):
        return shape if self.trials is None else (self.trials, *shape)

    def _uniform(self, offset, limit=None):
        seed = None if self.seed is None else self.seed + offset
        limit = self.init_range if limit is None else limit
        return keras.initializers.RandomUniform(-limit, limit, seed=seed)

    def build(self, input_shape):
        n_in = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel", shape=self._shape(n_in, self.units), initializer=self._uniform(0)
        )
        self.recurrent_kernel = (
            self.add_weight(
                name="recurrent_kernel",
                shape=self._shape(self.units, self.units),
                initializer=self._uniform(1),
            )
            if self.recurrent
            else None
        )
        self.cell_bias_weight = (
            self.add_weight(name="cell_bias", shape=self._shape(self.cells), initializer=self._uniform(2))
            if self.cell_bias
            else None
        )
        self.input_gate_bias_weight = self.output_gate_bias_weight = None
        if self.gate_bias:
            init = (self._uniform(3, self.input_gate_bias_range) if self.input_gate_bias is None
                    else _PerTrialConstant(self.input_gate_bias))  # fmt: skip
            self.input_gate_bias_weight = self.add_weight(
                name="input_gate_bias", shape=self._shape(self.blocks), initializer=init
            )
            if self.output_gate:
                init = (
                    self._uniform(4) if self.output_gate_bias is None else _PerTrialConstant(self.output_gate_bias)
                )
                self.output_gate_bias_weight = self.add_weight(
                    name="output_gate_bias", shape=self._shape(self.blocks), initializer=init
                )

    def _bias(self, batch_rows):
        """The bias of every unit, or None; (units,) or, with trials, (B, units) trial-major."""
        bias = self.unit_bias()
        if bias is None or self.trials is None:
            return bias
        return ops.repeat(bias, batch_rows // self.trials, axis=0)

    def unit_bias(self):
        """The bias of every unit [cells, input gates, output gates], or None; (units,) or (trials, units)."""
        parts = []
        for weight, size in (
            (self.cell_bias_weight, self.cells),
            (self.input_gate_bias_weight, self.blocks),
            (self.output_gate_bias_weight, self.blocks if self.output_gate else 0),
        ):
            if size == 0:
                continue
            parts.append(weight if weight is not None else ops.zeros(self._shape(size), dtype=self.compute_dtype))
        if all(w is None for w in (self.cell_bias_weight, self.input_gate_bias_weight)):
            return None
        return ops.concatenate(parts, axis=-1)

    def project_inputs(self, inputs):
        """net contributions of the inputs and biases: (B, [L,] in) → (B, [L,] units). Hoistable out of time."""
        net = trial_matmul(inputs, self.kernel, self.trials)
        bias = self._bias(ops.shape(inputs)[0])
        if bias is None:
            return net
        if self.trials is not None and len(inputs.shape) == 3:
            bias = ops.expand_dims(bias, 1)
        return net + bias

    def recurrent_step(self, projected, states):
        """One step given the projected inputs (B, units) and states [s, r]; returns y^c and the new states."""
        s, r = states
        net = projected
        if self.recurrent:
            previous = ops.stop_gradient(r) if self.truncate_gradient else r
            net = net + trial_matmul(previous, self.recurrent_kernel, self.trials)
        net_c = net[:, : self.cells]
        y_in = ops.sigmoid(net[:, self.cells : self.cells + self.blocks])
        s = s + ops.repeat(y_in, self.block_size, axis=-1) * _g(net_c, self.cell_input_activation)
        h = _h(s, self.cell_output_activation)
        if self.output_gate:
            y_out = ops.sigmoid(net[:, self.cells + self.blocks :])
            y_c = ops.repeat(y_out, self.block_size, axis=-1) * h
            r = ops.concatenate([y_c, y_in, y_out], axis=-1)
        else:
            y_c = h
            r = ops.concatenate([y_c, y_in], axis=-1)
        return y_c, [s, r]

    def call(self, inputs, states, training=False):
        return self.recurrent_step(self.project_inputs(inputs), states)

    def get_initial_state(self, batch_size=None):
        return [
            ops.zeros((batch_size, self.cells), dtype=self.compute_dtype),
            ops.full((batch_size, self.units), self.initial_activation, dtype=self.compute_dtype),
        ]

    def get_config(self):
        return {
            **super().get_config(),
            "blocks": self.blocks,
            "block_size": self.block_size,
            "output_gate": self.output_gate,
            "recurrent": self.recurrent,
            "cell_bias": self.cell_bias,
            "gate_bias": self.gate_bias,
            "cell_input_activation": self.cell_input_activation,
            "cell_output_activation": self.cell_output_activation,
            "input_gate_bias": self.input_gate_bias,
            "output_gate_bias": self.output_gate_bias,
            "init_range": self.init_range,
            "input_gate_bias_range": self.input_gate_bias_range,
            "truncate_gradient": self.truncate_gradient,
            "initial_activation": self.initial_activation,
            "trials": self.trials,
            "seed": self.seed,
        }


CELL_ARGS = (
    "blocks", "block_size", "output_gate", "recurrent", "cell_bias", "gate_bias", "cell_input_activation",
    "cell_output_activation", "input_gate_bias", "output_gate_bias", "init_range", "truncate_gradient",
    "initial_activation", "trials", "seed", "input_gate_bias_range",
)  # fmt: skip


@keras.saving.register_keras_serializable(package="lstm_hist")
class LSTM1997(keras.layers.Layer):
    """Hochreiter & Schmidhuber (1997) LSTM layer: :class:`LSTM1997Cell` run over a sequence.

    Same arguments as :class:`LSTM1997Cell`, plus ``return_sequences`` (False: the cell outputs y^c at each
    sequence's last real step; True: at every step) and ``fast_path`` (True: on JAX with the truncated gradient,
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

    def __init__(self, blocks: int, return_sequences: bool = False, fast_path: bool = True, **kwargs):
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in CELL_ARGS}
        super().__init__(**kwargs)
        self.cell = LSTM1997Cell(blocks, **cell_kwargs, name="cell")
        self.return_sequences = return_sequences
        self.fast_path = bool(fast_path)
        self.supports_masking = True

    def build(self, input_shape):
        self.cell.build(input_shape)

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def uses_fast_path(self) -> bool:
        """Whether ``call`` takes the JAX fast path (``fast_jax``): asked for, JAX backend, truncated gradient."""
        return self.fast_path and self.cell.truncate_gradient and keras.backend.backend() == "jax"

    def call(self, inputs, mask=None, training=False):
        if self.uses_fast_path():
            from . import fast_jax

            return fast_jax.call(self.cell, inputs, mask, self.return_sequences)
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
            return (*input_shape[:2], self.cell.cells)
        return (input_shape[0], self.cell.cells)

    def get_config(self):
        cell_config = self.cell.get_config()
        return {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "fast_path": self.fast_path,
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
