"""Chung et al. (2014, §4, speech) output distribution: a mixture of 20 Gaussians over the next 10 samples.

The paper says only "a mixture of Gaussians with 20 components" (facts B.2). Ours (docs/deviations.md, "Chung 2014
speech"): K components, each a D-dimensional Gaussian with diagonal covariance (D = 10 predicted samples), so
per time step the network outputs K mixture logits, K·D means and K·D log standard deviations::

    raw (..., K·(2D + 1)) = [ logits (K) | means (K, D) row-major | s (K, D) row-major ]
    log σ_kd = log σ_min + softplus(s_kd − log σ_min)          # smooth floor at σ_min, ≈ s_kd well above it
    log p(y) = logsumexp_k [ log_softmax(logits)_k + Σ_d log N(y_d; μ_kd, σ_kd) ]

The NLL of a time step is −log p(y) of its 10 samples jointly (nats, normalised sample units: see
``reproductions.chung2014.speech``). The data are continuous, so the NLL is a negative log *density* and can be
negative. :func:`mog_nll_per_step_ops` is the differentiable ``keras.ops`` version (training loss, any backend);
:func:`mog_nll_per_step` the float64 NumPy one (exact evaluation).
"""

from __future__ import annotations

import math

import keras
import numpy as np

MIN_STD = 1e-3  # σ floor in normalised units: below this a density on 16-bit samples is meaningless
_LOG_MIN_STD = math.log(MIN_STD)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def mog_output_size(output_samples: int = 10, components: int = 20) -> int:
    """Width of the raw output layer: K logits + K·D means + K·D log-std parameters."""
    return components * (2 * output_samples + 1)


def _components(width: int, output_samples: int) -> int:
    k, rest = divmod(width, 2 * output_samples + 1)
    if rest or k < 1:
        raise ValueError(f"a mixture over {output_samples} samples needs K·{2 * output_samples + 1} outputs, "
                         f"got {width}")
    return k


def mog_nll_per_step(y, raw) -> np.ndarray:
    """NumPy, float64: −log p(y) per step; y (..., D), raw (..., K·(2D + 1)) → (...)."""
    y = np.asarray(y, np.float64)
    raw = np.asarray(raw, np.float64)
    d = y.shape[-1]
    k = _components(raw.shape[-1], d)
    logits = raw[..., :k]
    means = raw[..., k : k + k * d].reshape(*raw.shape[:-1], k, d)
    s = raw[..., k + k * d :].reshape(*raw.shape[:-1], k, d)
    log_std = _LOG_MIN_STD + np.logaddexp(0.0, s - _LOG_MIN_STD)
    z = (y[..., None, :] - means) * np.exp(-log_std)
    log_gauss = (-_HALF_LOG_2PI - log_std - 0.5 * z * z).sum(axis=-1)
    log_weights = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    return -np.logaddexp.reduce(log_weights + log_gauss, axis=-1)


def mog_nll_totals(y, raw, weight=None) -> tuple[float, int]:
    """(summed NLL over the weighted steps, number of steps with weight ≠ 0), for exact split averages."""
    nll = mog_nll_per_step(y, raw)
    if weight is None:
        return float(nll.sum()), int(nll.size)
    w = np.broadcast_to(np.asarray(weight, np.float64), nll.shape)
    return float((nll * w).sum()), int(np.count_nonzero(w))


def mog_nll_per_step_ops(y, raw):
    """keras.ops version of :func:`mog_nll_per_step` (differentiable; log-sum-exp throughout)."""
    from keras import ops

    d = int(y.shape[-1])
    k = _components(int(raw.shape[-1]), d)
    y = ops.cast(y, raw.dtype)
    lead = ops.shape(raw)[:-1]
    flat = ops.reshape(raw, (-1, k * (2 * d + 1)))
    logits = flat[:, :k]
    means = ops.reshape(flat[:, k : k + k * d], (-1, k, d))
    s = ops.reshape(flat[:, k + k * d :], (-1, k, d))
    log_std = _LOG_MIN_STD + ops.softplus(s - _LOG_MIN_STD)
    z = (ops.reshape(y, (-1, 1, d)) - means) * ops.exp(-log_std)
    log_gauss = ops.sum(-_HALF_LOG_2PI - log_std - 0.5 * z * z, axis=-1)
    nll = -ops.logsumexp(ops.log_softmax(logits, axis=-1) + log_gauss, axis=-1)
    return ops.reshape(nll, lead)


class MixtureNLL(keras.losses.Loss):
    """Per-step mixture NLL, averaged over the weighted steps (weight = step mask)."""

    def __init__(self, name: str = "mog_nll", **kwargs):
        kwargs.setdefault("reduction", "mean_with_sample_weight")
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return mog_nll_per_step_ops(y_true, y_pred)


def mog_nll_loss(name: str = "mog_nll"):
    """A ``keras.losses.Loss``: per-step mixture NLL, averaged over the weighted steps (weight = step mask)."""
    return MixtureNLL(name=name)
