"""JAX fast path of :class:`~reproductions.hochreiter1997.layers.LSTM1997`: the truncated gradient without a
backward pass through time (App. A.1), beside the generic ``keras.ops`` loop the way Keras keeps cuDNN beside
its generic RNN loop.

Why it is exact. With the paper's truncation (App. A.1) the recurrent activations y^u(t−1) enter every net
input as constants, so each weight acts on s_c(T) only through the increments s_c(t) − s_c(t−1) =
y^in_j(t)·g(net_c(t)) of the CEC, whose self-weight is 1. Hence, for a loss E on the cell outputs,

    ∂E/∂s_c(t) = Σ_{t' ≥ t} ∂E/∂y^c(t') · y^out_j(t') · h'(s_c(t'))          (the constant error carousel)
    δnet_c(t)   = ∂E/∂s_c(t) · y^in_j(t) · g'(net_c(t))
    δnet_in_j(t) = Σ_{c ∈ j} ∂E/∂s_c(t) · g(net_c(t)) · y^in_j(t)(1 − y^in_j(t))
    δnet_out_j(t) = Σ_{c ∈ j} ∂E/∂y^c(t) · h(s_c(t)) · y^out_j(t)(1 − y^out_j(t))
    ∂E/∂w_{v,u} = Σ_t δnet_v(t) · y^u(t−1)     (inputs: x_u(t))

which is App. A.1's forward traces ∂s_c/∂w summed in closed form: the sum over t' is one reverse cumulative
sum and the sums over t are matmuls over all steps, so only the forward recurrence is sequential. The forward
scan carries one packed array [s, r] and is unrolled. With a mask, a padded step keeps the state, so its
output's error goes to the last real step (``idx`` below), exactly as the generic loop's ``where`` does.

Only the truncated gradient is computed this way; ``truncate_gradient=False`` uses the generic loop.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

MULSUM = True  # recurrent product as multiply-and-sum inside the scan (measured, docs/performance.md)
TRIANGLE = 256  # up to this many steps the reverse cumulative sum is one matmul with a triangular matrix
UNROLL = 8  # scan unrolling: 1, 4, 8, 16 and full measured within noise of each other (docs/performance.md)


def _sigmoid(x):
    return jax.nn.sigmoid(x)


def _g_and_slope(net, kind):
    sig = _sigmoid(net)
    if kind == "g2":
        return 4.0 * sig - 2.0, 4.0 * sig * (1.0 - sig)
    return sig, sig * (1.0 - sig)


def _h_and_slope(s, kind):
    if kind == "h1":
        sig = _sigmoid(s)
        return 2.0 * sig - 1.0, 2.0 * sig * (1.0 - sig)
    return s, jnp.ones_like(s)


def _spec_sizes(spec):
    blocks, size, output_gate = spec[0], spec[1], spec[2]
    cells = blocks * size
    return cells, blocks, cells + blocks * (2 if output_gate else 1)


def _scan_states(proj, rkernel, mask, spec):
    """The forward recurrence. proj (L, N, k, U), mask (L, N, k, 1) → packed [s, r] of every step (L, N, k, C+U)."""
    blocks, size, output_gate, _, g_kind, h_kind, initial = spec
    cells, _, units = _spec_sizes(spec)
    n, k = proj.shape[1], proj.shape[2]
    carry0 = jnp.concatenate([jnp.zeros((n, k, cells), proj.dtype), jnp.full((n, k, units), initial, proj.dtype)], -1)

    def step(carry, xs):
        proj_t, keep = xs
        s, r = carry[..., :cells], carry[..., cells:]
        if rkernel is None:
            net = proj_t
        elif MULSUM:  # one loop fusion with the elementwise work instead of a separate small dot
            net = proj_t + jnp.sum(r[..., :, None] * rkernel[:, None], axis=-2)
        else:
            net = proj_t + jnp.einsum("nku,nuv->nkv", r, rkernel)
        y_in = _sigmoid(net[..., cells : cells + blocks])
        s = s + jnp.repeat(y_in, size, axis=-1) * _g_and_slope(net[..., :cells], g_kind)[0]
        h = _h_and_slope(s, h_kind)[0]
        if output_gate:
            y_out = _sigmoid(net[..., cells + blocks :])
            new = jnp.concatenate([s, jnp.repeat(y_out, size, axis=-1) * h, y_in, y_out], -1)
        else:
            new = jnp.concatenate([s, h, y_in], -1)
        new = jnp.where(keep, new, carry)
        return new, new

    _, states = jax.lax.scan(step, carry0, (proj, mask), unroll=UNROLL)
    return states


def _forward(kernel, rkernel, bias, x, mask, spec):
    """x (N, k, L, in), mask (N, k, L) float → y^c (N, k, L, C) and the residuals of the closed-form gradient."""
    cells, _, units = _spec_sizes(spec)
    if _is_symbols(x):  # indices (N, k, L): row x of the kernel is the projection of the one-hot vector x
        proj = jax.vmap(lambda w, codes: jnp.take(w, codes, axis=0, mode="fill", fill_value=0))(kernel, x)
    else:
        n, k, steps, n_in = x.shape
        # A plain batched matmul: XLA CPU runs it several times faster than an einsum with a transposed output
        # (2c's 1004 inputs: 34 against 305 ms, docs/performance.md).
        proj = jnp.matmul(jnp.reshape(x, (n, k * steps, n_in)), kernel).reshape(n, k, steps, units)
    proj = proj + bias[:, None, None, :]
    states = _scan_states(jnp.transpose(proj, (2, 0, 1, 3)), rkernel, jnp.transpose(mask, (2, 0, 1))[..., None] > 0,
                          spec)
    states = jnp.transpose(states, (1, 2, 0, 3))  # (N, k, L, C+U)
    return states[..., cells : 2 * cells], (proj, states)


def _is_symbols(x):
    return jnp.issubdtype(x.dtype, jnp.integer)


@partial(jax.custom_vjp, nondiff_argnums=(5,))
def lstm1997_sequence(kernel, rkernel, bias, x, mask, spec):
    """y^c at every step (N, k, L, C); padded steps repeat the last real step's output.

    kernel (N, in, U); rkernel (N, U, U) or None; bias (N, U) (zeros for a net without biases); x (N, k, L, in),
    or (N, k, L) integer symbol indices standing for one-hot vectors (index ``in``: zeros; ``.symbols``);
    mask (N, k, L) float; spec = (blocks, block_size, output_gate, recurrent, g kind, h kind, initial activation).
    """
    return _forward(kernel, rkernel, bias, x, mask, spec)[0]


def _fwd(kernel, rkernel, bias, x, mask, spec):
    out, (proj, states) = _forward(kernel, rkernel, bias, x, mask, spec)
    return out, (kernel, rkernel, proj, x, mask, states)


def _last_real_step(mask):
    """idx[t] = the last real step ≤ t (−1 before the first): where a padded step's frozen state came from."""
    steps = jnp.arange(mask.shape[-1])
    return jax.lax.cummax(jnp.where(mask > 0, steps, -1), axis=mask.ndim - 1)


