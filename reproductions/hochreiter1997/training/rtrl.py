"""Per-step online updates by truncated RTRL (Hochreiter & Schmidhuber 1997, App. A.1), many trials in one graph.

The paper learns online: Δw_lm(t) = −α ∂E(t)/∂w_lm (eq. 17) with E(t) = Σ_k (t_k(t) − y_k(t))² (eq. 16,
applied as ½·SSE, docs/deviations.md H1), a weight change at every time step that carries a target, so step t + 1
already runs with the changed weights. The truncated gradient (App. A.1) makes this exact and cheap: errors
reaching net_in, net_out or net_c travel no further back in time, so the only path into the past is the CEC
s_c(t) = s_c(t−1) + y^in_j(t) g(net_c(t)), and the needed derivatives are running sums ("traces") carried
forward with the state::

    u(t)            = [x(t), y^v(t−1) for every cell and gate v, 1]          (what a cell or gate sees)
    ∂s_c(t)/∂w_{c,m}    = ∂s_c(t−1)/∂w_{c,m}    + g'(net_c(t)) y^in_j(t) u_m(t)           (App. A.1)
    ∂s_c(t)/∂w_{in_j,m} = ∂s_c(t−1)/∂w_{in_j,m} + g(net_c(t)) f'_in_j(net_in_j(t)) u_m(t)  (c in block j)

    δ_k      = ∂E(t)/∂net_k = 2·loss_scale·(y_k − t_k) f'_k(net_k)           output units (eqs. 19, 22)
    e_c      = ∂E(t)/∂y^c   = Σ_k w_{k,c} δ_k
    ∂E/∂w_{k,v}       = δ_k y^v(t)                                            v: the units output k sees
    ∂E/∂w_{out_j,m}   = f'_out_j(net_out_j) Σ_{c in j} e_c h(s_c) · u_m(t)   one step back only (truncation)
    ∂E/∂s_c           = e_c y^out_j h'(s_c)
    ∂E/∂w_{c,m}       = ∂E/∂s_c · ∂s_c/∂w_{c,m}
    ∂E/∂w_{in_j,m}    = Σ_{c in j} ∂E/∂s_c · ∂s_c/∂w_{in_j,m}

Traces are (trials, cells, |u|) and reset to 0 at every sequence start, like s_c (§5: all activations reset).
The order within a step is §5's (inputs, hidden units, outputs from the same step's cells, docs/deviations.md
H6), then the update.

The network is one that :func:`..models.build_network` builds: one ``LSTM1997`` layer (any block count and size,
with or without output gate, recurrent or not, any of its biases, g1/g2, h1/identity, any ``initial_activation``)
and one logistic ``TrialDense`` output layer (with or without bias) that sees the cells, or the inputs and the
cells (Exp 2a/2b, told by the width of its kernel). :class:`NetSpec` finds the two layers by their types and
checks the structure it needs at construction. Written in ``keras.ops`` with ``keras.ops.fori_loop`` over time,
so it runs on JAX (jitted), TensorFlow (``tf.function``) and PyTorch.
"""

from __future__ import annotations

import numpy as np

from lstm_hist.errors import UserError

from ..construction import mask_layer
from ..layers import LSTM1997, TrialDense


def _sigmoid_parts(ops, net):
    y = ops.sigmoid(net)
    return y, y * (1.0 - y)


def _squash(ops, net, kind):
    """g or h of eqs. 4–5 (and Exp 2a/2b's g1 / identity) with its derivative."""
    if kind == "identity":
        return net, ops.ones_like(net)
    if kind == "g1":
        return _sigmoid_parts(ops, net)
    scale = 4.0 if kind == "g2" else 2.0  # g2: 4σ − 2 ∈ [−2, 2]; h1: 2σ − 1 ∈ [−1, 1]
    y, dy = _sigmoid_parts(ops, net)
    return scale * y - scale / 2.0, scale * dy


def find_layers(model) -> tuple[LSTM1997, TrialDense]:
    """The model's one :class:`LSTM1997` layer and its one :class:`TrialDense` output layer, found by type."""
    cells = [layer for layer in model.layers if isinstance(layer, LSTM1997)]
    outputs = [layer for layer in model.layers if isinstance(layer, TrialDense)]
    if len(cells) != 1 or len(outputs) != 1:
        raise UserError(
            "protocol.update 'per_step' needs a 1997 network (one LSTM1997 layer and one TrialDense output layer, "
            f"as reproductions.hochreiter1997 builds them; found {len(cells)} and {len(outputs)}); use "
            "update: per_sequence for this model"
        )
    return cells[0], outputs[0]


