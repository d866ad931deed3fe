"""Several online updates per jitted call (issue 13): a ``lax.scan`` over K pre-drawn updates of
:class:`.steps.Stepper`'s step, the same numbers as K single calls.

Why: at T = 100 one update's compiled work is ~0.5 ms, and the per-call cost around it (dispatching the jitted
step, converting its outputs) is a large share of it (docs/performance.md). A block of K updates pays it once.

The online protocol freezes a trial as soon as it is solved or diverged, judged from each update's outputs on the
host. Inside a block the set of active trials is fixed, so the call also returns the weights after each of its
updates: when the host finds a trial newly done after update j, :meth:`BlockStepper.rewind` puts the stepper back
to the state after update j, and the next block starts from there with the new active set, exactly as K single
calls would have gone. That happens at most twice per trial per run. JAX only; per-sequence updates only.
"""

from __future__ import annotations

import numpy as np


class BlockStepper:
    """``block(xs, masks, ys, active) -> outputs (K, N, …)``: K updates of ``stepper`` in one jitted call, the
    stepper left at the state after the last one; ``rewind(j)`` sets it to the state after update j instead."""

    def __init__(self, stepper):
        import jax

        step = stepper.step_fn

        def run(tv, ntv, ov, xs, masks, ys, active):
            def body(carry, data):
                tv, ntv, ov, pred = step(*carry, *data, active)
                return (tv, ntv, ov), (pred, (tv, ntv, ov))

            _, (preds, states) = jax.lax.scan(body, (tv, ntv, ov), (xs, masks, ys))
            return preds, states

        self.stepper = stepper
        self._run = jax.jit(run)
        self._states = None

    def __call__(self, xs, masks, ys, active) -> np.ndarray:
        s = self.stepper
        active = np.asarray(active, dtype=np.float32)
        preds, self._states = self._run(*s.state, xs, masks, ys, active)
        self.rewind(len(xs) - 1)
        return np.asarray(preds)

    def rewind(self, j: int) -> None:
        """Set the stepper to the weights and optimizer state after update ``j`` of the last block."""
        tv, ntv, ov = self._states
        s = self.stepper
        s.state = [[a[j] for a in part] for part in (tv, ntv, ov)]


def block_stepper(stepper, protocol, construction, check) -> BlockStepper | None:
    """A :class:`BlockStepper` where ``protocol.updates_per_call`` > 1 applies (JAX, the autodiff per-sequence
    step, no construction and no periodic check set, which change or read the net between updates), else None."""
    if protocol.updates_per_call <= 1 or construction is not None or check is not None:
        return None
    if getattr(stepper, "step_fn", None) is None:  # per-step RTRL, or a backend other than JAX
        return None
    return BlockStepper(stepper)