def _to_last_real_step(delta, mask):
    """Moves the error of padded steps (a frozen copy of the last real step) onto that real step."""
    idx = _last_real_step(mask)
    pad = (mask <= 0)[..., None]
    n_i, k_i = jnp.meshgrid(jnp.arange(idx.shape[0]), jnp.arange(idx.shape[1]), indexing="ij")
    target = jnp.where(idx < 0, idx.shape[-1], idx)  # before any real step: the fixed initial state, dropped
    moved = jnp.zeros_like(delta).at[n_i[..., None], k_i[..., None], target].add(jnp.where(pad, delta, 0.0),
                                                                               mode="drop")
    return jnp.where(pad, 0.0, delta) + moved


def _reverse_cumsum(a):
    """Σ_{t' ≥ t} a[..., t', :] over axis −2."""
    steps = a.shape[-2]
    if steps <= TRIANGLE:
        upper = jnp.triu(jnp.ones((steps, steps), a.dtype))  # upper[t, t'] = 1 for t' ≥ t
        return jnp.einsum("st,...tc->...sc", upper, a)
    return jax.lax.cumsum(a, axis=a.ndim - 2, reverse=True)


def _bwd(spec, residuals, grad_out):
    kernel, rkernel, proj, x, mask, states = residuals
    blocks, size, output_gate, _, g_kind, h_kind, initial = spec
    cells, _, _ = _spec_sizes(spec)
    s, r = states[..., :cells], states[..., cells:]
    r_prev = jnp.concatenate([jnp.full_like(r[..., :1, :], initial), r[..., :-1, :]], axis=-2)
    net_c = proj[..., :cells]  # inputs and biases, stored by the forward pass
    if rkernel is not None:
        net_c = net_c + jnp.einsum("nklu,nuc->nklc", r_prev, rkernel[..., :cells])
    y_in = r[..., cells : cells + blocks]
    h, h_slope = _h_and_slope(s, h_kind)
    g, g_slope = _g_and_slope(net_c, g_kind)
    block_sum = lambda a: a.reshape(*a.shape[:-1], blocks, size).sum(-1)  # noqa: E731
    rep = lambda a: jnp.repeat(a, size, axis=-1)  # noqa: E731
    real = (mask > 0)[..., None]
    if output_gate:
        y_out = r[..., cells + blocks :]
        ds_direct = grad_out * rep(y_out) * h_slope
        dnet_out = [_to_last_real_step(block_sum(grad_out * h) * y_out * (1.0 - y_out), mask)]
    else:
        ds_direct, dnet_out = grad_out * h_slope, []
    ds = _reverse_cumsum(ds_direct)  # Σ_{t' ≥ t}: the CEC's constant error
    ds = jnp.where(real, ds, 0.0)  # a padded step adds nothing to s_c
    dnet = jnp.concatenate([ds * rep(y_in) * g_slope, block_sum(ds * g) * y_in * (1.0 - y_in), *dnet_out], -1)
    # Dots, not multiply-and-sum loops: the loops measured 1.4x slower (T=100, docs/performance.md).
    d_rkernel = None if rkernel is None else jnp.einsum("nklu,nklv->nuv", r_prev, dnet)
    d_bias = dnet.sum(axis=(1, 2))
    if _is_symbols(x):  # Σ_t δnet(t) x(t) for one-hot x: each step's error added onto its symbol's row
        rows = lambda codes, d: jnp.zeros(kernel.shape[1:], d.dtype).at[codes].add(d, mode="drop")  # noqa: E731
        d_kernel = jax.vmap(rows)(x.reshape(x.shape[0], -1), dnet.reshape(x.shape[0], -1, dnet.shape[-1]))
        return d_kernel, d_rkernel, d_bias, None, jnp.zeros_like(mask)  # indices have no gradient
    d_kernel = jnp.swapaxes(jnp.einsum("nklu,nkli->nui", dnet, x), 1, 2)  # faster than "…->niu" (2c)
    d_x = jnp.einsum("nklu,niu->nkli", dnet, kernel)
    return d_kernel, d_rkernel, d_bias, d_x, jnp.zeros_like(mask)