class NetSpec:
    """What the update needs to know about one 1997 network, read from a built Keras model (or from its two
    layers, when the model builder hands them over: ``layers=(lstm1997_layer, output_layer)``)."""

    def __init__(self, model, layers: tuple[LSTM1997, TrialDense] | None = None):
        lstm, out = layers if layers is not None else find_layers(model)
        cell = lstm.cell
        if not cell.truncate_gradient:
            raise UserError(
                "protocol.update 'per_step' implements the truncated gradient of App. A.1 only; set "
                "model.truncate_gradient: true or use update: per_sequence"
            )
        if cell.trials is None or out.trials is None:
            raise UserError("protocol.update 'per_step' needs a model built with trials=N")
        if getattr(out.activation, "__name__", "") != "sigmoid":
            raise UserError("protocol.update 'per_step' needs logistic output units (the 1997 nets)")
        self.cell, self.out = cell, out
        self.trials = cell.trials
        self.blocks, self.block_size = cell.blocks, cell.block_size
        self.cells, self.units = cell.cells, cell.units
        self.output_gate, self.recurrent = cell.output_gate, cell.recurrent
        self.g_kind, self.h_kind = cell.cell_input_activation, cell.cell_output_activation
        self.initial_activation = cell.initial_activation
        self.inputs = int(cell.kernel.shape[-2])
        self.outputs = out.units
        sees = int(out.kernel.shape[-2])  # what the output units see: the cells, or the inputs and the cells
        if sees not in (self.cells, self.inputs + self.cells):
            raise UserError(f"protocol.update 'per_step': the output units see {sees} values, neither the "
                            f"{self.cells} cells nor the {self.inputs} inputs and the cells")
        self.output_sees_inputs = sees == self.inputs + self.cells
        # Sequential construction (Exp 2a/2b): the per-trial 0/1 factor per block on y^c, found by its type.
        self.construction = mask_layer(model) if model is not None else None
        # u = [x, r(t−1) if recurrent, 1]: one weight matrix (N, M, units) for cells and gates, the last row the
        # biases; rows of biases the net does not have are held at 0 by `hidden_trainable`.
        self.m = self.inputs + (self.units if self.recurrent else 0) + 1
        bias_row = np.zeros(self.units, np.float32)
        bias_row[: self.cells] = cell.cell_bias_weight is not None
        bias_row[self.cells :] = cell.input_gate_bias_weight is not None
        self.hidden_trainable = np.concatenate([np.ones((self.m - 1, self.units), np.float32), bias_row[None]], 0)
        self.z = (self.inputs if self.output_sees_inputs else 0) + self.cells + 1
        out_row = np.full((1, self.outputs), float(out.bias is not None), np.float32)
        self.output_trainable = np.concatenate([np.ones((self.z - 1, self.outputs), np.float32), out_row], 0)

    def variables(self):
        """The Keras variables in the order :meth:`pack` / :meth:`unpack` use."""
        cell, out = self.cell, self.out
        found = [cell.kernel, cell.recurrent_kernel, cell.cell_bias_weight, cell.input_gate_bias_weight,
                 cell.output_gate_bias_weight, out.kernel, out.bias]  # fmt: skip
        return [v for v in found if v is not None]

    def pack(self, ops, values):
        """Keras variable values → (W (N, M, units), V (N, Z, outputs)) with the bias as the last row."""
        values = list(values)
        cell, n = self.cell, self.trials
        take = lambda present: values.pop(0) if present is not None else None  # noqa: E731
        kernel, recurrent = take(cell.kernel), take(cell.recurrent_kernel)
        cell_b, in_b, out_b = take(cell.cell_bias_weight), take(cell.input_gate_bias_weight), take(
            cell.output_gate_bias_weight)  # fmt: skip
        out_kernel, out_bias = take(self.out.kernel), take(self.out.bias)
        dtype = kernel.dtype
        parts = []
        for value, size in ((cell_b, self.cells), (in_b, self.blocks), (out_b, self.blocks if self.output_gate else 0)):
            if size:
                parts.append(value if value is not None else ops.zeros((n, size), dtype=dtype))
        bias = ops.expand_dims(ops.concatenate(parts, axis=-1), 1)
        rows = [kernel] + ([recurrent] if self.recurrent else []) + [bias]
        w = ops.concatenate(rows, axis=1)
        ob = out_bias if out_bias is not None else ops.zeros((n, self.outputs), dtype=dtype)
        v = ops.concatenate([out_kernel, ops.expand_dims(ob, 1)], axis=1)
        return w, v

    def unpack(self, w, v):
        """The inverse of :meth:`pack`, in the order of :meth:`variables`."""
        cell, c, b = self.cell, self.cells, self.blocks
        out = [w[:, : self.inputs]]
        if self.recurrent:
            out.append(w[:, self.inputs : self.inputs + self.units])
        bias = w[:, -1]
        if cell.cell_bias_weight is not None:
            out.append(bias[:, :c])
        if cell.input_gate_bias_weight is not None:
            out.append(bias[:, c : c + b])
        if cell.output_gate_bias_weight is not None:
            out.append(bias[:, c + b :])
        out.append(v[:, :-1])
        if self.out.bias is not None:
            out.append(v[:, -1])
        return out


