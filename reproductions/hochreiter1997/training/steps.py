"""One masked update of a trial-parallel model, per backend.

The model's weights carry a leading trial axis; batch row b is trial b. The loss is a sum over rows, so
trial b's gradient comes from its own row only. ``active`` (N,) freezes trials: their weights are put
back after the optimizer step, which keeps them frozen for any optimizer (plain SGD would leave them alone
anyway, Adam would not). The step returns the outputs computed *before* the update: the online error of
the sequence just trained on, which the stopping criteria use.

JAX gets a jitted stateless step (``model.stateless_call`` + ``optimizer.stateless_apply``); TensorFlow a
``tf.function`` with a tape; PyTorch plain autograd.
"""

from __future__ import annotations

import numpy as np


def _broadcast_active(active, ndim):
    from keras import ops

    return ops.reshape(active, (-1,) + (1,) * (ndim - 1))


def end_of_sequence_loss(ops, y, pred, loss_scale):
    """Per-row loss_scale · Σ_k (t_k − y_k)² (eq. 16 with the ½ of eq. 19)."""
    return loss_scale * ops.sum(ops.square(y - pred), axis=-1)


def every_step_loss(ops, y, pred, mask, loss_scale):
    """Per-row loss_scale · Σ_t Σ_k (t_k(t) − y_k(t))² over the steps that carry a target (Exps 1, 2a, 2b).

    y, pred (B, L, out); mask (B, L). Step t has a target when step t + 1 is real (the next symbol is predicted,
    the last one has no successor; ``.criteria.step_targets``). The sum over all steps of
    one sequence is one update: "each weight's total update is the sum of the contributions of all time steps"
    (App. A.1), applied at the sequence end (docs/deviations.md, H5).
    """
    mask = ops.cast(mask, pred.dtype)
    on = ops.concatenate([mask[:, 1:], ops.zeros_like(mask[:, :1])], axis=1)
    return loss_scale * ops.sum(ops.square(y - pred) * ops.expand_dims(on, -1), axis=(1, 2))


def row_loss(ops, y, pred, mask, loss_scale, every_step):
    if every_step:
        return every_step_loss(ops, y, pred, mask, loss_scale)
    return end_of_sequence_loss(ops, y, pred, loss_scale)


class Stepper:
    """``stepper(x, mask, y, active) -> predictions (N, out) as numpy``; updates the model in place.

    ``every_step=True``: y and the predictions are (N, L, out) and the loss is :func:`every_step_loss`.
    """

    name = "keras"  # what the record's ``updates_computed_by`` says (.numba_step has the other per-sequence one)

    def __init__(self, model, optimizer, loss_scale: float, every_step: bool = False):
        import keras

        self.model = model
        self.optimizer = optimizer
        self.loss_scale = float(loss_scale)
        self.every_step = bool(every_step)
        self.backend = keras.backend.backend()
        optimizer.build(model.trainable_variables)
        if self.backend == "jax":
            self._init_jax()
        elif self.backend == "tensorflow":
            self._init_tensorflow()
        else:
            self._init_torch()

    # --- JAX -------------------------------------------------------------------------------------------
    def _init_jax(self):
        import jax
        import jax.numpy as jnp
        from keras import ops

        model, optimizer, loss_scale, every_step = self.model, self.optimizer, self.loss_scale, self.every_step

        def loss_fn(tv, ntv, x, mask, y, active):
            pred, ntv = model.stateless_call(tv, ntv, [x, mask], training=True)
            per_row = row_loss(ops, y, pred, mask, loss_scale, every_step)
            return jnp.sum(per_row * active), (pred, ntv)

        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def step(tv, ntv, ov, x, mask, y, active):
            (_, (pred, ntv)), grads = grad_fn(tv, ntv, x, mask, y, active)
            new_tv, ov = optimizer.stateless_apply(ov, grads, tv)
            new_tv = [old + (new - old) * _broadcast_active(active, old.ndim) for old, new in zip(tv, new_tv)]
            return new_tv, ntv, ov, pred

        # No buffer donation: SIGTERM arrives during the jitted call and is raised before its results are
        # assigned, which would leave the stepper holding deleted arrays and lose the interrupted run's checkpoint.
        self.step_fn = step  # unjitted, for several updates per call (.block_steps)
        self._step = jax.jit(step)
        self.pull()

    def pull(self):
        """Read the model's and optimizer's variables into the stepper (after building or restoring)."""
        if self.backend == "jax":
            self._tv = [v.value for v in self.model.trainable_variables]
            self._ntv = [v.value for v in self.model.non_trainable_variables]
            self._ov = [v.value for v in self.optimizer.variables]

    @property
    def state(self) -> list[list]:
        """What one JAX update reads and writes: ``[trainable, non-trainable, optimizer variables]``."""
        return [self._tv, self._ntv, self._ov]

    @state.setter
    def state(self, value) -> None:
        self._tv, self._ntv, self._ov = (list(part) for part in value)

    def push(self):
        """Write the stepper's state back into the Keras variables (before saving or evaluating)."""
        if self.backend == "jax":
            for var, value in zip(self.model.trainable_variables, self._tv):
                var.assign(value)
            for var, value in zip(self.model.non_trainable_variables, self._ntv):
                var.assign(value)
            for var, value in zip(self.optimizer.variables, self._ov):
                var.assign(value)

    # --- TensorFlow ------------------------------------------------------------------------------------
    def _init_tensorflow(self):
        import tensorflow as tf
        from keras import ops

        model, optimizer, loss_scale, every_step = self.model, self.optimizer, self.loss_scale, self.every_step

        @tf.function(reduce_retracing=True)
        def step(x, mask, y, active):
            old = [tf.identity(v.value) for v in model.trainable_variables]
            with tf.GradientTape() as tape:
                pred = model([x, mask], training=True)
                loss = tf.reduce_sum(row_loss(ops, y, pred, mask, loss_scale, every_step) * active)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            for var, before in zip(model.trainable_variables, old):
                var.assign(before + (var.value - before) * _broadcast_active(active, len(before.shape)))
            return pred

        self._tf_step = step

    # --- PyTorch ---------------------------------------------------------------------------------------
    def _init_torch(self):
        import torch
        from keras import ops

        model, optimizer, loss_scale, every_step = self.model, self.optimizer, self.loss_scale, self.every_step

        def step(x, mask, y, active):
            old = [v.value.detach().clone() for v in model.trainable_variables]
            pred = model([x, mask], training=True)
            loss = torch.sum(row_loss(ops, y, pred, mask, loss_scale, every_step) * active)
            model.zero_grad()
            grads = torch.autograd.grad(loss, [v.value for v in model.trainable_variables])
            optimizer.apply(list(grads), model.trainable_variables)
            with torch.no_grad():
                for var, before in zip(model.trainable_variables, old):
                    var.assign(before + (var.value - before) * active.reshape((-1,) + (1,) * (before.ndim - 1)))
            return pred.detach()

        self._torch_step = step

    # --- common ----------------------------------------------------------------------------------------
    def __call__(self, x, mask, y, active) -> np.ndarray:
        active = np.asarray(active, dtype=np.float32)
        if self.backend == "jax":
            self._tv, self._ntv, self._ov, pred = self._step(self._tv, self._ntv, self._ov, x, mask, y, active)
            return np.asarray(pred)
        if self.backend == "tensorflow":
            return self._tf_step(x, mask, y, active).numpy()
        import keras

        tensors = [keras.ops.convert_to_tensor(a) for a in (x, mask, y, active)]
        return keras.ops.convert_to_numpy(self._torch_step(*tensors))
