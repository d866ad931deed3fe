"""Brief training of many inits at once, so the gradients can also be measured on trained weights.

Not any paper's protocol: Adam (Kingma & Ba 2015, the usual β₁ = 0.9, β₂ = 0.999, ε = 1e-7 as Keras) on
minibatches of fresh task sequences, loss ½ Σ (y − target)² at each sequence's end (the measurement's E),
every init its own weights and data, all inits in one vmapped, jitted step. Too short to reach the papers'
criteria: it moves the weights to where the task's gradient pushes them, which is what the figure contrasts with
the initialisation (docs/vanishing_gradients.md says so).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from .measure import Net


@dataclasses.dataclass(frozen=True)
class BriefTraining:
    """updates: Adam steps per init; batch: sequences per step and init; learning_rate: Adam's α."""

    updates: int = 100
    batch: int = 8
    learning_rate: float = 0.01


def _adam_step(jnp, weights, grads, m, v, step, lr, b1=0.9, b2=0.999, eps=1e-7):
    m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads)]
    v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads)]
    scale = lr * jnp.sqrt(1 - b2**step) / (1 - b1**step)
    weights = [w - scale * mi / (jnp.sqrt(vi) + eps) for w, mi, vi in zip(weights, m, v)]
    return weights, m, v


def make_train_step(net: Net, learning_rate: float) -> Callable:
    """jitted ``(weights, m, v, step, x (N,B,L,in), mask (N,B,L), y (N,B,out)) -> (weights, m, v, errors (N,))``."""
    import jax
    import jax.numpy as jnp

    def batch_error(weights, x, mask, y):
        def one(xi, mi, yi):
            deltas = [jnp.zeros((xi.shape[0], d), xi.dtype) for d in net.state_sizes]
            return net.sequence_error(weights, xi, mi, yi, deltas)

        return jnp.mean(jax.vmap(one)(x, mask, y))

    def per_init(weights, m, v, step, x, mask, y):
        error, grads = jax.value_and_grad(batch_error)(weights, x, mask, y)
        weights, m, v = _adam_step(jnp, weights, grads, m, v, step, learning_rate)
        return weights, m, v, error

    return jax.jit(jax.vmap(per_init, in_axes=(0, 0, 0, None, 0, 0, 0)))


def train_briefly(net: Net, weights: list, task: Callable, task_config: dict, rng: np.random.Generator,
                  settings: BriefTraining) -> tuple[list, dict]:
    """Train every init (leading axis of ``weights``) for ``settings.updates`` Adam steps on fresh sequences of
    ``task``. Returns the new weights and ``{"error_first", "error_last"}``: per init, the mean batch error over the
    first and the last tenth of the updates."""
    import jax.numpy as jnp

    inits = weights[0].shape[0]
    step_fn = make_train_step(net, settings.learning_rate)
    weights = [jnp.asarray(w) for w in weights]
    m = [jnp.zeros_like(w) for w in weights]
    v = [jnp.zeros_like(w) for w in weights]
    errors = []
    for step in range(1, settings.updates + 1):
        batch = task(rng, inits * settings.batch, **task_config)
        shape = (inits, settings.batch)
        x = batch.x.reshape(*shape, *batch.x.shape[1:])
        mask = batch.mask().reshape(*shape, -1)
        y = batch.y.reshape(*shape, -1)
        weights, m, v, error = step_fn(weights, m, v, step, x, mask, y)
        errors.append(np.asarray(error))
    errors = np.stack(errors)  # (updates, N)
    tenth = max(1, settings.updates // 10)
    info = {"error_first": errors[:tenth].mean(axis=0), "error_last": errors[-tenth:].mean(axis=0)}
    return [np.asarray(w) for w in weights], info