def initial_carry(ops, spec: NetSpec, dtype="float32"):
    """s_c(0) = 0, y^v(0) = ``initial_activation`` (docs/deviations.md H4), traces 0."""
    n = spec.trials
    return (
        ops.zeros((n, spec.cells), dtype=dtype),
        ops.full((n, spec.units), spec.initial_activation, dtype=dtype),
        ops.zeros((n, spec.cells, spec.m), dtype=dtype),
        ops.zeros((n, spec.cells, spec.m), dtype=dtype),
    )


def cell_update(ops, spec: NetSpec, net, u, state, cells_on=None):
    """The cells, gates and traces of one step from the units' net input ``net`` (N, units) and the vector ``u``
    (N, M) that fed it: eqs. for s_c, y^c, y^in, y^out and App. A.1's trace increments.

    Returns (s, r, y_c, trace_c, trace_in, (h, dh, y_out, dy_out)); y_c is masked by ``cells_on`` (sequential
    construction), r is not (only non-recurrent nets are built with a construction mask).
    """
    s, _, trace_c, trace_in = state
    size, c, b = spec.block_size, spec.cells, spec.blocks
    g, dg = _squash(ops, net[:, :c], spec.g_kind)
    y_in, dy_in = _sigmoid_parts(ops, net[:, c : c + b])
    y_in_c, dy_in_c = ops.repeat(y_in, size, axis=-1), ops.repeat(dy_in, size, axis=-1)
    s = s + y_in_c * g
    trace_c = trace_c + ops.expand_dims(y_in_c * dg, -1) * ops.expand_dims(u, 1)
    trace_in = trace_in + ops.expand_dims(g * dy_in_c, -1) * ops.expand_dims(u, 1)
    h, dh = _squash(ops, s, spec.h_kind)
    if spec.output_gate:
        y_out, dy_out = _sigmoid_parts(ops, net[:, c + b :])
        y_c = ops.repeat(y_out, size, axis=-1) * h
        r = ops.concatenate([y_c, y_in, y_out], axis=-1)
    else:
        y_out = dy_out = None
        y_c = h
        r = ops.concatenate([y_c, y_in], axis=-1)
    if cells_on is not None:
        y_c = y_c * cells_on
    return s, r, y_c, trace_c, trace_in, (h, dh, y_out, dy_out)


def forward_step(ops, spec: NetSpec, w, v, x_t, state, cells_on=None):
    """One step of the net with its traces (App. A.1). Returns (output y^k (N, K), new state, locals).

    state = (s (N, C), r (N, units): y of cells and gates at t−1, trace_c (N, C, M), trace_in (N, C, M)).
    cells_on (N, C): 1 for cells present, 0 for cells not yet added (sequential construction; None: all present).
    """
    r = state[1]
    ones = ops.ones((spec.trials, 1), dtype=x_t.dtype)
    u = ops.concatenate([x_t, r, ones] if spec.recurrent else [x_t, ones], axis=-1)  # (N, M)
    net = ops.squeeze(ops.matmul(ops.expand_dims(u, 1), w), 1)  # (N, units)
    s, r, y_c, trace_c, trace_in, (h, dh, y_out, dy_out) = cell_update(ops, spec, net, u, state, cells_on)
    z = ops.concatenate([x_t, y_c, ones] if spec.output_sees_inputs else [y_c, ones], axis=-1)  # (N, Z)
    y = ops.sigmoid(ops.squeeze(ops.matmul(ops.expand_dims(z, 1), v), 1))
    return y, (s, r, trace_c, trace_in), (u, z, h, dh, y_out, dy_out)


