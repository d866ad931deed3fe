"""Compaction of the trial axis: the tail of an online run computes only its still active trials (issue 17).

The online protocol (:mod:`.online`) trains N independent trials as the rows of one model whose weights carry a
leading trial axis, and freezes a solved or diverged trial by a mask: every update still computes all N. In the
long rows (Table 3's 2c rows with q ≥ 200: 16–19 of 20 trials solved after ~25k sequences, the rest running on
to the 5-million cap) that is N/active times the work the run needs. Here, once at most N/2 trials are active,
each update gathers the active trials' weights and optimizer state into a second, smaller model of the same
config built with ``trials=B`` (B: the active count rounded up to a power of two, so only a few shapes compile;
padded rows repeat an active trial's weights and data, are masked inactive and are dropped again), runs the same
step on it, and scatters the results back into the full state. Trial b's numbers depend only on its own weights
and data, so the results are those of the full update (to XLA's rounding of another shape, tested to 1e-6).

The periodic check of Exp 3's check sets (and Exp 1's legal-next check) follows too: :meth:`TrialCompaction.check`
runs it on the bucket's net holding the active trials' weights, on their check sets only.

The data follow: a chunk drawn while compaction applies holds only the active trials' sequences (each trial has
its own stream, :func:`lstm_hist.seeds.trial_streams`, so an active trial's sequences are bit-identical; a
frozen trial's stream is no longer read). How it is computed, not what: ``protocol.compact_trials`` (default
true) stays out of the run fingerprint, and a checkpoint written with or without it resumes with either.

JAX only: the per-sequence autodiff step (:class:`.steps.Stepper`, with or without ``updates_per_call`` blocks)
and per-step RTRL (:class:`.rtrl.RTRLStepper`, 2a/2b). The full state stays in the stepper (the compacted step
reads and writes it), so everything that reads or edits the net between updates (checkpoints, the periodic check
set, sequential construction's push/set_blocks/pull) sees the same stepper as before.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..construction import mask_layer
from .steps import Stepper


def bucket(active: int, trials: int) -> int | None:
    """The compacted trial count for ``active`` trials: the next power of two, or None where it would not pay
    (more than half of ``trials``) or nothing is active."""
    size = 1
    while size < active:
        size *= 2
    return size if 0 < active and size <= trials // 2 else None


def widen(a: np.ndarray, rows: np.ndarray | None, trials: int, axis: int = 0) -> np.ndarray:
    """``a`` whose ``axis`` holds the trials ``rows`` → the same with all ``trials`` (zeros elsewhere)."""
    if rows is None:
        return a
    shape = list(a.shape)
    shape[axis] = trials
    out = np.zeros(shape, a.dtype)
    out[(slice(None),) * axis + (rows,)] = a
    return out


def _per_trial(full: list, small: list, trials: int, size: int) -> list[bool]:
    """For each variable, whether it has a trial axis (gathered) or is shared by all trials (the optimizer's
    iteration count and learning rate: carried over whole)."""
    kinds = []
    for big, little in zip(full, small, strict=True):
        if tuple(big.shape) == tuple(little.shape):
            kinds.append(False)
        elif big.shape[0] == trials and little.shape[0] == size and big.shape[1:] == little.shape[1:]:
            kinds.append(True)
        else:
            raise ValueError(f"cannot compact a variable of shape {big.shape} onto {little.shape}")
    return kinds


def stepper_state(stepper) -> list[list]:
    """What one update of a JAX stepper reads and writes, as lists of arrays: the autodiff step's weights, other
    model variables and optimizer variables (:class:`.steps.Stepper`), or per-step RTRL's packed weights and its
    per-trial cells-present factor (:class:`.rtrl.RTRLStepper`)."""
    return stepper.state


def _step(stepper):
    """``step(state, x, mask, y, active) -> (state, predictions)``: the unjitted update on :func:`stepper_state`."""
    if isinstance(stepper, Stepper):
        def step(state, x, mask, y, active):
            *new, pred = stepper.step_fn(*state, x, mask, y, active)
            return new, pred
        return step
    run = stepper.run_fn

    def step(state, x, mask, y, active):
        (w, v), (on,) = state
        w, v, pred = run(w, v, x, mask, y, active, on)
        return [[w, v], [on]], pred
    return step


class _Bucket:
    """The jitted compacted step and block of one bucket size, on a stepper built with ``trials=size``."""

    def __init__(self, stepper, small, trials: int, size: int):
        import jax

        pairs = zip(stepper_state(stepper), stepper_state(small), strict=True)
        kinds = [_per_trial(a, b, trials, size) for a, b in pairs]
        step = _step(small)

        def take(state, gather):
            return [[v[gather] if k else v for v, k in zip(part, ks)] for part, ks in zip(state, kinds)]

        def put(state, new, scatter):
            return [[v.at[scatter].set(s, mode="drop") if k else s for v, s, k in zip(part, news, ks)]
                    for part, news, ks in zip(state, new, kinds)]

        def one(state, gather, scatter, x, mask, y, active):
            new, pred = step(take(state, gather), x, mask, y, active)
            return put(state, new, scatter), pred

        def block(state, gather, xs, masks, ys, active):
            def body(carry, data):
                carry, pred = step(carry, *data, active)
                return carry, (pred, carry)

            _, (preds, states) = jax.lax.scan(body, take(state, gather), (xs, masks, ys))
            return preds, states

        self.small = small
        self.one, self.block, self.put, self.take = jax.jit(one), jax.jit(block), jax.jit(put), jax.jit(take)


class TrialCompaction:
    """``compaction(x, mask, y, active, rows) -> predictions (N, …)``: one update of ``stepper``, computed on the
    active trials only where :func:`bucket` says it pays; ``block(...)`` the same for K updates in one call
    (:mod:`.block_steps`), ``rewind(j)`` as there. ``rows``: the trials the data's trial axis holds (None: all).
    ``build(size)`` returns a stepper of the same config with ``trials=size`` (built once per size, when needed)."""

    def __init__(self, stepper, build: Callable[[int], object], trials: int):
        self.stepper, self.build, self.n = stepper, build, trials
        self._buckets: dict[int, _Bucket] = {}
        self._last = None  # what rewind() rewinds: (bucket, full state before the block, scatter, small states)

    def rows(self, done: np.ndarray) -> np.ndarray | None:
        """The trials to draw data for: the active ones where compaction applies, else None (all)."""
        active = np.flatnonzero(~done)
        return active if bucket(len(active), self.n) is not None else None

    def _plan(self, active: np.ndarray, rows: np.ndarray | None):
        """(bucket, gather, scatter, data positions, active mask of the bucket's rows), or None: the full step."""
        trial = np.flatnonzero(active)
        size = bucket(len(trial), self.n)
        if size is None:
            if rows is not None:
                raise ValueError("data drawn for some trials only, but compaction does not apply")
            return None
        if size not in self._buckets:
            self._buckets[size] = _Bucket(self.stepper, self.build(size), self.n, size)
        pad = size - len(trial)
        gather = np.concatenate([trial, np.full(pad, trial[0])]).astype(np.int32)
        scatter = np.concatenate([trial, np.full(pad, self.n)]).astype(np.int32)  # n: dropped
        where = trial if rows is None else np.searchsorted(rows, trial)
        position = np.concatenate([where, np.full(pad, where[0])])
        mask = np.concatenate([np.ones(len(trial)), np.zeros(pad)]).astype(np.float32)
        return self._buckets[size], gather, scatter, position, mask

    def applies(self, active: np.ndarray) -> bool:
        return bucket(int(np.sum(active)), self.n) is not None

    def check(self, check, active: np.ndarray, at: int = 0):
        """The periodic check (:func:`.checks.make_checker`) of the active trials only, on the bucket's net holding
        their weights: ``(met (N,), st1 (N,) or None)``, False for the frozen trials."""
        b, gather, scatter, _, on = self._plan(active, None)
        b.small.state = b.take(self._state(), gather)
        b.small.push()
        full_mask, small_mask = mask_layer(self.stepper.model), mask_layer(b.small.model)
        if full_mask is not None:  # sequential construction: RTRL's push leaves the cells-present factor out
            small_mask.active.assign(np.asarray(full_mask.active.value)[gather])
        trials, real = scatter[: int(on.sum())], int(on.sum())
        met, st1 = check(b.small.model, gather, active=on > 0, at=at)  # the padding rows are not read
        return widen(met[:real], trials, self.n), None if st1 is None else widen(st1[:real], trials, self.n)

    def _state(self):
        return stepper_state(self.stepper)

    def _set(self, state) -> None:
        self.stepper.state = state

    def __call__(self, x, mask, y, active, rows=None) -> np.ndarray:
        plan = self._plan(active, rows)
        if plan is None:
            return self.stepper(x, mask, y, active)
        b, gather, scatter, at, on = plan
        state, pred = b.one(self._state(), gather, scatter, x[at], mask[at], y[at], on)
        self._set(state)
        return widen(np.asarray(pred)[: int(on.sum())], scatter[: int(on.sum())], self.n)

    def block(self, xs, masks, ys, active, rows=None, full_block=None) -> np.ndarray:
        """K updates; ``full_block`` (a :class:`.block_steps.BlockStepper`) makes them where compaction does not
        apply."""
        plan = self._plan(active, rows)
        if plan is None:
            self._last = None
            return full_block(xs, masks, ys, active)
        b, gather, scatter, at, on = plan
        preds, states = b.block(self._state(), gather, xs[:, at], masks[:, at], ys[:, at], on)
        self._last = (b, self._state(), scatter, states)
        self.rewind(len(xs) - 1)
        real = int(on.sum())
        return widen(np.asarray(preds)[:, :real], scatter[:real], self.n, axis=1)

    def rewind(self, j: int, full_block=None) -> None:
        """Set the stepper to the state after update ``j`` of the last block."""
        if self._last is None:
            full_block.rewind(j)
            return
        b, base, scatter, states = self._last
        self._set(b.put(base, [[a[j] for a in part] for part in states], scatter))


def trial_compaction(protocol, stepper, build: Callable[[int], object]) -> TrialCompaction | None:
    """A :class:`TrialCompaction` where it applies (``protocol.compact_trials``, at least 2 trials, a JAX stepper:
    the autodiff per-sequence step or per-step RTRL), else None."""
    if not getattr(protocol, "compact_trials", False) or protocol.trials < 2:
        return None
    if getattr(stepper, "step_fn", None) is None and getattr(stepper, "run_fn", None) is None:  # not on JAX
        return None
    return TrialCompaction(stepper, build, protocol.trials)
