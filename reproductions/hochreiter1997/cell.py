"""The 1997 LSTM memory cell (Hochreiter & Schmidhuber 1997, §4, App. A.1, eqs. 3–9): no forget gate.

:class:`LSTM1997Cell` computes one time step. It works with ``keras.layers.RNN`` like any Keras cell;
:class:`~.layers.LSTM1997` runs it over a sequence (use that one in models).

Both accept ``trials=N``: every weight then has a leading axis of size N and batch row b is computed with
trial b's weights (rows are trial-major when the batch holds several sequences per trial: rows
``[b*k, (b+1)*k)`` belong to trial b). That is how the paper's independent trials train in one graph.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops

from .equations import CELL_INPUT_ACTIVATIONS, CELL_OUTPUT_ACTIVATIONS, squash_g, squash_h, trial_matmul
from .initialisers import PerTrialConstant


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
                    else PerTrialConstant(self.input_gate_bias))  # fmt: skip
            self.input_gate_bias_weight = self.add_weight(
                name="input_gate_bias", shape=self._shape(self.blocks), initializer=init
            )
            if self.output_gate:
                init = (
                    self._uniform(4) if self.output_gate_bias is None else PerTrialConstant(self.output_gate_bias)
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
        s = s + ops.repeat(y_in, self.block_size, axis=-1) * squash_g(net_c, self.cell_input_activation)
        h = squash_h(s, self.cell_output_activation)
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