def step_gradients(ops, spec: NetSpec, v, y, target, on, state, local, loss_scale, cells_on=None):
    """∂E(t)/∂W and ∂E(t)/∂V of one step's error (zero rows where ``on`` (N,) is 0), truncated (App. A.1)."""
    _, _, trace_c, trace_in = state
    u, z, h, dh, y_out, dy_out = local
    n, size, c, b = spec.trials, spec.block_size, spec.cells, spec.blocks
    delta = (2.0 * loss_scale) * (y - target) * y * (1.0 - y) * ops.expand_dims(on, -1)  # (N, K)
    grad_v = ops.expand_dims(z, -1) * ops.expand_dims(delta, 1)  # (N, Z, K)
    cell_rows = v[:, -1 - c : -1]  # (N, C, K): weights from the cells to the outputs
    e_c = ops.squeeze(ops.matmul(cell_rows, ops.expand_dims(delta, -1)), -1)  # (N, C)
    if cells_on is not None:  # ∂E/∂y^c through y^c = a_c · (…): a cell not yet added gets no error
        e_c = e_c * cells_on
    d_s = e_c * dh * (ops.repeat(y_out, size, axis=-1) if spec.output_gate else 1.0)
    grad_cells = ops.expand_dims(d_s, -1) * trace_c  # (N, C, M)
    grad_in = ops.sum(ops.reshape(ops.expand_dims(d_s, -1) * trace_in, (n, b, size, spec.m)), axis=2)  # (N, B, M)
    columns = [grad_cells, grad_in]
    if spec.output_gate:
        d_out = ops.sum(ops.reshape(e_c * h, (n, b, size)), axis=-1) * dy_out  # (N, B)
        columns.append(ops.expand_dims(d_out, -1) * ops.expand_dims(u, 1))
    grad_w = ops.transpose(ops.concatenate(columns, axis=1), (0, 2, 1))  # (N, M, units)
    return grad_w, grad_v


def train_sequence(ops, spec: NetSpec, w, v, x, mask, y, on, learning_rate, loss_scale, accumulate=False,
                   cells_on=None):
    """One sequence per trial with a weight update after every step that carries a target.

    x (N, L, in), mask (N, L) float (1 on real steps), y (N, L, K) the targets, on (N, L) float: 1 where step t
    carries a target for an active trial. Returns (W, V, outputs (N, L, K) each computed before its step's
    update, and with ``accumulate`` the sum of the per-step gradients (at learning_rate 0 that is the truncated
    gradient of the summed error, the per-sequence update's gradient)).
    """
    length = x.shape[1]
    w_mask = ops.convert_to_tensor(spec.hidden_trainable, dtype=w.dtype)
    v_mask = ops.convert_to_tensor(spec.output_trainable, dtype=v.dtype)
    outputs = ops.zeros((spec.trials, length, spec.outputs), dtype=v.dtype)
    sums = (ops.zeros_like(w), ops.zeros_like(v)) if accumulate else ()

    def body(t, carry):
        w, v, state, outputs, sums = carry
        x_t, keep = x[:, t], ops.expand_dims(mask[:, t], -1)
        out, new, local = forward_step(ops, spec, w, v, x_t, state, cells_on)
        grad_w, grad_v = step_gradients(ops, spec, v, out, y[:, t], on[:, t], new, local, loss_scale, cells_on)
        grad_w, grad_v = grad_w * w_mask, grad_v * v_mask
        # Padded steps (after a sequence's end) keep the state, as the Keras layer's mask does.
        state = tuple(
            ops.where(ops.reshape(keep, (-1,) + (1,) * (len(a.shape) - 1)) > 0, a, old) for a, old in zip(new, state)
        )
        outputs = ops.slice_update(outputs, (0, t, 0), ops.expand_dims(out, 1))
        if accumulate:
            sums = (sums[0] + grad_w, sums[1] + grad_v)
        return w - learning_rate * grad_w, v - learning_rate * grad_v, state, outputs, sums

    carry = (w, v, initial_carry(ops, spec, w.dtype), outputs, sums)
    w, v, _, outputs, sums = ops.fori_loop(0, length, body, carry)
    return (w, v, outputs, sums) if accumulate else (w, v, outputs)


def target_steps(ops, mask, every_step: bool):
    """(N, L) float: the steps that carry a target: next-symbol steps t = 0 … length − 2 (every-step tasks,
    ``criteria.step_targets``) or only the last real step (end-of-sequence targets)."""
    mask = ops.cast(mask, "float32")
    following = ops.concatenate([mask[:, 1:], ops.zeros_like(mask[:, :1])], axis=1)
    return following if every_step else mask - following


