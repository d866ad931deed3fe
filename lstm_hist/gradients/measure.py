"""How much of the error at a sequence's end reaches each earlier step: ∂E(T)/∂state(T−k), ∂E(T)/∂x(T−k).

The measurement (Hochreiter & Schmidhuber 1997 §3, "exponentially decaying error"): a cell runs over a
sequence; a readout (logistic units, as the 1997 output units) sees the cell's output after the last real step;
E = ½ Σ (y − target)² there (eqs. 16, 19). The state after each step is perturbed by a zero vector δ(t), so
∂E/∂δ(t) is exactly the derivative of E with respect to the whole state at t (every path through later steps),
and one backward pass gives it for every t at once. Padded steps (after a sequence's end) keep the state, so
their δ gets no gradient; lags are counted back from each sequence's own end: lag k is the state after step
T−k (k = 0 is the last state) and the input x(T−k) of that step.

Many initialisations run as one program: the cell's and readout's weights of every init are stacked on a leading
axis and ``jax.vmap`` maps the gradient over them (with ``Layer.stateless_call``). The differentiation uses JAX
(the package's default backend); the command refuses other backends.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .units import GradientUnit

QUANTILES = (0.1, 0.5, 0.9)  # band and median of the figure and the record


def _as_list(states: Any) -> list:
    return list(states) if isinstance(states, (list, tuple)) else [states]


class Net:
    """A unit's cell plus logistic readout units; weights of many inits as stacked arrays (leading init axis)."""

    def __init__(self, unit: GradientUnit, inputs: int, outputs: int):
        import keras

        self.unit, self.inputs, self.outputs = unit, inputs, outputs
        self.cell, self.readout = self._layers(0)
        self.cell_weights = len(self.cell.trainable_variables)
        self.state_sizes = [int(s.shape[-1]) for s in _as_list(self.cell.get_initial_state(1))]
        self._keras = keras

    def _layers(self, seed: int):
        import keras

        cell = self.unit.build(seed)
        cell.build((None, self.inputs))
        width = int(self.unit.output(cell, _as_list(cell.get_initial_state(1))).shape[-1])
        readout = keras.layers.Dense(
            self.outputs, activation="sigmoid",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 7919),
        )
        readout.build((None, width))
        return cell, readout

    def init_weights(self, seeds: list[int]) -> list[np.ndarray]:
        """The trainable weights of one fresh init per seed, stacked: a list of (len(seeds), ...) arrays."""
        per_seed = []
        for seed in seeds:
            cell, readout = self._layers(seed)
            per_seed.append([np.asarray(v.value) for v in cell.trainable_variables + readout.trainable_variables])
        return [np.stack(parts) for parts in zip(*per_seed)]

    def split(self, weights: list) -> tuple[list, list]:
        return list(weights[: self.cell_weights]), list(weights[self.cell_weights :])

    def sequence_error(self, weights, x, mask, target, deltas):
        """E = ½ Σ (y − target)² of one sequence x (L, in), mask (L,), target (out,); ``deltas`` (L, d_i) per
        state are added to the state after each real step (zeros: their gradient is ∂E/∂state(t))."""
        import jax
        import jax.numpy as jnp

        cell, readout, unit = self.cell, self.readout, self.unit
        cell_w, read_w = self.split(weights)
        cell_ntv = [v.value for v in cell.non_trainable_variables]
        read_ntv = [v.value for v in readout.non_trainable_variables]
        initial = tuple(jnp.asarray(s) for s in _as_list(cell.get_initial_state(1)))

        def step(carry, xs):
            x_t, keep, d_t = xs
            (_, new), _ = cell.stateless_call(cell_w, cell_ntv, x_t[None], list(carry), training=False)
            new = tuple(jnp.where(keep, n + d[None], c) for n, d, c in zip(_as_list(new), d_t, carry))
            return new, None

        final, _ = jax.lax.scan(step, initial, (x, mask, tuple(deltas)))
        out = unit.output(cell, list(final))
        pred, _ = readout.stateless_call(read_w, read_ntv, out)
        return 0.5 * jnp.sum(jnp.square(pred[0] - target))

    def gradient_fn(self):
        """jitted ``(weights (N,…), x (N,L,in), mask (N,L), target (N,out)) -> (dE/dx (N,L,in), [dE/dstate_i
        (N,L,d_i)])`` for N inits at once; one per Net, so each input shape compiles once."""
        import jax
        import jax.numpy as jnp

        if getattr(self, "_gradient_fn", None) is not None:
            return self._gradient_fn

        def one(weights, x, mask, target):
            deltas = [jnp.zeros((x.shape[0], d), x.dtype) for d in self.state_sizes]
            return jax.grad(self.sequence_error, argnums=(1, 4))(weights, x, mask, target, deltas)

        self._gradient_fn = jax.jit(jax.vmap(one))
        return self._gradient_fn


