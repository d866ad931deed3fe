"""One jitted training step for K members (learning-rate candidates and/or seeds) of a Chung et al. (2014) row,
with a leading axis of size K on every weight and optimizer slot (JAX backend only; issue 13 item 2).

A member's step is, in order (Chung et al. §4 and the authors' released setup, ``protocol.py``):

1. weight noise (Graves 2011; §4, σ = 0.075) drawn *inside* the step from a JAX key folded with the member's noise
   key, the epoch and the step: ``ε_i ~ N(0, σ²)`` on the protocol's noisy variables (``noisy`` mask);
2. loss and gradient of the model at the noisy weights ``θ + ε`` — the Keras model's own ``stateless_call`` and
   loss object, so the equations are the model's (``fast_rnn.FastRecurrent`` or the generic ``keras.layers.RNN``);
3. where ``protocol.clipnorm`` is set (§4's text; not the authors' files), the gradient rescaled as Keras's
   ``clipnorm`` (each tensor's norm) or ``global_clipnorm`` (the member's whole gradient) would rescale it;
4. the authors' RMSProp with momentum (``optimizer.RMSPropMomentum``, same equations in the same order) applied to
   the clean weights θ, with the member's own learning rate (the linear decay is computed per epoch by the caller)
   and the step norm clipped over *that member's* parameters only.

``jax.vmap`` over the members makes every quantity per member, so member k's numbers do not depend on the others
(``tests/test_chung_candidates.py`` checks it against K = 1). A member that has stopped (early stopping, divergence)
keeps its weights (``active`` false). The batch is either shared by all members (the learning-rate search: every
candidate of a seed sees the same pieces in the same order, as in ``search_learning_rate``) or one per member
(several seeds), padded to a common length; padded steps weigh 0 and the units are causal, so padding changes
nothing but the time.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class StepHyper:
    """The optimizer and noise constants shared by all members (``ChungProtocol`` fields)."""

    momentum: float
    averaging: float
    stabilizer: float
    clip: float | None
    noise_std: float
    grad_clip: float | None = None  # protocol.clipnorm: Keras's clipnorm / global_clipnorm, before the update
    grad_clip_global: bool = False  # protocol.clipnorm_scope == "global"


def rmsprop_momentum(params, grads, mean_squares, velocities, rate, hyper: StepHyper):
    """One member's update: ``optimizer.RMSPropMomentum._backend_update_step``'s equations on lists of arrays.

    Returns ``(params, mean_squares, velocities)``; the velocities are stored unclipped (``bound_inc=False``).
    """
    import jax.numpy as jnp

    if hyper.grad_clip is not None:
        grads = clip_by_norm(grads, hyper.grad_clip, hyper.grad_clip_global)
    new_ms, new_v = [], []
    for g, m, v in zip(grads, mean_squares, velocities):
        m = hyper.averaging * m + (1.0 - hyper.averaging) * jnp.square(g)
        rms = jnp.maximum(jnp.sqrt(m), hyper.stabilizer)
        new_ms.append(m)
        new_v.append(hyper.momentum * v - rate * g / rms)
    steps = new_v if hyper.clip is None else clip_by_norm(new_v, hyper.clip, global_norm=True)
    return [p + s for p, s in zip(params, steps)], new_ms, new_v


def clip_by_norm(tensors, clip: float, global_norm: bool):
    """Each tensor rescaled to norm ≤ clip (Keras's ``clipnorm``), or all together to a joint norm ≤ clip
    (``global_clipnorm``; also the authors' step clip, ``momentum_clipping``)."""
    import jax.numpy as jnp

    def scale(norm):
        return clip / jnp.maximum(norm, clip)

    if global_norm:
        factor = scale(jnp.sqrt(sum(jnp.sum(jnp.square(t)) for t in tensors)))
        return [t * factor.astype(t.dtype) for t in tensors]
    return [t * scale(jnp.sqrt(jnp.sum(jnp.square(t)))).astype(t.dtype) for t in tensors]


def _draw_noise(shapes, key, noisy, std, dtype):
    """ε per noisy variable (None elsewhere): N(0, std²) from ``fold_in(key, variable index)``."""
    import jax

    if std <= 0:
        return [None] * len(shapes)
    return [std * jax.random.normal(jax.random.fold_in(key, i), shape, dtype) if flag else None
            for i, (shape, flag) in enumerate(zip(shapes, noisy))]


def _fold(key, epoch, step):
    import jax

    return jax.random.fold_in(jax.random.fold_in(key, epoch), step)


def build_train_step(model, loss, noisy: tuple[bool, ...], hyper: StepHyper, shared_batch: bool,
                     shared_noise: bool = False):
    """``step(params, ms, vel, rates, keys, active, epoch, step, x, y, w) -> (params, ms, vel, losses)``, jitted.

    params, ms, vel: lists of (K, ...) arrays in ``model.trainable_variables`` order; rates (K,) float32;
    keys (K, 2) uint32 (``jax.random.PRNGKey`` of each member's noise seed); active (K,) bool; epoch, step: int32
    scalars (0-based); x, y, w: one batch, shared (``shared_batch``) or with a leading K axis. losses: (K,), the
    loss of each member's batch at its noisy weights (what Keras's ``fit`` logs as ``loss``).
    shared_noise: all members have the same noise key (one seed): the noise is drawn once, not K times — the same
    numbers (same key, same shapes), and on JSB GRU about half of a 10-candidate step's time.
    """
    import jax
    import jax.numpy as jnp

    non_trainable = [v.value for v in model.non_trainable_variables]
    dtype = model.trainable_variables[0].dtype

    def member_loss(params, x, y, w):
        pred, _ = model.stateless_call(params, non_trainable, x, training=True)
        return loss(y, pred, sample_weight=w)

    value_and_grad = jax.value_and_grad(member_loss)

    def member_update(params, ms, vel, rate, eps, active, x, y, w):
        noisy_params = [p if e is None else p + e for p, e in zip(params, eps)]
        value, grads = value_and_grad(noisy_params, x, y, w)
        new_p, new_ms, new_v = rmsprop_momentum(params, grads, ms, vel, rate, hyper)

        def keep(new, old):
            return [jnp.where(active, a, b) for a, b in zip(new, old)]

        return keep(new_p, params), keep(new_ms, ms), keep(new_v, vel), value

    def member_step(params, ms, vel, rate, key, active, epoch, step, x, y, w):
        eps = _draw_noise([p.shape for p in params], _fold(key, epoch, step), noisy, hyper.noise_std, dtype)
        return member_update(params, ms, vel, rate, eps, active, x, y, w)

    data_axis = None if shared_batch else 0
    if not shared_noise:
        return jax.jit(jax.vmap(member_step, in_axes=(0, 0, 0, 0, 0, 0, None, None, data_axis, data_axis, data_axis)))
    update = jax.vmap(member_update, in_axes=(0, 0, 0, 0, None, 0, data_axis, data_axis, data_axis))

    def step_shared_noise(params, ms, vel, rates, keys, active, epoch, step, x, y, w):
        eps = _draw_noise([p.shape[1:] for p in params], _fold(keys[0], epoch, step), noisy, hyper.noise_std, dtype)
        return update(params, ms, vel, rates, eps, active, x, y, w)

    return jax.jit(step_shared_noise)


def build_eval_loss(model, loss):
    """``evaluate(params, x, y, w) -> (K,)``: each member's loss on one shared batch at its clean weights."""
    import jax

    non_trainable = [v.value for v in model.non_trainable_variables]

    def member(params, x, y, w):
        pred, _ = model.stateless_call(params, non_trainable, x, training=False)
        return loss(y, pred, sample_weight=w)

    return jax.jit(jax.vmap(member, in_axes=(0, None, None, None)))


def build_keep_best():
    """``keep(best, params, improved) -> best``: per member, the current weights where ``improved`` (K,) is true."""
    import jax
    import jax.numpy as jnp

    def keep(best, params, improved):
        return [jnp.where(improved.reshape((-1,) + (1,) * (p.ndim - 1)), p, b) for b, p in zip(best, params)]

    return jax.jit(keep)


def noise_keys(noise_seeds):
    """(K, 2) uint32 raw JAX keys, one per member's noise seed (members of one seed share their noise)."""
    import jax
    import numpy as np

    return np.stack([np.asarray(jax.random.key_data(jax.random.key(int(s) % 2**31))) for s in noise_seeds])