def end_targets_per_step(ops, y, length):
    """End-of-sequence targets (N, K) spread over the steps (N, L, K); only the last real step's are used."""
    return ops.repeat(ops.expand_dims(y, 1), length, axis=1)


class RTRLStepper:
    """Same contract as ``steps.Stepper``: ``stepper(x, mask, y, active) -> outputs``, weights updated in place.

    Plain SGD with α = ``learning_rate``; a frozen trial (``active`` False) gets no update. The returned outputs
    are the ones the online criteria judge: every step's (every_step) or the last real step's (end targets),
    each computed with the weights current at that step, before that step's update.
    """

    name = "rtrl"  # the record's ``updates_computed_by``

    def __init__(self, model, learning_rate: float, loss_scale: float, every_step: bool = False):
        import keras

        self.model = model
        self.spec = NetSpec(model)
        self.learning_rate = float(learning_rate)
        self.loss_scale = float(loss_scale)
        self.every_step = bool(every_step)
        self.backend = keras.backend.backend()
        self._variables = self.spec.variables()
        if len(self._variables) != len(model.trainable_variables):
            raise UserError("protocol.update 'per_step' found trainable weights outside the 1997 cell and outputs")
        self.run_fn = None
        self._fn = self._compile()
        self.pull()

    def _compile(self):
        from keras import ops

        spec, lr, loss_scale, every_step = self.spec, self.learning_rate, self.loss_scale, self.every_step

        def run(w, v, x, mask, y, active, cells_on):
            on = target_steps(ops, mask, every_step) * ops.expand_dims(active, -1)
            targets = y if every_step else end_targets_per_step(ops, y, x.shape[1])
            if len(x.shape) == 2:  # symbol indices (JAX fast path, ..symbols): gathers and scatters, same numbers
                from .rtrl_symbols import train_sequence_symbols

                w, v, outputs = train_sequence_symbols(spec, w, v, x, ops.cast(mask, w.dtype), targets, on, lr,
                                                       loss_scale, cells_on=cells_on)
            else:
                w, v, outputs = train_sequence(ops, spec, w, v, x, ops.cast(mask, w.dtype), targets, on, lr,
                                               loss_scale, cells_on=cells_on)
            if not every_step:  # the output at each sequence's last real step, as the model returns it
                last = ops.expand_dims(target_steps(ops, mask, False), -1)
                outputs = ops.sum(outputs * last, axis=1)
            return w, v, outputs

        if self.backend == "jax":
            import jax

            # No buffer donation: a SIGTERM between the call and the assignment below would leave the stepper
            # holding deleted arrays, and the interrupted run could not write its checkpoint and record.
            self.run_fn = run  # unjitted, for the compacted tail of a run (.compact)
            return jax.jit(run)
        if self.backend == "tensorflow":
            import tensorflow as tf

            return tf.function(run, reduce_retracing=True)
        return run

    def pull(self):
        """Read the model's weights into the stepper (after building or restoring)."""
        from keras import ops

        self._w, self._v = self.spec.pack(ops, [ops.convert_to_tensor(v.value) for v in self._variables])
        layer = self.spec.construction  # the cells present per trial (all of them without construction)
        on = np.ones((self.spec.trials, self.spec.cells), np.float32) if layer is None else np.repeat(
            np.asarray(ops.convert_to_numpy(layer.active), np.float32), self.spec.block_size, axis=-1)
        self._cells_on = ops.convert_to_tensor(on)

    @property
    def state(self) -> list[list]:
        """What one update reads and writes: ``[[packed w, packed v], [cells present per trial]]``."""
        return [[self._w, self._v], [self._cells_on]]

    @state.setter
    def state(self, value) -> None:
        (self._w, self._v), (self._cells_on,) = value

    def push(self):
        """Write the stepper's weights back into the Keras variables (before saving or evaluating)."""
        for var, value in zip(self._variables, self.spec.unpack(self._w, self._v)):
            var.assign(value)

    def __call__(self, x, mask, y, active) -> np.ndarray:
        from keras import ops

        symbols = np.issubdtype(np.asarray(x).dtype, np.integer)  # indices (..symbols): JAX only
        x, y = ops.convert_to_tensor(x, "int32" if symbols else "float32"), ops.convert_to_tensor(y, "float32")
        mask, active = ops.convert_to_tensor(mask, "float32"), ops.convert_to_tensor(np.asarray(active, np.float32))
        self._w, self._v, outputs = self._fn(self._w, self._v, x, mask, y, active, self._cells_on)
        return ops.convert_to_numpy(outputs)
