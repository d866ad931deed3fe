"""Truncated RTRL (:mod:`.rtrl`, App. A.1) for nets fed symbol indices (Exps 2a/2b on the JAX fast path, issue 13).

The same update as :func:`.rtrl.train_sequence`, with x(t) the one-hot vector of one symbol k(t). Three of its
products then touch one row only, so they become a gather or a scatter-add instead of a sweep over all inputs:

    net(t)             = W[k(t)] + Σ_{m ∉ inputs} u_m(t) W[m]          (the input rows of u are 0 but one)
    y^k(t)             = f(V[k(t)] + Σ_v z_v(t) V[v])                   (connectivity "B": outputs see the inputs)
    ∂E(t)/∂V[x-rows]   = δ(t) on row k(t) only                            (the input-weight gradient of the outputs)

Exp 2a's output layer (101 inputs + 1 cell → 101 outputs, 18 trials) is where the dense step spends its time:
~10⁴ weights per trial swept three times per step for one non-zero input row. The cell's traces ∂s_c/∂w stay
dense (cells × |u|: 102 numbers per trial in 2a). JAX only (the indices exist on the JAX fast path only).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from keras import ops

from .rtrl import cell_update, initial_carry


def _rows(a, codes, present):
    """a[b, codes[b]] per trial b (N, …), zero where ``present`` is False (a padded step's index)."""
    picked = jnp.take_along_axis(a, jnp.minimum(codes, a.shape[1] - 1)[:, None, None], axis=1)[:, 0]
    return picked * present[:, None]


def _matvec(u, m):
    return jnp.einsum("nm,nmk->nk", u, m)


def _step(spec, w, v_x, v_rest, code, state, cells_on):
    """One step (``rtrl.forward_step``) with x(t) given as its symbol: (y^k, new state, locals)."""
    r = state[1]
    n, n_in = spec.trials, spec.inputs
    present = (code < n_in).astype(w.dtype)
    ones = jnp.ones((n, 1), w.dtype)
    u_rest = jnp.concatenate([r, ones] if spec.recurrent else [ones], axis=-1)
    net = _rows(w, code, present) + _matvec(u_rest, w[:, n_in:])
    u = jnp.concatenate([jax.nn.one_hot(code, n_in, dtype=w.dtype), u_rest], axis=-1)  # (N, M): small
    s, r, y_c, trace_c, trace_in, (h, dh, y_out, dy_out) = cell_update(ops, spec, net, u, state, cells_on)
    z_rest = jnp.concatenate([y_c, ones], axis=-1)  # (N, C + 1)
    net_k = _matvec(z_rest, v_rest) + (_rows(v_x, code, present) if spec.output_sees_inputs else 0.0)
    return jax.nn.sigmoid(net_k), (s, r, trace_c, trace_in), (u, z_rest, h, dh, y_out, dy_out, present)


def _gradients(spec, v_rest, y, target, on, state, local, loss_scale, cells_on):
    """``rtrl.step_gradients`` split: (∂E/∂W (N, M, units), ∂E/∂V of the non-input rows, δ for the input row)."""
    _, _, trace_c, trace_in = state
    u, z_rest, h, dh, y_out, dy_out, present = local
    n, size, c, b = spec.trials, spec.block_size, spec.cells, spec.blocks
    delta = (2.0 * loss_scale) * (y - target) * y * (1.0 - y) * on[:, None]  # (N, K)
    grad_v_rest = z_rest[..., None] * delta[:, None]  # (N, C + 1, K)
    e_c = _matvec(delta, jnp.swapaxes(v_rest[:, :c], 1, 2))  # (N, C)
    if cells_on is not None:
        e_c = e_c * cells_on
    d_s = e_c * dh * (jnp.repeat(y_out, size, axis=-1) if spec.output_gate else 1.0)
    grad_cells = d_s[..., None] * trace_c
    grad_in = jnp.sum(jnp.reshape(d_s[..., None] * trace_in, (n, b, size, spec.m)), axis=2)
    columns = [grad_cells, grad_in]
    if spec.output_gate:
        d_out = jnp.sum(jnp.reshape(e_c * h, (n, b, size)), axis=-1) * dy_out
        columns.append(d_out[..., None] * u[:, None])
    grad_w = jnp.transpose(jnp.concatenate(columns, axis=1), (0, 2, 1))
    return grad_w, grad_v_rest, delta * present[:, None]


def train_sequence_symbols(spec, w, v, codes, mask, y, on, learning_rate, loss_scale, cells_on=None):
    """:func:`.rtrl.train_sequence` (without ``accumulate``) for x given as symbol indices ``codes`` (N, L) int;
    index ``spec.inputs`` is a zero input (a padded step). Returns (W, V, outputs (N, L, K))."""
    n_in, length = spec.inputs, codes.shape[1]
    x_rows = n_in if spec.output_sees_inputs else 0
    w_mask = jnp.asarray(spec.hidden_trainable, w.dtype)
    v_mask = jnp.asarray(spec.output_trainable[x_rows:], v.dtype)  # the input rows of V are all trainable
    trial = jnp.arange(spec.trials)

    def body(t, carry):
        w, v_x, v_rest, state, outputs = carry
        out, new, local = _step(spec, w, v_x, v_rest, codes[:, t], state, cells_on)
        grad_w, grad_v_rest, delta_x = _gradients(spec, v_rest, out, y[:, t], on[:, t], new, local, loss_scale,
                                                  cells_on)
        keep = mask[:, t] > 0
        state = tuple(jnp.where(keep.reshape((-1,) + (1,) * (a.ndim - 1)), a, old) for a, old in zip(new, state))
        outputs = outputs.at[:, t].set(out)
        if x_rows:  # one row per trial: the symbol's (a padded step's δ is 0, so row n_in − 1 gets nothing)
            v_x = v_x.at[trial, jnp.minimum(codes[:, t], n_in - 1)].add(-learning_rate * delta_x)
        return w - learning_rate * (grad_w * w_mask), v_x, v_rest - learning_rate * (grad_v_rest * v_mask), state, \
            outputs

    outputs = jnp.zeros((spec.trials, length, spec.outputs), v.dtype)
    carry = (w, v[:, :x_rows], v[:, x_rows:], initial_carry(ops, spec, w.dtype), outputs)
    w, v_x, v_rest, _, outputs = jax.lax.fori_loop(0, length, body, carry)
    return w, jnp.concatenate([v_x, v_rest], axis=1), outputs