def lag_view(values: np.ndarray, lengths: np.ndarray, lags: int) -> np.ndarray:
    """(N, L) per-step values → (N, lags): column k is step length−1−k of each row (k = 0 the last real step)."""
    rows = np.arange(values.shape[0])[:, None]
    steps = lengths[:, None] - 1 - np.arange(lags)[None, :]
    return values[rows, steps]


def gradient_norms(net: Net, weights: list, x, lengths, target, gradient_fn=None) -> dict[str, np.ndarray]:
    """Per init and lag (N, K), K = the shortest length: ``state`` ‖∂E/∂state(T−k)‖ (all state tensors
    together), ``state:<name>`` per state tensor, ``input`` ‖∂E/∂x(T−k)‖; plus ``raw:<name>`` (N, K, d) per state
    (used for the CEC factor)."""
    mask = np.arange(x.shape[1])[None, :] < lengths[:, None]
    fn = gradient_fn or net.gradient_fn()
    dx, dstates = fn(weights, x, mask, target)
    lags = int(lengths.min())
    out: dict[str, np.ndarray] = {"input": lag_view(np.linalg.norm(np.asarray(dx), axis=-1), lengths, lags)}
    squares = 0.0
    for name, grad in zip(net.unit.state_names, dstates):
        grad = np.asarray(grad, dtype=np.float64)
        norm = np.linalg.norm(grad, axis=-1)
        squares = squares + norm**2
        out[f"state:{name}"] = lag_view(norm, lengths, lags)
        rows = np.arange(grad.shape[0])[:, None]
        out[f"raw:{name}"] = grad[rows, lengths[:, None] - 1 - np.arange(lags)[None, :]]
    out["state"] = lag_view(np.sqrt(squares), lengths, lags)
    return out


def per_step_factor(norms: np.ndarray, first: int = 1, floor: float = 1e-30) -> np.ndarray:
    """Per init, the geometric-mean factor by which the norm changes per step back in time:
    (g(K)/g(first))^(1/(K−first)), K the largest lag with g > ``floor`` (float32 underflow ends the measurable
    range). NaN where fewer than two lags are measurable. A factor < 1 vanishes, > 1 explodes."""
    rates = np.full(norms.shape[0], np.nan)
    for i, row in enumerate(norms):
        ok = np.nonzero(row[first:] > floor)[0]
        if ok.size < 2 or ok[0] != 0:
            continue
        last = first + int(ok[-1])
        rates[i] = math.exp((math.log(row[last]) - math.log(row[first])) / (last - first))
    return rates


def cec_factor(raw: np.ndarray, first: int = 1) -> dict[str, float]:
    """The measured factor ∂E/∂s(T−k−1) ÷ ∂E/∂s(T−k) of a CEC state, per cell, lags ``first`` … K−1 (lag 0 is the
    readout's: E sees the state only through the output, so the CEC's own path starts at lag 1). Returns the
    largest and the median deviation from 1 and how many (init, lag, cell) ratios were defined."""
    now, before = raw[:, first:-1, :], raw[:, first + 1 :, :]
    ok = np.abs(now) > 0
    deviation = np.abs(before[ok] / now[ok] - 1.0)
    if deviation.size == 0:
        return {"max_abs_deviation": float("nan"), "median_abs_deviation": float("nan"), "ratios": 0}
    return {"max_abs_deviation": float(np.max(deviation)), "median_abs_deviation": float(np.median(deviation)),
            "ratios": int(deviation.size)}


def quantile_curves(norms: np.ndarray, lags: np.ndarray) -> dict[str, list[float]]:
    """p10, median, p90 over inits at the given lags, 4 significant digits (the record stays small); NaN (null in
    the record) when no init could be measured (every one diverged in training)."""
    if norms.shape[0] == 0:
        return {key: [float("nan")] * len(lags) for key in ("p10", "median", "p90")}
    values = np.quantile(norms[:, lags], QUANTILES, axis=0)
    keys = ("p10", "median", "p90")
    return {key: [float(f"{v:.4g}") for v in row] for key, row in zip(keys, values)}


def record_lags(count: int, dense: int = 100, stride: int = 10) -> np.ndarray:
    """The lags kept in the record: every lag up to ``dense``, then every ``stride``-th, and the last."""
    lags = list(range(min(count, dense + 1)))
    lags += list(range(dense + stride, count, stride))
    if lags[-1] != count - 1:
        lags.append(count - 1)
    return np.asarray(lags)
