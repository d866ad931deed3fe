"""Numba fast path of the 1997 online learner: one per-sequence SGD update of every trial, error at the end only.

The same update as :class:`.training.steps.Stepper` with the model's JAX fast path (``fast_jax``): App. A.1's
truncated gradient of loss_scale · Σ_k (t_k − y_k)² at the sequence's last real step, applied with step α (eq.
17; plain SGD). The gradient is the closed form ``fast_jax`` documents — with the recurrent activations y^u(t−1)
constants, each weight reaches s_c(T) only through the CEC's increments, so with an error at T alone

    e_c       = ∂E/∂y^c(T) · y^out_j(T) · h'(s_c(T))                    (constant over t: the carousel)
    δnet_c(t) = e_c · y^in_j(t) · g'(net_c(t))
    δnet_in_j(t) = Σ_{c ∈ j} e_c · g(net_c(t)) · y^in_j(t)(1 − y^in_j(t))
    δnet_out_j(T) = Σ_{c ∈ j} ∂E/∂y^c(T) · h(s_c(T)) · y^out_j(T)(1 − y^out_j(T))    (T only)
    ∂E/∂w_{v,u} = Σ_t δnet_v(t) · y^u(t−1),   inputs x_u(t),   biases 1

— computed here in one compiled loop per trial instead of a sequence of XLA kernels per step, the trials spread
over the threads (each trial's loop is a serial chain of steps; the trials are independent). Why: in the long rows
(Table 3's q = 1000, 1,000-step sequences, 6 units, 20 trials) each step's work is a few hundred flops, and the
time goes to launching the step's kernels, not to arithmetic (docs/performance.md, "The numba stepper").

Supported: the Table 10 nets with output gates and full recurrence (connectivity F), any block size, biases as
the net has them, g ∈ {g1, g2}, h ∈ {h1, identity}, inputs as vectors or as symbol indices (one-hot), output units
on the cells only. :mod:`.training.numba_step` decides where it applies and holds the weights.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# float32 throughout, as the Keras model computes: a Python float literal would promote every product to float64
# (and each sigmoid to a double exp, measured 2-4x slower on 2c's update), so the constants are float32 globals.
ONE, TWO, FOUR = np.float32(1.0), np.float32(2.0), np.float32(4.0)
G2, G1 = 0, 1  # cell input squashing g: [-2, 2] (eq. 5) or the logistic
H1, H_ID = 0, 1  # cell output squashing h: [-1, 1] (eq. 4) or the identity


@njit(cache=True, inline="always")
def _sigmoid(x):
    return ONE / (ONE + np.exp(-x))


@njit(cache=True, inline="always")
def _squash_g(net, kind):
    """(g(net), g'(net))."""
    sig = _sigmoid(net)
    if kind == G2:
        return FOUR * sig - TWO, FOUR * sig * (ONE - sig)
    return sig, sig * (ONE - sig)


@njit(cache=True, inline="always")
def _squash_h(s, kind):
    """(h(s), h'(s))."""
    if kind == H1:
        sig = _sigmoid(s)
        return TWO * sig - ONE, TWO * sig * (ONE - sig)
    return s, ONE


@njit(cache=True, inline="always")  # numba-IR inlining: no reference counting of the arrays per call
def _projection(kernel, bias, codes, x, n, i, t, symbols, net):
    """net ← the inputs' and biases' part of every unit's net input at step t of trial n (its data: row i)."""
    units = kernel.shape[2]
    for u in range(units):
        net[u] = bias[n, u]
    if symbols:
        code = codes[i, t]
        if code < kernel.shape[1]:  # index `inputs` is a zero vector
            for u in range(units):
                net[u] += kernel[n, code, u]
    else:
        for k in range(x.shape[2]):
            value = x[i, t, k]
            if value != 0:
                for u in range(units):
                    net[u] += value * kernel[n, k, u]


@njit(cache=True, inline="always")  # numba-IR inlining: no reference counting of the arrays per call
def _input_gradient(kernel, codes, x, n, i, t, symbols, u, step):
    """Trial n's kernel column u at step t's inputs −= step · x(t) (an input weight's update: δnet_u(t)·x_k(t))."""
    if symbols:
        code = codes[i, t]
        if code < kernel.shape[1]:
            kernel[n, code, u] -= step
    else:
        for k in range(x.shape[2]):
            kernel[n, k, u] -= step * x[i, t, k]


@njit(cache=True, inline="always")
def _add_recurrent(r, recurrent, n, net):
    """net += trial n's recurrent weights applied to the previous step's activations r."""
    units = net.shape[0]
    for u in range(units):
        acc = np.float32(0)
        for v in range(units):
            acc += r[v] * recurrent[n, v, u]
        net[u] += acc


@njit(cache=True, inline="always")
def _output(r, out_kernel, out_bias, n, k, cells):
    """Output unit k of trial n from the cells' outputs r[:cells]: σ(Σ_c w_kc y^c + b_k)."""
    acc = out_bias[n, k]
    for c in range(cells):
        acc += r[c] * out_kernel[n, c, k]
    return _sigmoid(acc)


@njit(cache=True, parallel=True)
def sgd_update(kernel, recurrent, bias, bias_on, out_kernel, out_bias, out_bias_on, codes, x, symbols, lengths,
               targets, trial_of, active, block_size, g_kind, h_kind, initial, learning_rate, loss_scale, pred):
    """One update of every active trial on its sequence; ``pred`` (rows, out) ← the outputs before the update.

    kernel (N, in, U), recurrent (N, U, U), bias (N, U) with bias_on (U,) marking the units that have a bias
    weight; U = [cells C, input gates B, output gates B]. out_kernel (N, C, out), out_bias (N, out). The data hold
    one sequence per row, row i for trial ``trial_of[i]``: codes (rows, L) int (symbols) or x (rows, L, in) float,
    lengths (rows,) real steps (the mask is a prefix), targets (rows, out). ``active`` (N,): a frozen trial is
    neither computed nor updated (its ``pred`` row is NaN). Weight arrays are updated in place. The rows go to
    the threads whole (``prange``; NUMBA_NUM_THREADS of them, a campaign sets it to the task's cores): a trial's
    update only touches its own weights, so the trials in ``trial_of`` must be distinct, and each comes out bit for
    bit as on one thread.
    """
    units = kernel.shape[2]
    blocks = units // (block_size + 2)
    cells = blocks * block_size
    outputs = out_kernel.shape[2]
    steps = codes.shape[1] if symbols else x.shape[1]
    f32 = np.float32
    for i in prange(trial_of.shape[0]):  # the trials are independent: one thread's share each (see module)
        n = trial_of[i]
        if not active[n]:
            pred[i, :] = np.nan
            continue
        r = np.empty(units, f32)
        r_prev = np.empty(units, f32)
        net = np.empty(units, f32)
        s = np.empty(cells, f32)
        a = np.empty((steps, cells), f32)  # y^in_j(t) · g'(net_c(t)): δnet_c(t) / e_c
        b = np.empty((steps, cells), f32)  # g(net_c(t)) · y^in_j(t)(1 − y^in_j(t)): its share of δnet_in_j(t) / e_c
        trace_a = np.empty((units + 1, cells), f32)  # Σ_t a(t) · y^v(t−1), row `units`: Σ_t a(t) (the bias)
        trace_b = np.empty((units + 1, cells), f32)
        d_out = np.empty(outputs, f32)
        d_yc = np.empty(cells, f32)
        e = np.empty(cells, f32)
        length = lengths[i]
        for u in range(units):
            r[u] = initial
        s[:] = 0
        trace_a[:] = 0
        trace_b[:] = 0
        for t in range(length):
            _projection(kernel, bias, codes, x, n, i, t, symbols, net)
            _add_recurrent(r, recurrent, n, net)
            for u in range(units):
                r_prev[u] = r[u]
            for j in range(blocks):
                y_in = _sigmoid(net[cells + j])
                y_out = _sigmoid(net[cells + blocks + j])
                for c in range(j * block_size, (j + 1) * block_size):
                    g, g_slope = _squash_g(net[c], g_kind)
                    s[c] += y_in * g
                    a[t, c] = y_in * g_slope
                    b[t, c] = g * y_in * (ONE - y_in)
                    for v in range(units):
                        trace_a[v, c] += a[t, c] * r_prev[v]
                        trace_b[v, c] += b[t, c] * r_prev[v]
                    trace_a[units, c] += a[t, c]
                    trace_b[units, c] += b[t, c]
                    r[c] = y_out * _squash_h(s[c], h_kind)[0]
                r[cells + j] = y_in
                r[cells + blocks + j] = y_out
        # r = y(T), r_prev = y(T−1): the outputs read the cells of the last real step (§5's order of computation)
        for k in range(outputs):
            y = _output(r, out_kernel, out_bias, n, k, cells)
            pred[i, k] = y
            d_out[k] = TWO * loss_scale * (y - targets[i, k]) * y * (ONE - y)
        last = length - 1
        for c in range(cells):
            acc = f32(0)
            for k in range(outputs):
                acc += out_kernel[n, c, k] * d_out[k]
            d_yc[c] = acc
        for j in range(blocks):
            y_out = r[cells + blocks + j]
            d_net_out = f32(0)
            for c in range(j * block_size, (j + 1) * block_size):
                h, h_slope = _squash_h(s[c], h_kind)
                e[c] = d_yc[c] * y_out * h_slope
                d_net_out += d_yc[c] * h * y_out * (ONE - y_out)
            u = cells + blocks + j  # the output gate: its error is at T only (one-step truncation)
            step = learning_rate * d_net_out
            _input_gradient(kernel, codes, x, n, i, last, symbols, u, step)
            for v in range(units):
                recurrent[n, v, u] -= step * r_prev[v]
            if bias_on[u]:
                bias[n, u] -= step
        for k in range(outputs):
            for c in range(cells):
                out_kernel[n, c, k] -= learning_rate * r[c] * d_out[k]
            if out_bias_on:
                out_bias[n, k] -= learning_rate * d_out[k]
        for j in range(blocks):
            gate = cells + j
            for c in range(j * block_size, (j + 1) * block_size):
                for v in range(units):
                    recurrent[n, v, c] -= learning_rate * e[c] * trace_a[v, c]
                    recurrent[n, v, gate] -= learning_rate * e[c] * trace_b[v, c]
                if bias_on[c]:
                    bias[n, c] -= learning_rate * e[c] * trace_a[units, c]
                if bias_on[gate]:
                    bias[n, gate] -= learning_rate * e[c] * trace_b[units, c]
            for t in range(length):
                for c in range(j * block_size, (j + 1) * block_size):
                    _input_gradient(kernel, codes, x, n, i, t, symbols, c, learning_rate * e[c] * a[t, c])
                    _input_gradient(kernel, codes, x, n, i, t, symbols, gate, learning_rate * e[c] * b[t, c])


@njit(cache=True, parallel=True)
def forward_outputs(kernel, recurrent, bias, out_kernel, out_bias, codes, x, symbols, lengths, trial_of, block_size,
                    g_kind, h_kind, initial, pred):
    """The outputs at each sequence's last real step, no update: ``pred`` (rows, k, out) ← trial ``trial_of[i]``'s
    net on its k sequences, codes (rows, k, L) / x (rows, k, L, in), lengths (rows, k). The forward pass of
    :func:`sgd_update` (each sequence computed alone, so a batch's size never changes a sequence's outputs)."""
    units = kernel.shape[2]
    blocks = units // (block_size + 2)
    cells = blocks * block_size
    outputs = out_kernel.shape[2]
    f32 = np.float32
    for i in prange(trial_of.shape[0]):
        n = trial_of[i]
        r = np.empty(units, f32)
        net = np.empty(units, f32)
        s = np.empty(cells, f32)
        for q in range(lengths.shape[1]):
            codes_q = codes[i] if symbols else codes[0]
            x_q = x[i] if not symbols else x[0]
            for u in range(units):
                r[u] = initial
            s[:] = 0
            for t in range(lengths[i, q]):
                _projection(kernel, bias, codes_q, x_q, n, q, t, symbols, net)
                _add_recurrent(r, recurrent, n, net)
                for j in range(blocks):
                    y_in = _sigmoid(net[cells + j])
                    y_out = _sigmoid(net[cells + blocks + j])
                    for c in range(j * block_size, (j + 1) * block_size):
                        s[c] += y_in * _squash_g(net[c], g_kind)[0]
                        r[c] = y_out * _squash_h(s[c], h_kind)[0]
                    r[cells + j] = y_in
                    r[cells + blocks + j] = y_out
            for k in range(outputs):
                pred[i, q, k] = _output(r, out_kernel, out_bias, n, k, cells)


def squash_kinds(g: str, h: str) -> tuple[int, int]:
    """The kernel's codes of the cell's ``cell_input_activation`` and ``cell_output_activation``."""
    return (G2 if g == "g2" else G1), (H1 if h == "h1" else H_ID)  # as ..equations.squash_g / squash_h read them