lstm1997_sequence.defvjp(_fwd, _bwd)


def call(cell, inputs, mask, return_sequences):
    """The layer's output from the fast path: ``inputs`` (B, L, in), ``mask`` (B, L) or None, rows trial-major."""
    trials = cell.trials or 1
    lead = (lambda w: w) if cell.trials else (lambda w: w[None])
    batch, steps = inputs.shape[0], inputs.shape[1]
    x = jnp.reshape(inputs, (trials, batch // trials, *inputs.shape[1:]))  # symbol indices: no feature axis
    dtype = cell.kernel.value.dtype
    m = jnp.ones((trials, batch // trials, steps), dtype) if mask is None else jnp.reshape(
        mask, (trials, batch // trials, steps)).astype(dtype)
    bias = cell.unit_bias()
    out = lstm1997_sequence(
        lead(jnp.asarray(cell.kernel.value)),
        None if cell.recurrent_kernel is None else lead(jnp.asarray(cell.recurrent_kernel.value)),
        jnp.zeros((trials, cell.units), dtype) if bias is None else lead(bias),
        x,
        m,
        (cell.blocks, cell.block_size, cell.output_gate, cell.recurrent, cell.cell_input_activation,
         cell.cell_output_activation, cell.initial_activation),
    )
    out = jnp.reshape(out, (batch, steps, cell.cells))
    return out if return_sequences else out[:, -1]
