"""The minibatch trainer's fast path on JAX: ``fused_steps`` updates per jitted call, one ``lax.scan`` over them.

``model.fit`` on JAX dispatches one jitted step per batch and runs the callbacks around it in Python; for the NPLM
(a wide softmax, batches of 128 windows) that per-batch work, not the arithmetic, sets the speed on a GPU
(docs/performance.md, "Bengio et al. (2003) on a lent H100": ≈2 ms per update against under 0.1 ms of
arithmetic). This path keeps the whole training split on the device and scans ``fused_steps`` updates in one call,
each update being exactly the step ``fit`` takes (Keras's own ``compute_loss_and_updates`` and
``optimizer.stateless_apply``, so the loss, the optimizer and its schedule are the protocol's, unchanged). What
``fit`` does around the steps is kept, at chunk granularity: the epoch's order (the same
``default_rng([shuffle, epoch])`` permutation as :mod:`.shuffled`), the last partial batch, the divergence guard,
the epoch-end early stopping, checkpoint and progress (the same :class:`.callbacks.EpochEnd`), progress inside an
epoch, and a stop request (checked after every chunk, so an interrupted epoch has a whole number of chunks done).
``val_loss`` is Keras's: the mean of the batch losses over the validation batches, weighted by their rows.

It applies to array splits without sample weights and without weight noise (noise is drawn on the host per batch);
:func:`applies` says whether a run can take it, and the trainer falls back to ``fit`` otherwise. It agrees with
``fit`` to float32 round-off (``tests/test_minibatch_fused.py``).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from lstm_hist import interrupt

from .checkpoint import sync
from .data import is_arrays


def applies(protocol, data: dict) -> bool:
    """Whether the run can take the fused path: asked for, JAX, plain (x, y) arrays, no weight noise."""
    import keras

    return (getattr(protocol, "fused_steps", 0) > 0 and keras.backend.backend() == "jax"
            and protocol.weight_noise == 0 and all(is_arrays(data[k]) and len(data[k]) == 2
                                                   for k in ("train", "valid")))


class FusedSteps:
    """The jitted functions of one model: ``train(state, rows)`` scans one update per row block of ``rows``
    (shape (K, B)); ``loss(state, x, y)`` is one batch's loss without training."""

    def __init__(self, model, x, y):
        import jax

        self.model, self.x, self.y = model, jax.numpy.asarray(x), jax.numpy.asarray(y)
        grad_fn = jax.value_and_grad(model.compute_loss_and_updates, has_aux=True)
        metrics = [v.value for v in model.metrics_variables]

        def update(state, rows):
            trainable, non_trainable, optimizer = state
            (_, aux), grads = grad_fn(trainable, non_trainable, metrics, self.x[rows], self.y[rows], None,
                                      training=True, optimizer_variables=optimizer)
            unscaled, _, non_trainable, _ = aux
            trainable, optimizer = model.optimizer.stateless_apply(optimizer, grads, trainable)
            return (trainable, non_trainable, optimizer), unscaled

        def train(state, rows):
            return jax.lax.scan(update, state, rows)

        def loss(state, x, y):
            trainable, non_trainable = state
            value, _ = model.compute_loss_and_updates(trainable, non_trainable, metrics, x, y, None, training=False)
            return value

        self.train = jax.jit(train, donate_argnums=0)
        self.loss = jax.jit(loss)

    def state(self):
        """Copies of the variables' values: the scan donates its input state, and the variables keep theirs."""
        import jax.numpy as jnp

        model = self.model
        return tuple([jnp.array(v.value, copy=True) for v in variables] for variables in (
            model.trainable_variables, model.non_trainable_variables, model.optimizer.variables))

    def write_back(self, state) -> None:
        """Put the scanned state into the Keras variables (checkpoints, evaluation and get_weights read them)."""
        model = self.model
        for variables, values in zip((model.trainable_variables, model.non_trainable_variables,
                                      model.optimizer.variables), state):
            for variable, value in zip(variables, values):
                variable.assign(value)


def validation_loss(steps: FusedSteps, state, split, batch_size: int) -> float:
    """Keras's ``val_loss``: batch losses averaged with the batches' row counts as weights."""
    x, y = split
    total, rows = 0.0, 0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        total += float(steps.loss(state[:2], xb, yb)) * len(xb)
        rows += len(xb)
        interrupt.check()
    return total / max(rows, 1)


def fit(protocol, model, data: dict, state: dict, shuffle_seed: int, epoch_end, progress: Callable | None,
        clock: Callable[[], float] = time.monotonic, progress_every: float = 30.0) -> None:
    """Train from ``state["epoch"]`` to the protocol's end, updating ``state`` as ``fit``'s callbacks would.

    ``epoch_end``: the trainer's :class:`.callbacks.EpochEnd` (early stopping, checkpoint, progress), called with
    the epoch's logs; a stop request raises KeyboardInterrupt after a chunk, with the Keras variables holding the
    weights of that chunk's end.
    """
    sync(model)
    x, y = data["train"]
    n, batch = len(x), protocol.batch_size
    full, rest = divmod(n, batch)
    chunk = protocol.fused_steps
    steps = FusedSteps(model, x, y)
    valid_batch = protocol.eval_batch_size or batch
    last = clock()
    model.stop_training = False
    for epoch in range(state["epoch"], protocol.epochs):
        if state["stopped_early"] or model.stop_training:
            break
        order = np.random.default_rng([shuffle_seed, epoch]).permutation(n).astype(np.int32)
        blocks = [order[i * batch : (i + 1) * batch] for i in range(full)] + ([order[full * batch :]] if rest else [])
        state["batches_in_epoch"], state["current_epoch"] = 0, epoch
        total, rows, current = 0.0, 0, steps.state()
        try:
            for start in range(0, len(blocks), chunk):
                group = blocks[start : start + chunk]
                if len(group[-1]) != batch:  # the epoch's last, shorter batch: a scan of its own
                    head, group = group[:-1], [group[-1]]
                    if head:
                        current, losses = steps.train(current, np.stack(head))
                        total, rows = _add(losses, batch, total, rows, state, len(head))
                current, losses = steps.train(current, np.stack(group))
                total, rows = _add(losses, len(group[0]), total, rows, state, len(group))
                if not np.isfinite(total):
                    state["diverged"] = True
                    model.stop_training = True
                    break
                if progress is not None and clock() - last >= progress_every and state["batches_in_epoch"] < len(blocks):
                    last = clock()
                    progress({"epoch": round(epoch + state["batches_in_epoch"] / len(blocks), 4),
                              "epochs": protocol.epochs, "batch": state["batches_in_epoch"], "batches": len(blocks),
                              "loss": total / rows})
                interrupt.check()
        finally:
            steps.write_back(current)
        if state["diverged"]:
            break
        logs = {"loss": total / rows, "val_loss": validation_loss(steps, current, data["valid"], valid_batch)}
        epoch_end.on_epoch_end(epoch, logs)


def _add(losses, rows_per_batch: int, total: float, rows: int, state: dict, batches: int) -> tuple[float, int]:
    """The chunk's batch losses into the epoch's row-weighted sum (the host waits for the chunk here)."""
    values = np.asarray(losses, np.float64)
    state["batches_in_epoch"] += batches
    return total + float(values.sum()) * rows_per_batch, rows + rows_per_batch * len(values)
